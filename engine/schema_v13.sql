-- Marketing permissions (PIPL): whether the customer consented to
-- marketing and whether they are on the do-not-contact list, from the CRM
-- (customers source fields marketing_consent and do_not_contact; type 1
-- attributes, corrected on every version). NULL is not known: targeting
-- reads it as no consent.
ALTER TABLE dim_customer ADD COLUMN marketing_consent BOOLEAN;
ALTER TABLE dim_customer ADD COLUMN do_not_contact BOOLEAN;

-- The analyst's masked view, re-created over the new columns.
CREATE OR REPLACE VIEW analyst.dim_customer AS
SELECT * EXCLUDE (birth_date) REPLACE (
        ckm_mask_id_number(id_number) AS id_number,
        ckm_mask_name(name) AS name,
        ckm_mask_mobile(mobile) AS mobile,
        ckm_mask_email(email) AS email),
    CAST(year(birth_date) AS INTEGER) AS birth_year
FROM main.dim_customer;

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
