-- Variables and secrets of apps (SPEC §8), env.NAME in scripts. A plain
-- variable keeps its value in value; a secret keeps only sealed: a nonce
-- and the AES-256-GCM ciphertext under the node's secrets.key, bound to
-- the app and the name. Exactly one of the two is set.
CREATE TABLE app_env (
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL CHECK (name <> ''),
    value      TEXT,
    sealed     BLOB,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (app_id, name),
    CHECK ((value IS NULL) <> (sealed IS NULL))
) WITHOUT ROWID;
