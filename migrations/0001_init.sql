-- The control-plane schema of SPEC §2.
--
-- Timestamps are UTC text in RFC 3339 with nanoseconds (fixed width, so they
-- sort as text). Ids use AUTOINCREMENT so an id is never reused: the executor
-- caches compiled programs by (script id, version) and log paging relies on
-- ids only growing.

-- Small facts about this database, e.g. whether the default app was seeded.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE apps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT    NOT NULL UNIQUE CHECK (slug <> ''),
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

-- A claim of an app. shape_key is the normalised pattern: two apps can never
-- claim the same shape.
CREATE TABLE app_domains (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    pattern    TEXT    NOT NULL CHECK (pattern <> ''),
    shape_key  TEXT    NOT NULL UNIQUE CHECK (shape_key <> ''),
    created_at TEXT    NOT NULL
);
CREATE INDEX app_domains_app_id ON app_domains (app_id);

-- Old slugs of apps, each a permanent redirect to the app's current slug.
CREATE TABLE app_slug_history (
    slug       TEXT    PRIMARY KEY,
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL
);
CREATE INDEX app_slug_history_app_id ON app_slug_history (app_id);

CREATE TABLE scripts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL CHECK (name <> ''),
    description     TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL,
    sandbox         TEXT    NOT NULL DEFAULT '{}'
                    CHECK (json_valid(sandbox) AND json_type(sandbox) = 'object'),
    memory_limit_mb INTEGER NOT NULL DEFAULT 0 CHECK (memory_limit_mb >= 0),
    version         INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    UNIQUE (app_id, name),
    -- Target of routes' (script_id, app_id) key: a route's script is always
    -- a script of the route's own app.
    UNIQUE (id, app_id)
);

-- host NULL means "every host the app claims".
CREATE TABLE routes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    script_id  INTEGER NOT NULL,
    method     TEXT    NOT NULL CHECK (method <> ''),
    path       TEXT    NOT NULL CHECK (path LIKE '/%'),
    host       TEXT             CHECK (host IS NULL OR host <> ''),
    created_at TEXT    NOT NULL,
    FOREIGN KEY (script_id, app_id) REFERENCES scripts (id, app_id) ON DELETE CASCADE
);
-- Unique per app on (host, method, path). NULLs are distinct in a plain
-- UNIQUE constraint, so the index maps NULL to '' (never a valid host) to
-- make "no host" count as one value.
CREATE UNIQUE INDEX routes_app_host_method_path ON routes (app_id, ifnull(host, ''), method, path);
CREATE INDEX routes_script_id ON routes (script_id);

-- One execution of a script. script_id and route_id carry no foreign key on
-- purpose: deleting a script deletes its routes but its logs stay. Deleting
-- the app deletes them.
CREATE TABLE execution_logs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
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
