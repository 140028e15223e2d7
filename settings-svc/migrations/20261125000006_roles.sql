-- Roles: the two base roles (1 Administrator, 2 Agent) and custom roles built on one of them
-- by granting or revoking permissions (contract §6.3).
CREATE TABLE settings.role (
    id           serial      PRIMARY KEY,
    name         text        NOT NULL,
    base_role_id integer     NOT NULL,
    grants       text[]      NOT NULL DEFAULT '{}',
    revokes      text[]      NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    modified_at  timestamptz,
    CONSTRAINT role_base_check CHECK (base_role_id IN (1, 2)),
    CONSTRAINT role_name_present CHECK (length(btrim(name)) > 0)
);
CREATE UNIQUE INDEX role_name_key ON settings.role (lower(name));
INSERT INTO settings.role (id, name, base_role_id) VALUES (1, 'Administrator', 1), (2, 'Agent', 2);
-- Custom roles start above the base ones.
SELECT setval('settings.role_id_seq', 100, false);

ALTER TABLE settings.profile DROP CONSTRAINT profile_role_check;
ALTER TABLE settings.profile ADD CONSTRAINT profile_role_fkey FOREIGN KEY (role_id) REFERENCES settings.role (id);
