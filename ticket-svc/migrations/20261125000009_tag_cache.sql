-- What routing needs to know of tags (owned by settings-svc), kept from SettingChanged:
-- tags that are not routing-relevant, disabled or deleted are ignored by routing.
CREATE TABLE ticket.tag_cache (
    tag_id            bigint      PRIMARY KEY,
    routing_relevant  boolean     NOT NULL DEFAULT true,
    disabled          boolean     NOT NULL DEFAULT false,
    deleted           boolean     NOT NULL DEFAULT false,
    version           bigint      NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tag_cache_ignored_idx ON ticket.tag_cache (tag_id)
    WHERE NOT routing_relevant OR disabled OR deleted;
