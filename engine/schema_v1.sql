-- ckm canonical CRM star schema, version 1.
-- Surrogate keys are integers; special members: -1 unknown, -2 not applicable,
-- -3 invalid, -4 inferred (late-arriving).

CREATE TABLE dim_date (
    date_key     INTEGER PRIMARY KEY,      -- yyyymmdd; special members negative
    date         DATE,
    year         SMALLINT,
    quarter      TINYINT,
    month        TINYINT,
    day          TINYINT,
    iso_year     SMALLINT,
    week         TINYINT,                  -- ISO week 1..53
    weekday      TINYINT,                  -- ISO 1 = Monday .. 7 = Sunday
    weekday_name VARCHAR,
    month_name   VARCHAR,
    year_quarter VARCHAR,                  -- 2024-Q1
    year_month   VARCHAR,                  -- 2024-03
    year_week    VARCHAR,                  -- 2024-W09 (ISO)
    is_weekend   BOOLEAN
);

CREATE TABLE dim_region (
    region_key    INTEGER PRIMARY KEY,
    region_code   VARCHAR,                 -- GB/T 2260 six-digit code
    level         VARCHAR,                 -- province | city | county
    province_code VARCHAR,
    province      VARCHAR,
    city_code     VARCHAR,
    city          VARCHAR,
    county_code   VARCHAR,
    county        VARCHAR
);

CREATE TABLE dim_channel (
    channel_key  INTEGER PRIMARY KEY,
    channel_code VARCHAR,                  -- pos | web | callcenter | crm | campaign
    channel_name VARCHAR
);

CREATE TABLE dim_store (
    store_key  INTEGER PRIMARY KEY,
    store_code VARCHAR,
    store_name VARCHAR,
    city       VARCHAR,
    region_key INTEGER,
    etl_run_id BIGINT
);

CREATE TABLE dim_salesperson (
    salesperson_key  INTEGER PRIMARY KEY,
    salesperson_code VARCHAR,
    name             VARCHAR,
    role             VARCHAR,              -- sales | agent
    store_key        INTEGER,
    etl_run_id       BIGINT
);

CREATE TABLE dim_product (
    product_key  INTEGER PRIMARY KEY,
    product_code VARCHAR,
    product_name VARCHAR,
    category     VARCHAR,
    subcategory  VARCHAR,
    product_line VARCHAR,                  -- third level of the category path, e.g. 电饭锅
    brand        VARCHAR,
    cost         DECIMAL(18,2),
    list_price   DECIMAL(18,2),
    is_inferred  BOOLEAN DEFAULT false,    -- created by a fact before the product arrived
    etl_run_id   BIGINT
);

CREATE TABLE dim_campaign (
    campaign_key  INTEGER PRIMARY KEY,
    campaign_code VARCHAR,
    campaign_name VARCHAR,
    channel       VARCHAR,
    start_date    DATE,
    end_date      DATE,
    cost          DECIMAL(18,2),
    etl_run_id    BIGINT
);

CREATE TABLE dim_customer (
    customer_key    INTEGER PRIMARY KEY,   -- one per version (SCD2)
    customer_id     BIGINT,                -- unified customer id, stable across runs and versions
    id_number       VARCHAR,               -- normalised 18-digit resident ID (masked on output)
    name            VARCHAR,
    sex             VARCHAR,               -- M | F
    birth_date      DATE,
    mobile          VARCHAR,               -- E.164, +86...
    email           VARCHAR,
    region_code     VARCHAR,
    region_key      INTEGER,
    customer_type   VARCHAR,               -- current | potential | churned | distributor
    member_level    VARCHAR,
    registered_date DATE,
    source_systems  VARCHAR,               -- comma-separated channel codes the customer was seen in
    valid_from      TIMESTAMP,
    valid_to        TIMESTAMP,             -- 9999-12-31 for the current version
    is_current      BOOLEAN,
    etl_run_id      BIGINT
);

CREATE TABLE fact_sales (
    order_id        VARCHAR,
    line_no         INTEGER,
    date_key        INTEGER,
    order_ts        TIMESTAMP,
    customer_key    INTEGER,               -- dim_customer version current at the sale
    customer_id     BIGINT,                -- durable unified customer id
    product_key     INTEGER,
    channel_key     INTEGER,
    store_key       INTEGER,
    salesperson_key INTEGER,
    region_key      INTEGER,
    quantity        INTEGER,               -- negative for returns
    unit_price      DECIMAL(18,2),
    amount          DECIMAL(18,2),         -- quantity * unit_price - discount; negative for returns
    cost_amount     DECIMAL(18,2),
    is_return       BOOLEAN,
    etl_run_id      BIGINT,
    etl_file_id     BIGINT,
    source_line     BIGINT
);

