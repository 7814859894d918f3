-- The number of fetches a run made (SPEC §10), per execution log. Runs
-- logged before it count none. ADD COLUMN with a constant default
-- rewrites no row.
ALTER TABLE execution_logs ADD COLUMN subrequests INTEGER NOT NULL DEFAULT 0;
