// Package mining owns ckm's customer value operators: RFM scores and
// segments, lifetime value from the BG/NBD and Gamma-Gamma models, per
// customer profitability, lifecycle types, deviation detection and churn
// warning. Each operator reads purchases with set-oriented DuckDB SQL, runs
// its algorithm in Go only where SQL cannot say it (maximum likelihood fits,
// hypergeometric functions), and writes its results to the knowledge base
// (kb_model and kb_customer_score) in one transaction with lineage: the
// parameters, the warehouse data version and the ETL runs whose rows it saw.
//
// The operators are reachable from Go (RFM, CLV, Profit, Lifecycle,
// Anomaly, Churn), from the CLI (`ckm mine …`) and from SQL once Register
// has run on a connection of the warehouse: the table macros ckm_rfm,
// ckm_profit, ckm_anomaly, ckm_churn and ckm_clv_scores (read-only views of
// the operators, without a knowledge-base write) and the model functions
// ckm_bgnbd_p_alive, ckm_bgnbd_expected, ckm_gg_spend and ckm_clv. Fitting
// a model and the lifecycle write run from Go and the CLI only.
package mining
