-- Test cases are prepared for fast runs: once made, a case's message is embedded in the
-- background (agent-svc's PrepareReplay), so that a run's replays find its vectors cached.
ALTER TABLE quality.test_case ADD COLUMN prepared_at timestamptz;

-- One job per test case to prepare, worked like the replay jobs (claimed FOR UPDATE SKIP
-- LOCKED). A job that keeps failing is dropped: its case is run all the same.
CREATE TABLE quality.prepare_job (
    id           bigserial   PRIMARY KEY,
    test_case_id bigint      NOT NULL REFERENCES quality.test_case (id) ON DELETE CASCADE,
    attempts     integer     NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now(),
    last_error   text
);
CREATE INDEX prepare_job_available_idx ON quality.prepare_job (available_at, id);
CREATE INDEX prepare_job_case_idx ON quality.prepare_job (test_case_id);

-- The cases that exist already.
INSERT INTO quality.prepare_job (test_case_id) SELECT id FROM quality.test_case ORDER BY id;
