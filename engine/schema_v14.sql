-- Version 14: names protected at rest like ID numbers, mobiles and
-- e-mails. On a protected warehouse dim_customer.name holds the name's
-- token (tna_…), its raw value is sealed in vault_value under the
-- customer's key, and its mask is in vault_display; the analyst's view
-- shows that mask (a mask computed from a token would say nothing).
-- Unprotected warehouses (the benchmark's load in the clear) keep the
-- mask computed from the name.
CREATE OR REPLACE VIEW analyst.dim_customer AS
SELECT d.* EXCLUDE (birth_date) REPLACE (
        coalesce(i.display, ckm_mask_id_number(d.id_number)) AS id_number,
        coalesce(n.display, ckm_mask_name(d.name)) AS name,
        coalesce(m.display, ckm_mask_mobile(d.mobile)) AS mobile,
        coalesce(e.display, ckm_mask_email(d.email)) AS email),
    CAST(year(d.birth_date) AS INTEGER) AS birth_year
FROM main.dim_customer d
LEFT JOIN main.vault_display i ON i.token = d.id_number
LEFT JOIN main.vault_display n ON n.token = d.name
LEFT JOIN main.vault_display m ON m.token = d.mobile
LEFT JOIN main.vault_display e ON e.token = d.email;
