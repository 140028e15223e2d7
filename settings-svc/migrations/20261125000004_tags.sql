-- Tags: skills, products, brands, customer/contract properties. A tree through parent; the
-- full name and the effective visibility follow the tree and are worked out when read.
CREATE TABLE settings.tag (
    id                bigserial   PRIMARY KEY,
    name              text        NOT NULL,
    full_name         text,
    parent            bigint      REFERENCES settings.tag (id),
    reference         text        NOT NULL DEFAULT 'ticket',
    type              text        NOT NULL,
    visibility        text        NOT NULL DEFAULT 'public',
    color             text        NOT NULL DEFAULT 'grey',
    properties        text[]      NOT NULL DEFAULT '{}',
    complexity        text,
    sla               integer     DEFAULT 8,
    priority          text        NOT NULL DEFAULT 'do-not-change',
    channels          text[]      NOT NULL DEFAULT '{}',
    subchannels       bigint[]    NOT NULL DEFAULT '{}',
    detection_details jsonb       NOT NULL DEFAULT '{}',
    routing_relevance boolean     NOT NULL DEFAULT true,
    test_case         jsonb       NOT NULL DEFAULT '{}',
    modified_by       bigint,
    modified_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tag_name_present CHECK (length(btrim(name)) > 0),
    CONSTRAINT tag_reference_check CHECK (reference IN ('ticket', 'contract', 'customer')),
    CONSTRAINT tag_type_check CHECK (type IN ('skill', 'product', 'brand', 'customerProperty', 'contractProperty', 'other')),
    CONSTRAINT tag_visibility_check CHECK (visibility IN ('public', 'private', 'disabled')),
    CONSTRAINT tag_color_check CHECK (color IN ('grey', 'green', 'red', 'blue', 'yellow', 'purple', 'orange', 'teal')),
    CONSTRAINT tag_priority_check CHECK (priority IN ('do-not-change', 'low', 'medium', 'high', 'urgent')),
    CONSTRAINT tag_sla_check CHECK (sla IS NULL OR sla >= 0)
);
CREATE INDEX tag_parent_idx ON settings.tag (parent);
