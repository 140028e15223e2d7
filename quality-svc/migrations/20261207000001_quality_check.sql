-- The AI quality check: test cases (ticket snapshots with an expectation), test runs, one test
-- ticket per case and run, the durable work that replays them, and the outbox of the events
-- a tested ticket raises.

CREATE TABLE quality.test_case (
    id                  bigserial   PRIMARY KEY,
    ticket_id           bigint      NOT NULL,
    ai_agent_id         bigint      NOT NULL,
    -- The agent's slug and name when the case was made: result maps are keyed by slug.
    ai_agent_code       text        NOT NULL,
    ai_agent_name       text        NOT NULL,
    channel             text        NOT NULL,
    summary             text,
    description         text,
    -- The ticket as it was when the case was made (contract Ticket JSON), replayed by runs.
    snapshot            jsonb       NOT NULL,
    -- The ticket's version in that snapshot; a later event of the ticket makes the case stale.
    snapshot_version    bigint      NOT NULL,
    expected_result     jsonb,
    -- The current row of test_case_expectation; 0 while there is no expectation.
    expectation_version integer     NOT NULL DEFAULT 0,
    stale               boolean     NOT NULL DEFAULT false,
    stale_since         timestamptz,
    created_by          bigint      NOT NULL,
    modified_by         bigint      NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    modified_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT test_case_ticket_agent_key UNIQUE (ticket_id, ai_agent_id)
);
CREATE INDEX test_case_agent_idx ON quality.test_case (ai_agent_id, id);

-- Every expectation a test case has had: who set it, when and how; never rewritten.
CREATE TABLE quality.test_case_expectation (
    test_case_id    bigint      NOT NULL REFERENCES quality.test_case (id) ON DELETE CASCADE,
    version         integer     NOT NULL,
    expected_result jsonb,
    -- create | update | accept | acceptAll | updateExpectedResult
    reason          text        NOT NULL,
    -- The run whose observation was accepted, if any.
    test_run_id     bigint,
    set_by          bigint      NOT NULL,
    set_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT test_case_expectation_pkey PRIMARY KEY (test_case_id, version)
);

CREATE TABLE quality.test_run (
    id                  bigserial   PRIMARY KEY,
    -- None: every agent's test cases.
    ai_agent_id         bigint,
    ai_agent_code       text,
    ai_agent_name       text,
    state               text        NOT NULL DEFAULT 'scheduled',
    description         text,
    config              jsonb       NOT NULL DEFAULT '{}',
    channel             text,
    rerun_of            bigint,
    created_by          bigint      NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    end_date            timestamptz,
    -- Kept equal to what the run's test tickets say, in the transaction that changes them.
    tickets_scheduled   integer     NOT NULL,
    tickets_tested      integer     NOT NULL DEFAULT 0,
    successful_tests    integer     NOT NULL DEFAULT 0,
    failed_replays      integer     NOT NULL DEFAULT 0,
    CONSTRAINT test_run_state_check
        CHECK (state IN ('scheduled', 'processing', 'completed', 'failed', 'cancelled')),
    CONSTRAINT test_run_counters_check
        CHECK (tickets_tested <= tickets_scheduled AND successful_tests <= tickets_tested)
);
CREATE INDEX test_run_agent_idx ON quality.test_run (ai_agent_id, id);

CREATE TABLE quality.test_ticket (
    id              bigserial   PRIMARY KEY,
    test_run_id     bigint      NOT NULL REFERENCES quality.test_run (id) ON DELETE CASCADE,
    -- Null once the test case is deleted; the observation stays with its run.
    test_case_id    bigint      REFERENCES quality.test_case (id) ON DELETE SET NULL,
    ticket_id       bigint      NOT NULL,
    ai_agent_id     bigint      NOT NULL,
    ai_agent_code   text        NOT NULL,
    state           text        NOT NULL DEFAULT 'scheduled',
    -- The case's snapshot and expectation as the run took them.
    snapshot        jsonb       NOT NULL,
    expected_result jsonb,
    actual_result   jsonb,
    raw_result      jsonb,
    scores          jsonb,
    passed          boolean,
    error           text,
    tested_at       timestamptz,
    CONSTRAINT test_ticket_state_check
        CHECK (state IN ('scheduled', 'completed', 'failed', 'cancelled')),
    -- Each case is tested once per run, however often its job is retried.
    CONSTRAINT test_ticket_run_case_key UNIQUE (test_run_id, test_case_id)
);
CREATE INDEX test_ticket_run_idx ON quality.test_ticket (test_run_id, ticket_id);

-- Replays still to do: one row per scheduled test ticket, deleted in the transaction that
-- stores its result (see enneo_common::jobs).
CREATE TABLE quality.test_job (
    id             bigserial   PRIMARY KEY,
    test_ticket_id bigint      NOT NULL REFERENCES quality.test_ticket (id) ON DELETE CASCADE,
    attempts       integer     NOT NULL DEFAULT 0,
    available_at   timestamptz NOT NULL DEFAULT now(),
    last_error     text,
    CONSTRAINT test_job_test_ticket_key UNIQUE (test_ticket_id)
);
CREATE INDEX test_job_available_idx ON quality.test_job (available_at, id);
ALTER TABLE quality.test_job SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_cost_delay = 0
);

-- Events waiting for publication (TestTicketAiQuality); see enneo_common::outbox.
CREATE TABLE quality.outbox (
    id                bigserial   PRIMARY KEY,
    event_id          uuid        NOT NULL,
    event_type        text        NOT NULL,
    routing_key       text        NOT NULL,
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    actor             text        NOT NULL,
    payload           jsonb       NOT NULL,
    traceparent       text,
    occurred_at       timestamptz NOT NULL,
    attempts          integer     NOT NULL DEFAULT 0,
    available_at      timestamptz NOT NULL DEFAULT now(),
    last_error        text,
    CONSTRAINT outbox_event_id_key UNIQUE (event_id)
);
ALTER TABLE quality.outbox SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_cost_delay = 0
);
CREATE TABLE quality.outbox_published (
    id                bigint      PRIMARY KEY,
    event_id          uuid        NOT NULL,
    event_type        text        NOT NULL,
    routing_key       text        NOT NULL,
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    actor             text        NOT NULL,
    payload           jsonb       NOT NULL,
    traceparent       text,
    occurred_at       timestamptz NOT NULL,
    published_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_published_at_idx ON quality.outbox_published (published_at);
