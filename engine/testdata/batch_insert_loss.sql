-- DuckDB 1.5.6 (duckdb-go v2.10506.0): an INSERT … SELECT of a row group or
-- more loses all its rows when, in the same transaction, an earlier INSERT
-- into the same table appended nothing. With the default
-- preserve_insertion_order = true the last SELECT gives 0; with false, 130000.
-- Found by ckm: its load's reject ledger ended empty once the rules of one
-- target produced 122,880 or more entries, and every bad row loaded.
BEGIN;
CREATE TABLE t (a BIGINT);
CREATE TEMP TABLE src AS SELECT range AS a FROM range(200000);
INSERT INTO t SELECT a FROM src WHERE a < 0;
INSERT INTO t SELECT a FROM src WHERE a < 130000;
SELECT count(*) FROM t;
COMMIT;
