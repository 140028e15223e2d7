-- Users (profiles) and their API keys. Roles are the built-in ones for now:
-- 1 Administrator, 2 Agent (contract §6.3).
CREATE TABLE settings.profile (
    id                  bigserial   PRIMARY KEY,
    email               text        NOT NULL,
    first_name          text,
    last_name           text,
    name_alias          text,
    external_id         text,
    phone               text,
    lang                text        NOT NULL DEFAULT 'de',
    is_sso_only         boolean     NOT NULL DEFAULT false,
    -- argon2id PHC string; null for SSO-only users.
    password_hash       text,
    role_id             integer     NOT NULL DEFAULT 2,
    -- Null: no skill restriction; empty: untagged tickets only.
    skills              bigint[],
    excluded_tag_ids    bigint[]    NOT NULL DEFAULT '{}',
    required_tag_ids    bigint[]    NOT NULL DEFAULT '{}',
    call_routing_status text        NOT NULL DEFAULT 'offline',
    chat_routing_status text        NOT NULL DEFAULT 'offline',
    failed_logins       integer     NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    last_seen           timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    modified_at         timestamptz,
    deleted_at          timestamptz,
    CONSTRAINT profile_role_check CHECK (role_id IN (1, 2)),
    CONSTRAINT profile_email_present CHECK (position('@' IN email) > 1),
    CONSTRAINT profile_routing_status_check CHECK (
        call_routing_status IN ('idle', 'beingConnected', 'interacting', 'acw', 'notResponding', 'unavailable', 'offline')
        AND chat_routing_status IN ('idle', 'beingConnected', 'interacting', 'acw', 'notResponding', 'unavailable', 'offline'))
);
CREATE UNIQUE INDEX profile_email_key ON settings.profile (lower(email)) WHERE deleted_at IS NULL;

CREATE TABLE settings.api_key (
    id          uuid        PRIMARY KEY,
    profile_id  bigint      NOT NULL REFERENCES settings.profile (id),
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  bigint      NOT NULL,
    revoked_at  timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_key_profile_idx ON settings.api_key (profile_id);
