-- execution_logs without the foreign key on app_id. Every request inserts a
-- log row and, at retention, deletes one; the key made each insert look its
-- app up in apps and each delete run the key's bookkeeping (and be planned
-- in two passes): about 0.5 µs of a request's ~18 µs, for nothing.
-- InsertLogs already checks in its own write transaction which apps still
-- exist (liveApps) and drops the logs of deleted ones, and DeleteApp now
-- deletes the app's logs itself, in the transaction that deletes the app;
-- the cascade was all the key still did. Columns, types, defaults, NOT NULLs
-- and checks are those of 0001, unchanged.
--
-- SQLite cannot drop a constraint in place, so this is the rebuild of
-- https://sqlite.org/lang_altertable.html#otheralter (create, copy, drop,
-- rename, index). Migrations run in a transaction with foreign keys on, and
-- the pragma cannot change inside one; that is safe here because no table
-- references execution_logs: dropping it deletes only its own rows, fires
-- no cascade, and the rename rewrites no other table's key. migrate runs
-- PRAGMA foreign_key_check before committing. No view or trigger refers to
-- the table.
CREATE TABLE execution_logs_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      INTEGER NOT NULL,
    script_id   INTEGER NOT NULL,
    route_id    INTEGER,
    "trigger"   TEXT    NOT NULL CHECK ("trigger" IN ('route', 'execute')),
    host        TEXT    NOT NULL DEFAULT '',
    method      TEXT    NOT NULL DEFAULT '',
    path        TEXT    NOT NULL DEFAULT '',
    status      INTEGER NOT NULL DEFAULT 0,
    duration_us INTEGER NOT NULL DEFAULT 0,
    operations  INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    output      TEXT    NOT NULL DEFAULT '',
    started_at  TEXT    NOT NULL
);

-- Ids kept: log pages are cursors on id.
INSERT INTO execution_logs_new (id, app_id, script_id, route_id, "trigger", host, method, path, status,
        duration_us, operations, error, output, started_at)
    SELECT id, app_id, script_id, route_id, "trigger", host, method, path, status,
        duration_us, operations, error, output, started_at
    FROM execution_logs ORDER BY id;

-- An id is never reused (paging, and the bench's count of logged executions
-- read the sequence): the new table continues the old one's sequence, which
-- is above max(id) when the newest logs were deleted. The copy made the new
-- table's row from max(id); DROP TABLE deletes the old table's row and the
-- rename renames the new one's.
DELETE FROM sqlite_sequence WHERE name = 'execution_logs_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'execution_logs_new', seq
    FROM (SELECT max(ifnull((SELECT max(seq) FROM sqlite_sequence WHERE name = 'execution_logs'), 0),
                     ifnull((SELECT max(id) FROM execution_logs_new), 0)) AS seq)
    WHERE seq > 0;

DROP TABLE execution_logs;
ALTER TABLE execution_logs_new RENAME TO execution_logs;

-- The index of 0003, same name and columns; it serves app deletion's
-- delete of the app's logs as it served the cascade.
CREATE INDEX execution_logs_app_id_id_script_id ON execution_logs (app_id, id, script_id);
