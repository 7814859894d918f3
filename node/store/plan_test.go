package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A node whose statistics were taken when apps held one row (a fresh
// install, closed once) and that then got thousands of apps must still
// check the apps of a log batch by primary key, not by scanning them all
// for every batch.
func TestLiveAppsLooksUpByKeyWithStaleStatistics(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if err := s.Close(); err != nil { // PRAGMA optimize: apps has one row
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO apps (slug, name, created_at, updated_at) VALUES (?, 'x', '', '')`,
			fmt.Sprintf("bulk-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = openAt(t, path)
	got := strings.Join(queryPlan(t, s.w, liveAppSQL, 2), "; ")
	if strings.Contains(got, "SCAN") || !strings.Contains(got, "USING INTEGER PRIMARY KEY") {
		t.Fatalf("plan of the live-app check: %s", got)
	}
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT CAST(substr(stat, 1, instr(stat, ' ') - 1) AS INTEGER) FROM sqlite_stat1
		WHERE tbl = 'apps' LIMIT 1`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Errorf("statistics of apps after reopening say %d rows, want them refreshed", n)
	}
}

// queryPlan is the detail column of EXPLAIN QUERY PLAN q, one entry a step.
func queryPlan(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain query plan %s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// vdbeOp is one instruction of an EXPLAIN program.
type vdbeOp struct {
	opcode     string
	p1, p2, p3 int64
}

func program(t *testing.T, db *sql.DB, q string, args ...any) []vdbeOp {
	t.Helper()
	rows, err := db.Query("EXPLAIN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var ops []vdbeOp
	for rows.Next() {
		var op vdbeOp
		var addr, p5 int64
		var p4, comment any
		if err := rows.Scan(&addr, &op.opcode, &op.p1, &op.p2, &op.p3, &p4, &p5, &comment); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ops
}

// TestLogQueriesSearchTheLogIndex checks that every query on execution_logs
// is a search of its one index (app_id, id, script_id): no scan, no sort
// (ORDER BY id follows the index), a range on (app_id, id) where there is a
// cursor or a cut. Planned with no statistics, and with statistics from an
// app holding almost every log: those make id < ? look like the better
// range, and the planner would walk the table by rowid if let.
func TestLogQueriesSearchTheLogIndex(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	big, small := mkApp(t, s, "big"), mkApp(t, s, "small")
	common, rare := mkScript(t, s, big.ID, "common"), mkScript(t, s, big.ID, "rare")
	logs := logsFor(big.ID, common.ID, 5000, time.Now())
	for i := 0; i < len(logs); i += 500 {
		logs[i].ScriptID = rare.ID
	}
	logs = append(logs, logsFor(small.ID, 1, 50, time.Now())...)
	if err := s.InsertLogs(ctx, logs); err != nil {
		t.Fatal(err)
	}

	index := func(covering bool, terms string) string {
		kind := "INDEX"
		if covering {
			kind = "COVERING INDEX"
		}
		return fmt.Sprintf("SEARCH execution_logs USING %s %s (%s)", kind, logIndex, terms)
	}
	const cursor = 4000
	queries := []struct {
		name     string
		sql      string
		args     []any
		want     string // the plan's step on execution_logs
		byScript bool   // script_id must be checked in the index entry
		onePass  bool   // a DELETE that collects no rowids first
	}{
		{"page", logsPageSQL(false, false), []any{big.ID, 100}, index(false, "app_id=?"), false, false},
		{"page before", logsPageSQL(false, true), []any{big.ID, cursor, 100}, index(false, "app_id=? AND id<?"), false, false},
		{"script page", logsPageSQL(true, false), []any{big.ID, rare.ID, 100}, index(false, "app_id=?"), true, false},
		{"script page before", logsPageSQL(true, true), []any{big.ID, rare.ID, cursor, 100}, index(false, "app_id=? AND id<?"), true, false},
		{"count", countLogsSQL, []any{big.ID}, index(true, "app_id=?"), false, false},
		{"prune cut", pruneCutSQL, []any{big.ID, 10}, index(true, "app_id=?"), false, false},
		// The deletes are one pass: each index entry found is deleted with
		// its table row, sought by rowid (so not "covering").
		{"prune delete", pruneDeleteSQL, []any{big.ID, 100}, index(false, "app_id=? AND id<?"), false, true},
		// DeleteApp deletes the app's logs itself (no foreign key, 0004).
		{"app deletion", deleteAppLogsSQL, []any{small.ID}, index(false, "app_id=?"), false, true},
	}
	check := func(t *testing.T, s *Store) {
		for _, q := range queries {
			plan := queryPlan(t, s.r, q.sql, q.args...)
			var steps []string
			for _, step := range plan {
				if strings.Contains(step, "execution_logs") || strings.Contains(step, "TEMP B-TREE") {
					steps = append(steps, step)
				}
			}
			if len(steps) != 1 || steps[0] != q.want {
				t.Errorf("%s: plan %q, want the step on execution_logs to be %q and nothing else on it",
					q.name, plan, q.want)
			}
			if q.byScript {
				checkScriptInIndex(t, s, q.name, program(t, s.r, q.sql, q.args...))
			}
			if q.onePass {
				for _, op := range program(t, s.r, q.sql, q.args...) {
					if op.opcode == "RowSetAdd" || op.opcode == "OpenEphemeral" {
						t.Errorf("%s: collects the rows before deleting them (%s)", q.name, op.opcode)
					}
				}
			}
		}
		// Deleting the app row touches no log: no foreign key to cascade.
		for _, step := range queryPlan(t, s.r, `DELETE FROM apps WHERE id = ?`, small.ID) {
			if strings.Contains(step, "execution_logs") {
				t.Errorf("deleting an app row plans a step on execution_logs: %q", step)
			}
		}
		// And the pages are right.
		page, err := s.Logs(ctx, big.ID, rare.ID, 100, 0)
		if err != nil || len(page) != 10 || page[0].ScriptID != rare.ID {
			t.Errorf("rare script's page: %d logs, %v", len(page), err)
		}
	}
	t.Run("no statistics", func(t *testing.T) { check(t, s) })
	t.Run("statistics of one big app", func(t *testing.T) {
		if _, err := s.w.ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s := openAt(t, path)
		var stats int
		if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_stat1 WHERE idx = ?`, logIndex).Scan(&stats); err != nil || stats != 1 {
			t.Fatalf("statistics of %s: %d rows, %v", logIndex, stats, err)
		}
		check(t, s)
	})
}

// checkScriptInIndex checks the program of a script-filtered page: it
// compares script_id read from the index entry (its third column) before it
// touches the table, whose row it seeks only for a match (a deferred seek).
func checkScriptInIndex(t *testing.T, s *Store, name string, ops []vdbeOp) {
	t.Helper()
	var tableRoot, indexRoot int64
	if err := s.r.QueryRow(`SELECT (SELECT rootpage FROM sqlite_master WHERE name = 'execution_logs'),
		(SELECT rootpage FROM sqlite_master WHERE name = ?)`, logIndex).Scan(&tableRoot, &indexRoot); err != nil {
		t.Fatal(err)
	}
	tableCur, indexCur := int64(-1), int64(-1)
	for _, op := range ops {
		if op.opcode == "OpenRead" && op.p2 == tableRoot {
			tableCur = op.p1
		}
		if op.opcode == "OpenRead" && op.p2 == indexRoot {
			indexCur = op.p1
		}
	}
	if tableCur < 0 || indexCur < 0 {
		t.Fatalf("%s: program opens table cursor %d, index cursor %d: %+v", name, tableCur, indexCur, ops)
	}
	// The opcodes that read a row of the table or seek it at once.
	tableReads := map[string]bool{"Column": true, "Rowid": true, "SeekRowid": true, "NotExists": true, "Seek": true}
	scriptRead, tableRead, deferred := -1, -1, false
	for i, op := range ops {
		switch {
		case op.opcode == "DeferredSeek" && op.p1 == indexCur && op.p3 == tableCur:
			deferred = true
		case op.opcode == "Column" && op.p1 == indexCur && op.p2 == 2 && scriptRead < 0:
			scriptRead = i
		case tableReads[op.opcode] && op.p1 == tableCur && tableRead < 0:
			tableRead = i
		}
	}
	if !deferred || scriptRead < 0 || tableRead < scriptRead {
		t.Errorf("%s: script_id not checked in the index before the table row is sought "+
			"(deferred seek %t, script_id read at %d, table first touched at %d): %+v",
			name, deferred, scriptRead, tableRead, ops)
	}
}
