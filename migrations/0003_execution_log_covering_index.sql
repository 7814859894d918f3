-- One index on execution_logs instead of two. Every request writes a log
-- row and, once the app holds its retention, deletes one: each index costs
-- a b-tree insert and a b-tree delete per request, and with two indexes
-- the log's index upkeep was a large share of a request's CPU.
--
-- (app_id, id, script_id) serves every log query: pages newest first by id
-- within an app (a range on (app_id, id)), pruning and counting an app's
-- logs (covered by the index), and the cascade of an app's deletion. A page
-- filtered by script walks the app's index entries newest first, checks
-- script_id in the index and reads the table row only for a match: for a
-- rare script that is a walk over up to the app's whole retention. Such
-- pages are admin reads; the writes are every request.
DROP INDEX execution_logs_app_id;
DROP INDEX execution_logs_app_script_id;
CREATE INDEX execution_logs_app_id_id_script_id ON execution_logs (app_id, id, script_id);
