-- Log reads page newest first by id within an app, optionally one script;
-- pruning and app deletion find an app's logs by app_id. Both indexes end in
-- id so paging is an index range scan.
CREATE INDEX execution_logs_app_id ON execution_logs (app_id, id);
CREATE INDEX execution_logs_app_script_id ON execution_logs (app_id, script_id, id);
