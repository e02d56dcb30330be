-- Special members of every dimension and the generated calendar.
INSERT INTO dim_date (date_key, weekday_name, month_name, year_quarter, year_month, year_week) VALUES
    (-1, 'Unknown', 'Unknown', 'Unknown', 'Unknown', 'Unknown'),
    (-2, 'N/A', 'N/A', 'N/A', 'N/A', 'N/A'),
    (-3, 'Invalid', 'Invalid', 'Invalid', 'Invalid', 'Invalid'),
    (-4, 'Inferred', 'Inferred', 'Inferred', 'Inferred', 'Inferred');

INSERT INTO dim_date
SELECT CAST(strftime(d, '%Y%m%d') AS INTEGER),
       CAST(d AS DATE),
       year(d), quarter(d), month(d), day(d),
       isoyear(d), week(d), isodow(d),
       strftime(d, '%A'), strftime(d, '%B'),
       strftime(d, '%Y') || '-Q' || quarter(d),
       strftime(d, '%Y-%m'),
       CAST(isoyear(d) AS VARCHAR) || '-W' || lpad(CAST(week(d) AS VARCHAR), 2, '0'),
       isodow(d) >= 6
FROM range(DATE '1990-01-01', DATE '2041-01-01', INTERVAL 1 DAY) AS t(d);

INSERT INTO dim_region (region_key, region_code, level, province, city, county) VALUES
    (-1, NULL, 'unknown', 'Unknown', 'Unknown', 'Unknown'),
    (-2, NULL, 'n/a', 'N/A', 'N/A', 'N/A'),
    (-3, NULL, 'invalid', 'Invalid', 'Invalid', 'Invalid'),
    (-4, NULL, 'inferred', 'Inferred', 'Inferred', 'Inferred');

INSERT INTO dim_channel VALUES
    (-1, 'unknown', 'Unknown'), (-2, 'n/a', 'N/A'), (-3, 'invalid', 'Invalid'), (-4, 'inferred', 'Inferred'),
    (1, 'pos', 'Store till (POS)'), (2, 'web', 'Web shop'), (3, 'callcenter', 'Call centre'),
    (4, 'crm', 'CRM master data'), (5, 'campaign', 'Marketing campaign');

INSERT INTO dim_store (store_key, store_code, store_name, city, region_key) VALUES
    (-1, NULL, 'Unknown', 'Unknown', -1), (-2, NULL, 'N/A', 'N/A', -2),
    (-3, NULL, 'Invalid', 'Invalid', -3), (-4, NULL, 'Inferred', 'Inferred', -4);

INSERT INTO dim_salesperson (salesperson_key, salesperson_code, name, role, store_key) VALUES
    (-1, NULL, 'Unknown', NULL, -1), (-2, NULL, 'N/A', NULL, -2),
    (-3, NULL, 'Invalid', NULL, -3), (-4, NULL, 'Inferred', NULL, -4);

INSERT INTO dim_product (product_key, product_code, product_name, category, subcategory, brand, is_inferred) VALUES
    (-1, NULL, 'Unknown', 'Unknown', 'Unknown', 'Unknown', false),
    (-2, NULL, 'N/A', 'N/A', 'N/A', 'N/A', false),
    (-3, NULL, 'Invalid', 'Invalid', 'Invalid', 'Invalid', false),
    (-4, NULL, 'Inferred', 'Inferred', 'Inferred', 'Inferred', true);

INSERT INTO dim_campaign (campaign_key, campaign_code, campaign_name) VALUES
    (-1, NULL, 'Unknown'), (-2, NULL, 'N/A'), (-3, NULL, 'Invalid'), (-4, NULL, 'Inferred');

INSERT INTO dim_customer (customer_key, customer_id, name, customer_type, member_level, valid_from, valid_to, is_current) VALUES
    (-1, -1, 'Unknown', 'unknown', 'Unknown', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true),
    (-2, -2, 'N/A', 'n/a', 'N/A', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true),
    (-3, -3, 'Invalid', 'invalid', 'Invalid', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true),
    (-4, -4, 'Inferred', 'inferred', 'Inferred', TIMESTAMP '1900-01-01', TIMESTAMP '9999-12-31', true);
