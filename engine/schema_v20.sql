-- Version 20: the change record the lake's incremental export trusts
-- (issue 15). ckm's writers that change fact rows other than by appending
-- them (restatements, customer merges and splits, erasures, protecting a
-- warehouse, an admin's SQL) add a row here in the same transaction as the
-- change: the table and the month (yyyymm of date_key; 0 for unknown
-- dates) it touched, or NULL for "any row". The export re-reads those
-- months; appends it sees itself (see the README's lake section). The
-- first row names this warehouse: a lake exported from another warehouse
-- trusts nothing it recorded.
CREATE SEQUENCE ckm_change_seq;
CREATE TABLE ckm_change (
    seq        BIGINT PRIMARY KEY DEFAULT nextval('ckm_change_seq'),
    table_name VARCHAR NOT NULL,   -- '*': every table
    month      INTEGER,            -- NULL: any month
    writer     VARCHAR NOT NULL,
    changed_at TIMESTAMP DEFAULT current_timestamp
);
INSERT INTO ckm_change (table_name, month, writer) VALUES ('*', NULL, 'warehouse ' || CAST(uuid() AS VARCHAR));
