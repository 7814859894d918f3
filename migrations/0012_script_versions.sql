-- Past and present contents of scripts (SPEC §11). A row is written each
-- time a script's source or sandbox takes a new value, keyed by the
-- script's version at that moment, so the newest row is the current
-- content. Rows are never changed: a rollback writes a new one. The store
-- keeps the newest 50 rows of a script; deleting the script deletes them.
CREATE TABLE script_versions (
    script_id  INTEGER NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL CHECK (version >= 1),
    source     TEXT    NOT NULL,
    sandbox    TEXT    NOT NULL DEFAULT '{}',
    created_at TEXT    NOT NULL,
    PRIMARY KEY (script_id, version)
) WITHOUT ROWID;

-- Scripts written before this migration start their history at what they
-- hold now.
INSERT INTO script_versions (script_id, version, source, sandbox, created_at)
SELECT id, version, source, sandbox, updated_at FROM scripts;
