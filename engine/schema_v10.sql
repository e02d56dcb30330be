-- Customer merges and splits, and the steward decisions behind them.
--
-- A merge joins two unified customers into the survivor, the smaller (older)
-- id, so ids that reports and exports already hold stay valid: found by a
-- load (a new record links customers earlier loads kept apart) or decided by
-- a steward (ckm identity merge). A split moves some of a customer's
-- records and keys to a new customer (ckm identity split). Each is recorded
-- with everything it changed, so ckm identity undo restores the exact
-- earlier state.

-- One row per merge or split.
CREATE TABLE customer_merge (
    merge_id    BIGINT PRIMARY KEY,
    kind        VARCHAR NOT NULL CHECK (kind IN ('load_merge', 'steward_merge', 'steward_split')),
    run_id      BIGINT NOT NULL,        -- the etl_run (a load, or the steward's action) that made it
    survivor    BIGINT NOT NULL,        -- merge: the id kept; split: the customer split
    other       BIGINT NOT NULL,        -- merge: the id merged away; split: the new customer
    merged_at   TIMESTAMP NOT NULL,     -- the merged-away customer's versions close here
    decision_id BIGINT,                 -- identity_decision, for a steward's
    undone_run  BIGINT,                 -- the etl_run of ckm identity undo
    undone_at   TIMESTAMP
);

-- The merge history per source record: each fact row group of one source
-- record (file and line) a merge or split moved, with the customer and
-- dim_customer version it had before and has after.
CREATE TABLE etl_customer_merge (
    merge_id      BIGINT NOT NULL,
    fact_table    VARCHAR NOT NULL CHECK (fact_table IN ('fact_sales', 'fact_interaction', 'fact_campaign')),
    etl_file_id   BIGINT,
    source_line   BIGINT,
    from_customer BIGINT NOT NULL,
    from_key      INTEGER,
    to_customer   BIGINT NOT NULL,
    rows          BIGINT NOT NULL
);

-- The identifier rows (etl_identity) and explanations (identity_link) a
-- merge or split moved to another customer; key_row is the row's other
-- columns as JSON, whatever they are (raw keys or tokens).
CREATE TABLE etl_customer_merge_key (
    merge_id      BIGINT NOT NULL,
    table_name    VARCHAR NOT NULL CHECK (table_name IN ('etl_identity', 'identity_link')),
    key_row       VARCHAR NOT NULL,
    from_customer BIGINT NOT NULL,
    to_customer   BIGINT NOT NULL,
    rows          BIGINT NOT NULL
);

-- The dim_customer versions a merge closed (their validity before) or a
-- split inserted.
CREATE TABLE etl_customer_merge_version (
    merge_id     BIGINT NOT NULL,
    customer_key INTEGER NOT NULL,
    valid_to     TIMESTAMP,
    is_current   BOOLEAN,
    inserted     BOOLEAN NOT NULL
);

-- A steward's decisions, kept across loads: a merge joins two customers; a
-- split keeps the customer and the new one apart, so no later load links
-- them again.
CREATE TABLE identity_decision (
    decision_id BIGINT PRIMARY KEY,
    kind        VARCHAR NOT NULL CHECK (kind IN ('merge', 'split')),
    customer_a  BIGINT NOT NULL,        -- merge: the survivor; split: the customer split
    customer_b  BIGINT NOT NULL,        -- merge: the id merged away; split: the new customer
    keys        VARCHAR,                -- split: the keys named, masked
    reason      VARCHAR NOT NULL,
    principal   VARCHAR NOT NULL,       -- operating-system user
    role        VARCHAR NOT NULL,
    decided_at  TIMESTAMP NOT NULL,
    undone_at   TIMESTAMP
);

-- Which identifiers each loaded source record carried, as a hash of key
-- type and value (no personal data): what a split needs to know which
-- records go with the keys it moves.
CREATE TABLE etl_record_key (
    etl_file_id BIGINT NOT NULL,
    source_line BIGINT NOT NULL,
    key_hash    UBIGINT NOT NULL
);
