package etl

// loadProducts validates the product master and merges it into
// dim_product as type 1: new codes get new keys; known codes, including
// inferred members created by earlier sales, are completed in place.
func (l *loader) loadProducts() error {
	if err := l.exec("products", `CREATE OR REPLACE TEMP TABLE c_products AS `+productsCleanSQL); err != nil {
		return err
	}
	if err := l.applyRules(targets["products"], productRules()); err != nil {
		return err
	}
	if l.idle["products"] {
		return nil // no product master in this load: nothing to merge
	}
	if err := l.exec("products", `UPDATE dim_product SET product_name = coalesce(o.name_v, o.code), category = o.category_v,
			subcategory = o.subcategory_v, product_line = o.line_v, brand = o.brand_v, cost = o.cost_v, list_price = o.price_v,
			is_inferred = false, etl_run_id = ?
		FROM ok_products o WHERE dim_product.product_code = o.code
			-- Only products the master changes carry this run: the rollups
			-- are refreshed in the periods of this run's products' sales
			-- (olap.RefreshRollups), and an unchanged master re-sent whole
			-- would otherwise stamp every product and recompute every period.
			AND (dim_product.product_name, dim_product.category, dim_product.subcategory, dim_product.product_line,
				dim_product.brand, dim_product.cost, dim_product.list_price, dim_product.is_inferred)
				IS DISTINCT FROM (coalesce(o.name_v, o.code), o.category_v, o.subcategory_v, o.line_v, o.brand_v, o.cost_v, o.price_v, false)`, l.runID); err != nil {
		return err
	}
	return l.exec("products", `INSERT INTO dim_product (product_key, product_code, product_name, category, subcategory,
			product_line, brand, cost, list_price, is_inferred, etl_run_id)
		SELECT (SELECT greatest(coalesce(max(product_key), 0), 0) FROM dim_product) + row_number() OVER (ORDER BY o.code),
			o.code, coalesce(o.name_v, o.code), o.category_v, o.subcategory_v, o.line_v, o.brand_v, o.cost_v, o.price_v, false, ?
		FROM ok_products o WHERE o.code NOT IN (SELECT product_code FROM dim_product WHERE product_code IS NOT NULL)`, l.runID)
}

// productsCleanSQL cleans the staged product rows (c_products). Staging
// ahead reads it too, for the codes a load's products step will know
// (releaseStagedSales).
var productsCleanSQL = `WITH s AS (
		SELECT s.*, nullif(trim(ckm_text(product_code)), '') AS code,
			list_transform(string_split(ckm_text(category_path), '>'), x -> nullif(trim(x), '')) AS path,
			` + notLoadedBefore + `
		FROM stg_products s)
	SELECT *,
		` + firstOfKey("code", "code IS NOT NULL") + `,
		nullif(trim(ckm_text(product_name)), '') AS name_v,
		coalesce(nullif(trim(ckm_text(category)), ''), path[1]) AS category_v,
		coalesce(nullif(trim(ckm_text(subcategory)), ''), path[2]) AS subcategory_v,
		coalesce(nullif(trim(ckm_text(product_line)), ''), path[3]) AS line_v,
		nullif(trim(ckm_text(brand)), '') AS brand_v,
		ckm_amount(cost) AS cost_v,
		ckm_amount(list_price) AS price_v
	FROM s`

// productRules are the validation rules of a cleaned product row.
func productRules() []rule {
	return []rule{
		{"key_missing", "error", "validate", "product_code", "code IS NULL"},
		amountRule("cost", "cost_v"),
		amountRule("list_price", "price_v"),
		{"price_negative", "error", "validate", "list_price", "price_v < 0 OR cost_v < 0"},
	}
}

// loadCampaigns validates campaigns and merges them into dim_campaign (type 1).
func (l *loader) loadCampaigns() error {
	q := `CREATE OR REPLACE TEMP TABLE c_campaigns AS
	WITH s AS (SELECT s.*, nullif(trim(ckm_text(campaign_code)), '') AS code, ` + notLoadedBefore + ` FROM stg_campaigns s)
	SELECT *,
		` + firstOfKey("code", "code IS NOT NULL") + `,
		nullif(trim(ckm_text(campaign_name)), '') AS name_v,
		nullif(trim(ckm_text(channel)), '') AS channel_v,
		ckm_date(start_date) AS start_v,
		ckm_date(end_date) AS end_v,
		ckm_amount(cost) AS cost_v
	FROM s`
	if err := l.exec("campaigns", q); err != nil {
		return err
	}
	if err := l.applyRules(targets["campaigns"], []rule{
		{"key_missing", "error", "validate", "campaign_code", "code IS NULL"},
		{"date_invalid", "error", "clean", "start_date", nz("start_date") + " IS NOT NULL AND start_v IS NULL"},
		{"date_invalid", "error", "clean", "end_date", nz("end_date") + " IS NOT NULL AND end_v IS NULL"},
		amountRule("cost", "cost_v"),
	}); err != nil {
		return err
	}
	if l.idle["campaigns"] {
		return nil // no campaigns in this load: nothing to merge
	}
	if err := l.exec("campaigns", `UPDATE dim_campaign SET campaign_name = o.name_v, channel = o.channel_v,
			start_date = o.start_v, end_date = o.end_v, cost = o.cost_v, etl_run_id = ?
		FROM ok_campaigns o WHERE dim_campaign.campaign_code = o.code`, l.runID); err != nil {
		return err
	}
	return l.exec("campaigns", `INSERT INTO dim_campaign (campaign_key, campaign_code, campaign_name, channel, start_date, end_date, cost, etl_run_id)
		SELECT (SELECT greatest(coalesce(max(campaign_key), 0), 0) FROM dim_campaign) + row_number() OVER (ORDER BY o.code),
			o.code, o.name_v, o.channel_v, o.start_v, o.end_v, o.cost_v, ?
		FROM ok_campaigns o WHERE o.code NOT IN (SELECT campaign_code FROM dim_campaign WHERE campaign_code IS NOT NULL)`, l.runID)
}