CREATE TABLE fact_interaction (
    interaction_id   VARCHAR,
    date_key         INTEGER,
    contact_ts       TIMESTAMP,
    customer_key     INTEGER,
    customer_id      BIGINT,
    channel_key      INTEGER,
    salesperson_key  INTEGER,              -- the agent
    category         VARCHAR,
    satisfaction     TINYINT,              -- 1..5, NULL when not asked
    duration_seconds INTEGER,
    etl_run_id       BIGINT,
    etl_file_id      BIGINT,
    source_line      BIGINT
);

CREATE TABLE fact_campaign (
    response_id       VARCHAR,             -- natural key: campaign code | customer identifier
    campaign_key      INTEGER,
    date_key          INTEGER,             -- when targeted
    customer_key      INTEGER,
    customer_id       BIGINT,
    channel_key       INTEGER,
    targeted          BOOLEAN,
    responded         BOOLEAN,
    response_date_key INTEGER,
    revenue           DECIMAL(18,2),       -- revenue attributed to the response
    etl_run_id        BIGINT,
    etl_file_id       BIGINT,
    source_line       BIGINT
);

-- ETL ledger --------------------------------------------------------------

CREATE TABLE etl_run (
    run_id         BIGINT PRIMARY KEY,
    started_at     TIMESTAMP,
    finished_at    TIMESTAMP,
    status         VARCHAR,                -- committed (a failed load leaves no row: it rolls back)
    paths          VARCHAR,
    files_seen     INTEGER,
    files_loaded   INTEGER,
    files_skipped  INTEGER,                -- already in the manifest
    rows_read      BIGINT,
    rows_staged    BIGINT,
    rows_cleaned   BIGINT,
    rows_loaded    BIGINT,
    rows_rejected  BIGINT,
    rows_duplicate BIGINT,
    rows_warned    BIGINT,
    ckm_version    VARCHAR,
    message        VARCHAR
);

CREATE TABLE etl_file (
    file_id        BIGINT PRIMARY KEY,
    run_id         BIGINT,
    source         VARCHAR,                -- mapping name, e.g. pos_sales
    path           VARCHAR,
    size           BIGINT,
    sha256         VARCHAR UNIQUE,
    format         VARCHAR,
    encoding       VARCHAR,
    rows_read      BIGINT,
    rows_loaded    BIGINT,
    rows_rejected  BIGINT,
    rows_duplicate BIGINT,
    loaded_at      TIMESTAMP
);

CREATE TABLE etl_reject (
    run_id      BIGINT,
    file_id     BIGINT,
    path        VARCHAR,
    line        BIGINT,
    stage       VARCHAR,                   -- extract | clean | validate | conform | load
    rule        VARCHAR,
    severity    VARCHAR,                   -- error (row rejected) | warn (row kept, flagged)
    column_name VARCHAR,
    raw_value   VARCHAR,
    raw_record  VARCHAR,
    message     VARCHAR
);

CREATE TABLE etl_watermark (
    source     VARCHAR PRIMARY KEY,
    watermark  VARCHAR,
    run_id     BIGINT,
    updated_at TIMESTAMP
);

-- Identity resolution: every normalised identifier ever seen, mapped to the
-- unified customer id it resolved to. Keeps ids stable across runs.
CREATE TABLE etl_identity (
    key_type    VARCHAR,                   -- id_number | mobile | email | member_card
    key_value   VARCHAR,
    customer_id BIGINT,
    first_run   BIGINT,
    PRIMARY KEY (key_type, key_value)
);

-- Knowledge base ----------------------------------------------------------

CREATE TABLE kb_model (
    model_id     BIGINT PRIMARY KEY,
    kind         VARCHAR,                  -- rfm | clv | kmeans | rules | tree | bayes | roughset | anomaly | forecast | ...
    name         VARCHAR,
    params       JSON,
    metrics      JSON,
    status       VARCHAR,                  -- e.g. converged | not_converged
    data_version BIGINT,                   -- last etl_run.run_id the model saw
    etl_runs     VARCHAR,                  -- run ids whose data the model saw
    created_at   TIMESTAMP
);

CREATE TABLE kb_customer_score (
    model_id    BIGINT,
    customer_id BIGINT,
    metric      VARCHAR,                   -- recency | frequency | monetary | rfm_score | clv | p_alive | churn_risk | segment ...
    value       DOUBLE,
    label       VARCHAR,
    as_of       DATE
);

CREATE TABLE kb_rule (
    model_id    BIGINT,
    rule_id     INTEGER,
    kind        VARCHAR,                   -- association | decision | roughset
    antecedent  VARCHAR[],
    consequent  VARCHAR,
    support     DOUBLE,
    confidence  DOUBLE,
    lift        DOUBLE,
    count       BIGINT,
    detail      JSON
);

CREATE TABLE kb_segment (
    model_id    BIGINT,
    segment_id  INTEGER,
    label       VARCHAR,
    size        BIGINT,
    centroid    DOUBLE[],
    description VARCHAR
);

CREATE TABLE kb_forecast (
    model_id BIGINT,
    series   VARCHAR,
    period   DATE,
    value    DOUBLE,
    lower    DOUBLE,
    upper    DOUBLE
);
