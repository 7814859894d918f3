-- Cron schedules of apps (SPEC §9). A schedule's script is always a script
-- of its own app; deleting the script or the app deletes its schedules.
-- last_run and last_status describe the most recent run (or skip).
CREATE TABLE schedules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    script_id   INTEGER NOT NULL,
    cron        TEXT    NOT NULL CHECK (cron <> ''),
    timezone    TEXT    NOT NULL CHECK (timezone <> ''),
    last_run    TEXT,
    last_status INTEGER,
    created_at  TEXT    NOT NULL,
    FOREIGN KEY (script_id, app_id) REFERENCES scripts (id, app_id) ON DELETE CASCADE
);
CREATE INDEX schedules_app_id ON schedules (app_id);
CREATE INDEX schedules_script_id ON schedules (script_id);
