// Package report owns ckm's HTML report: one self-contained page (inline
// CSS and SVG, no script, nothing fetched) of charts and short tables over
// the warehouse and its knowledge base — revenue by month with the stored
// forecast, revenue by region, the RFM grid, the Pareto curve of customer
// profit, the CLV distribution and customers at churn risk, segments and
// cross-sell rules, and data quality per load — with personal data masked
// as for an analyst.
//
// Charts are SVG written here rather than by a chart library: five simple
// kinds (line with a forecast band, bars, a heat grid, a cumulative curve,
// a histogram) whose every mark carries its exact figure (data-label,
// data-value), so tests and readers can check the picture against SQL, and
// the page needs no fonts, script or network to open.
package report
