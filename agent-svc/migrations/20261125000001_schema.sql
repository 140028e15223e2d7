-- Schema "agent" holds AI agents, intents and their history; its tables arrive with them.
COMMENT ON SCHEMA agent IS 'Enneo Mind: AI agents and intents (owned by agent-svc)';
