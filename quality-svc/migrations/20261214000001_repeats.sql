-- config.repeats: a run may replay each test case several times (pass^k, flaky cases); each
-- repeat is a test ticket of its own, tested once.
ALTER TABLE quality.test_ticket ADD COLUMN repeat smallint NOT NULL DEFAULT 0;
ALTER TABLE quality.test_ticket DROP CONSTRAINT test_ticket_run_case_key;
ALTER TABLE quality.test_ticket
    ADD CONSTRAINT test_ticket_run_case_key UNIQUE (test_run_id, test_case_id, repeat);
