-- seqr metadata schema, version 1. Documented table by table in docs/META.md.
-- Times are unix seconds (INTEGER) unless the column name ends in _ms.

CREATE TABLE users (
    id                    TEXT PRIMARY KEY NOT NULL,
    username              TEXT NOT NULL,
    username_folded       TEXT NOT NULL UNIQUE,
    display_name          TEXT,
    email_address         TEXT,
    password_hash         TEXT,
    must_change_password  INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    view_filter           TEXT,
    preferences           TEXT NOT NULL DEFAULT '{}',
    auth_provider         TEXT,
    auth_provider_id      TEXT,
    password_changed_at   INTEGER,
    sessions_epoch        INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL
) STRICT;

CREATE TABLE user_roles (
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id  TEXT NOT NULL,
    PRIMARY KEY (user_id, role_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE api_keys (
    id                    TEXT PRIMARY KEY NOT NULL,
    title                 TEXT NOT NULL,
    token_prefix          TEXT,
    token_salt            BLOB,
    token_digest          BLOB,
    owner_id              TEXT REFERENCES users (id) ON DELETE CASCADE,
    assigned_permissions  INTEGER NOT NULL DEFAULT 0,
    applied_properties    TEXT NOT NULL DEFAULT '[]',
    filter                TEXT,
    minimum_level         TEXT,
    use_server_timestamps INTEGER NOT NULL DEFAULT 0 CHECK (use_server_timestamps IN (0, 1)),
    is_default            INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at            INTEGER NOT NULL,
    arrived_events        INTEGER NOT NULL DEFAULT 0,
    arrived_bytes         INTEGER NOT NULL DEFAULT 0,
    ingested_events       INTEGER NOT NULL DEFAULT 0,
    ingested_bytes        INTEGER NOT NULL DEFAULT 0,
    invalid_payloads      INTEGER NOT NULL DEFAULT 0,
    CHECK ((token_digest IS NULL) = (token_salt IS NULL)),
    CHECK (is_default = 0 OR token_digest IS NULL)
) STRICT;

CREATE INDEX api_keys_token_prefix ON api_keys (token_prefix) WHERE token_prefix IS NOT NULL;
CREATE INDEX api_keys_owner ON api_keys (owner_id) WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX api_keys_single_default ON api_keys (is_default) WHERE is_default = 1;

-- The tokenless default key ("None"): its input settings apply to requests without a key.
INSERT INTO api_keys (id, title, assigned_permissions, is_default, created_at)
VALUES ('apikey-default', 'None', 2, 1, 0);

CREATE TABLE sessions (
    id_digest       BLOB PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_digest     BLOB NOT NULL,
    sessions_epoch  INTEGER NOT NULL,
    client_address  TEXT,
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE settings (
    id                TEXT PRIMARY KEY NOT NULL,
    value_json        TEXT,
    sealed_value      BLOB,
    explicitly_set    INTEGER NOT NULL CHECK (explicitly_set IN (0, 1)),
    updated_at        INTEGER NOT NULL,
    updated_by        TEXT,
    CHECK ((value_json IS NULL) <> (sealed_value IS NULL))
) STRICT, WITHOUT ROWID;

CREATE TABLE internal_values (
    key         TEXT PRIMARY KEY NOT NULL,
    value       BLOB NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY NOT NULL,
    at_ms           INTEGER NOT NULL,
    principal       TEXT,
    client_address  TEXT,
    action          TEXT NOT NULL,
    target          TEXT,
    outcome         TEXT NOT NULL,
    detail          TEXT NOT NULL,
    hash            BLOB NOT NULL
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
