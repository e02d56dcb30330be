-- The runs of ckm serve's jobs: scheduled and hand-started loads and
-- exports, one row per attempt (a failed attempt retried is a second row).
-- A load's data and counts are in etl_run (etl_run_id); this table says
-- which job ran, for which cron time, how often it was tried and why it
-- failed. ckm jobs lists it with each job's next run.
CREATE TABLE IF NOT EXISTS serve_job_run (
    job           VARCHAR   NOT NULL, -- the schedule entry's name, or the call (ckm_load(...))
    kind          VARCHAR   NOT NULL, -- load or export
    scheduled_for TIMESTAMP,          -- the cron time the run was for (UTC); NULL: started by hand
    catch_up      BOOLEAN   NOT NULL DEFAULT false, -- the one run made up for after downtime
    attempt       INTEGER   NOT NULL, -- 1, then 2 ... for retries
    started_at    TIMESTAMP NOT NULL, -- UTC
    finished_at   TIMESTAMP NOT NULL, -- UTC
    status        VARCHAR   NOT NULL CHECK (status IN ('ok', 'failed')),
    etl_run_id    BIGINT,             -- the load's run in etl_run, if it loaded anything
    detail        VARCHAR             -- what the job said, or its error
);

-- ckm serve's audit: who connected, ran, was refused or failed, and when.
-- Statements are kept with personal values masked (privacy.MaskText).
CREATE TABLE IF NOT EXISTS serve_audit (
    logged_at TIMESTAMP NOT NULL, -- UTC
    event     VARCHAR   NOT NULL CHECK (event IN ('session', 'session_end', 'auth_failed', 'statement', 'refused', 'failed')),
    pid       INTEGER,            -- the session's process id (cancel key)
    user_name VARCHAR,
    role      VARCHAR,
    remote    VARCHAR,            -- the client's address
    statement VARCHAR,            -- masked
    row_count BIGINT,             -- rows sent or changed
    ms        DOUBLE,             -- duration
    sqlstate  VARCHAR             -- of a refusal or failure
);
