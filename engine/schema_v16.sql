-- customer_merge.kind gains 'load_split': a load that re-resolves earlier
-- records (etl/identity_reresolve.go) moves some records of a customer to
-- another, as a split does, recorded and undoable like one. DuckDB cannot
-- alter a CHECK constraint: the table is rebuilt with its rows.
ALTER TABLE customer_merge RENAME TO customer_merge_before_v16;
CREATE TABLE customer_merge (
    merge_id    BIGINT PRIMARY KEY,
    kind        VARCHAR NOT NULL CHECK (kind IN ('load_merge', 'steward_merge', 'steward_split', 'load_split')),
    run_id      BIGINT NOT NULL,        -- the etl_run (a load, or the steward's action) that made it
    survivor    BIGINT NOT NULL,        -- merge: the id kept; split: the customer split
    other       BIGINT NOT NULL,        -- merge: the id merged away; split: the new customer (load_split: the customer the records go to)
    merged_at   TIMESTAMP NOT NULL,     -- the merged-away customer's versions close here
    decision_id BIGINT,                 -- identity_decision, for a steward's
    undone_run  BIGINT,                 -- the etl_run of ckm identity undo
    undone_at   TIMESTAMP
);
INSERT INTO customer_merge SELECT * FROM customer_merge_before_v16;
DROP TABLE customer_merge_before_v16;
