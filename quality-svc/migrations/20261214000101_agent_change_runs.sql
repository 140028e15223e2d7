-- Regression runs started by AI agent changes (setting `qualityCheckOnAgentChange`).

-- The tenant settings quality-svc acts on, kept from settings-svc's SettingChanged events;
-- a setting without a row has its default.
CREATE TABLE quality.setting_cache (
    name       text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    -- settings-svc's change version: a late event never wins.
    version    bigint      NOT NULL,
    changed_at timestamptz NOT NULL
);

-- Every AiAgentChanged event and what it led to. A run referenced here is an automatic run.
CREATE TABLE quality.agent_change (
    event_id      uuid        PRIMARY KEY,
    ai_agent_id   bigint      NOT NULL,
    agent_version bigint      NOT NULL,
    occurred_at   timestamptz NOT NULL,
    -- scheduled | coalesced | settingOff | noTestCases | agentGone
    outcome       text        NOT NULL,
    -- The run that tests this change (scheduled for it, or one it was coalesced into).
    test_run_id   bigint      REFERENCES quality.test_run (id) ON DELETE SET NULL,
    handled_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agent_change_outcome_check
        CHECK (outcome IN ('scheduled', 'coalesced', 'settingOff', 'noTestCases', 'agentGone'))
);
CREATE INDEX agent_change_agent_idx ON quality.agent_change (ai_agent_id, occurred_at);
CREATE INDEX agent_change_run_idx ON quality.agent_change (test_run_id);
