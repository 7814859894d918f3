package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
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
	rows, err := s.w.QueryContext(ctx, "EXPLAIN QUERY PLAN "+liveAppSQL, 2)
	if err != nil {
		t.Fatal(err)
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
	got := strings.Join(plan, "; ")
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
