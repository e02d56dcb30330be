-- Version 6: exports ckm did not generate (a mapping language with joins,
-- constants and expressions; more canonical fields).

-- One file may feed several sources: the manifest keys a file's content by
-- source, not alone. (DuckDB cannot drop a UNIQUE constraint: the table is
-- copied with all its columns, then keyed again.)
CREATE TABLE etl_file_v6 AS SELECT * FROM etl_file;
DROP TABLE etl_file;
ALTER TABLE etl_file_v6 RENAME TO etl_file;
ALTER TABLE etl_file ADD PRIMARY KEY (file_id);
CREATE UNIQUE INDEX etl_file_content ON etl_file (sha256, source);
