-- Teams (contract §6.3): a tree of teams carrying routing settings that their members inherit.
-- A null setting is "not set here": it comes from the parent team when the team inherits.
CREATE TABLE settings.team (
    id                        serial      PRIMARY KEY,
    name                      text        NOT NULL,
    parent_id                 integer     REFERENCES settings.team (id),
    role_id                   integer     REFERENCES settings.role (id),
    skills                    bigint[],
    channels                  text[],
    excluded_tag_ids          bigint[],
    required_tag_ids          bigint[],
    inherit_parental_settings boolean     NOT NULL DEFAULT true,
    created_at                timestamptz NOT NULL DEFAULT now(),
    modified_at               timestamptz,
    deleted_at                timestamptz,
    CONSTRAINT team_name_present CHECK (length(btrim(name)) > 0),
    CONSTRAINT team_not_own_parent CHECK (parent_id IS DISTINCT FROM id)
);
-- Sibling teams have distinct names.
CREATE UNIQUE INDEX team_name_key ON settings.team (coalesce(parent_id, 0), lower(name))
    WHERE deleted_at IS NULL;

CREATE TABLE settings.team_member (
    team_id    integer NOT NULL REFERENCES settings.team (id),
    profile_id bigint  NOT NULL REFERENCES settings.profile (id),
    PRIMARY KEY (team_id, profile_id)
);
CREATE INDEX team_member_profile_idx ON settings.team_member (profile_id);

-- Whether a user takes skills, tags and role from their teams (see identity resolution).
ALTER TABLE settings.profile ADD COLUMN inherit_team_settings boolean NOT NULL DEFAULT true;
