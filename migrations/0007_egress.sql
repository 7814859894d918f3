-- Egress allowlists of apps (SPEC §10): the hosts, addresses and ranges an
-- app's scripts may fetch from, in the order the user gave them. Entries
-- are stored in canonical spelling (shared.NormalizeEgress). An app without
-- rows has no network. Deleting the app deletes its list.
CREATE TABLE app_egress (
    app_id   INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    entry    TEXT    NOT NULL CHECK (entry <> ''),
    PRIMARY KEY (app_id, position),
    UNIQUE (app_id, entry)
) WITHOUT ROWID;
