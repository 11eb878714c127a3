-- seqr metadata schema, version 2: retention policies (docs/META.md).

-- Ids are `retentionpolicy-<id>`; AUTOINCREMENT keeps a deleted policy's number from being
-- given to a new one, so audit records always name one policy.
CREATE TABLE retention_policies (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    retention_ticks  INTEGER NOT NULL CHECK (retention_ticks > 0),
    filter           TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    updated_by       TEXT
) STRICT;
