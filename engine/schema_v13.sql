-- Marketing permissions (PIPL): whether the customer consented to
-- marketing and whether they are on the do-not-contact list, from the CRM
-- (customers source fields marketing_consent and do_not_contact; type 1
-- attributes, corrected on every version). NULL is not known: targeting
-- reads it as no consent.
ALTER TABLE dim_customer ADD COLUMN marketing_consent BOOLEAN;
ALTER TABLE dim_customer ADD COLUMN do_not_contact BOOLEAN;

-- The analyst's masked view, re-created over the new columns.
CREATE OR REPLACE VIEW analyst.dim_customer AS
SELECT d.* EXCLUDE (birth_date) REPLACE (
        coalesce(i.display, ckm_mask_id_number(d.id_number)) AS id_number,
        ckm_mask_name(d.name) AS name,
        coalesce(m.display, ckm_mask_mobile(d.mobile)) AS mobile,
        coalesce(e.display, ckm_mask_email(d.email)) AS email),
    CAST(year(d.birth_date) AS INTEGER) AS birth_year
FROM main.dim_customer d
LEFT JOIN main.vault_display i ON i.token = d.id_number
LEFT JOIN main.vault_display m ON m.token = d.mobile
LEFT JOIN main.vault_display e ON e.token = d.email;

-- kb_target: a campaign's target list (ckm mine target), keyed by the
-- customer id only (no contact details): the customers with marketing
-- consent, not on the do-not-contact list, ranked by expected profit =
-- probability of response × expected revenue − contact cost.
CREATE TABLE kb_target (
    model_id         BIGINT,
    campaign_code    VARCHAR,
    rank             INTEGER,
    customer_id      BIGINT,
    probability      DOUBLE,
    expected_revenue DOUBLE,
    contact_cost     DOUBLE,
    expected_profit  DOUBLE
);
