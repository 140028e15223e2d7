-- Schema "settings" holds settings, subchannels, tags and identity; its tables arrive with them.
COMMENT ON SCHEMA settings IS 'Enneo Mind: tenant settings and identity (owned by settings-svc)';
