-- Tenant settings ticket-svc acts on (routing), kept current from SettingChanged events.
CREATE TABLE ticket.setting_cache (
    name       text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
