-- What started a test run: a person (`manual`), an AI agent change with the setting
-- `qualityCheckOnAgentChange` on (`agentChange`), or a person re-running a run (`rerun`).
ALTER TABLE quality.test_run ADD COLUMN trigger text NOT NULL DEFAULT 'manual';
ALTER TABLE quality.test_run ADD CONSTRAINT test_run_trigger_check
    CHECK (trigger IN ('manual', 'agentChange', 'rerun'));

-- Runs from before: a re-run names the run it re-ran; an automatic run is referenced by the
-- agent change it tests, or (written by the system user) carries the automatic description.
UPDATE quality.test_run SET trigger = 'rerun' WHERE rerun_of IS NOT NULL;
UPDATE quality.test_run r SET trigger = 'agentChange'
WHERE r.rerun_of IS NULL
  AND (EXISTS (SELECT 1 FROM quality.agent_change c WHERE c.test_run_id = r.id)
       OR (r.created_by = 0 AND r.description LIKE 'Automatic run: AI agent changed (version %)'));
