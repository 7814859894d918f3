-- execution_logs accepts trigger 'cron' (SPEC §9: scheduled runs are
-- logged with trigger cron). Everything else is 0004's table unchanged.
--
-- SQLite cannot change a CHECK in place, so this is the rebuild of 0004
-- (https://sqlite.org/lang_altertable.html#otheralter), safe for the same
-- reasons: no table, view or trigger refers to execution_logs, and migrate
-- runs PRAGMA foreign_key_check before committing.
CREATE TABLE execution_logs_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      INTEGER NOT NULL,
    script_id   INTEGER NOT NULL,
    route_id    INTEGER,
    "trigger"   TEXT    NOT NULL CHECK ("trigger" IN ('route', 'execute', 'cron')),
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

-- An id is never reused: the new table continues the old one's sequence
-- (see 0004).
DELETE FROM sqlite_sequence WHERE name = 'execution_logs_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'execution_logs_new', seq
    FROM (SELECT max(ifnull((SELECT max(seq) FROM sqlite_sequence WHERE name = 'execution_logs'), 0),
                     ifnull((SELECT max(id) FROM execution_logs_new), 0)) AS seq)
    WHERE seq > 0;

DROP TABLE execution_logs;
ALTER TABLE execution_logs_new RENAME TO execution_logs;

CREATE INDEX execution_logs_app_id_id_script_id ON execution_logs (app_id, id, script_id);
