-- Per-app key-value storage (SPEC §7). Keys compare as bytes (BINARY
-- collation is memcmp on UTF-8), which is the order list() promises.
-- size is what an entry counts against its app's quota: key + value +
-- metadata bytes. kv_usage keeps each app's totals exact through triggers,
-- so every way a row changes (put, delete, expiry, the app's cascade) is
-- counted, and the quota check at write time reads one row.
CREATE TABLE kv_entries (
    id         INTEGER PRIMARY KEY,
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL CHECK (length(CAST(key AS BLOB)) BETWEEN 1 AND 512),
    value      BLOB    NOT NULL,
    metadata   TEXT             CHECK (metadata IS NULL OR json_valid(metadata)),
    expiration INTEGER,
    size       INTEGER NOT NULL CHECK (size > 0),
    updated_at TEXT    NOT NULL,
    UNIQUE (app_id, key)
);
CREATE INDEX kv_entries_expiration ON kv_entries (expiration) WHERE expiration IS NOT NULL;

CREATE TABLE kv_usage (
    app_id INTEGER PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
    keys   INTEGER NOT NULL,
    bytes  INTEGER NOT NULL
);

CREATE TRIGGER kv_entries_insert AFTER INSERT ON kv_entries BEGIN
    INSERT INTO kv_usage (app_id, keys, bytes) VALUES (NEW.app_id, 1, NEW.size)
        ON CONFLICT (app_id) DO UPDATE SET keys = keys + 1, bytes = bytes + NEW.size;
END;
CREATE TRIGGER kv_entries_update AFTER UPDATE OF size ON kv_entries BEGIN
    UPDATE kv_usage SET bytes = bytes - OLD.size + NEW.size WHERE app_id = NEW.app_id;
END;
CREATE TRIGGER kv_entries_delete AFTER DELETE ON kv_entries BEGIN
    UPDATE kv_usage SET keys = keys - 1, bytes = bytes - OLD.size WHERE app_id = OLD.app_id;
END;
