-- Setting values (definitions live in code), subchannels, user-defined functions, and the
-- outbox that carries SettingChanged to the services that cache settings.

CREATE TABLE settings.setting_value (
    name        text        PRIMARY KEY,
    value       jsonb       NOT NULL,
    modified_by bigint      NOT NULL,
    modified_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE settings.subchannel (
    id          bigserial   PRIMARY KEY,
    name        text        NOT NULL,
    channel     text        NOT NULL,
    status      text        NOT NULL DEFAULT 'active',
    config      jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz,
    CONSTRAINT subchannel_channel_check CHECK (channel IN ('email', 'chat', 'phone', 'letter', 'portal')),
    CONSTRAINT subchannel_status_check CHECK (status IN ('active', 'inactive')),
    CONSTRAINT subchannel_name_present CHECK (length(btrim(name)) > 0)
);

CREATE TABLE settings.udf (
    id          bigserial   PRIMARY KEY,
    name        text        NOT NULL,
    slug        text        NOT NULL,
    udf_type    text        NOT NULL,
    description text,
    parameters  jsonb       NOT NULL DEFAULT '[]',
    executor    jsonb,
    is_private  boolean     NOT NULL DEFAULT true,
    async       boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz,
    CONSTRAINT udf_slug_key UNIQUE (slug),
    CONSTRAINT udf_type_check CHECK (udf_type IN ('udf', 'tool')),
    CONSTRAINT udf_name_present CHECK (length(btrim(name)) > 0)
);

CREATE TABLE settings.outbox (
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
    published_at      timestamptz,
    attempts          integer     NOT NULL DEFAULT 0,
    available_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_event_id_key UNIQUE (event_id)
);
CREATE INDEX outbox_unpublished_idx ON settings.outbox (available_at, id) WHERE published_at IS NULL;

-- Versions of settings for SettingChanged's aggregateVersion (consumers drop stale events).
CREATE SEQUENCE settings.change_version;
