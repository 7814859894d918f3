package store

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// FuzzTextRoundTrip stores arbitrary text (NUL bytes, invalid UTF-8, quotes,
// SQL) as script fields and log output and reads it back unchanged.
func FuzzTextRoundTrip(f *testing.F) {
	for _, seed := range [][3]string{
		{"hello", "function handle(){ return 'hi' }", "hit /\n"},
		{"x'); DROP TABLE apps; --", "\x00\x01", "\xff\xfe invalid utf-8"},
		{"日本語", "`${1}` \"q\" 'q'", "🦀\r\n\t"},
		{" ", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	s, _ := openTest(f)
	ctx := context.Background()
	a := mkApp(f, s, "fuzz")
	f.Fuzz(func(t *testing.T, name, source, output string) {
		if name == "" {
			return // names are validated by the caller; the schema refuses ""
		}
		sc, err := s.CreateScript(ctx, shared.Script{AppID: a.ID, Name: name, Source: source, Description: output})
		if err != nil {
			t.Fatalf("CreateScript(%q): %v", name, err)
		}
		defer s.DeleteScript(ctx, sc.ID)
		got, err := s.Script(ctx, sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != name || got.Source != source || got.Description != output {
			t.Fatalf("round trip: %q %q %q → %q %q %q", name, source, output, got.Name, got.Source, got.Description)
		}
		if err := s.InsertLogs(ctx, []shared.Log{{AppID: a.ID, ScriptID: sc.ID, Trigger: shared.TriggerExecute,
			Path: name, Error: source, Output: output, StartedAt: time.Unix(0, 0)}}); err != nil {
			t.Fatal(err)
		}
		logs, err := s.Logs(ctx, a.ID, sc.ID, 1, 0)
		if err != nil || len(logs) != 1 {
			t.Fatalf("Logs = %v, %v", logs, err)
		}
		if l := logs[0]; l.Path != name || l.Error != source || l.Output != output {
			t.Fatalf("log round trip: %q %q %q → %q %q %q", name, source, output, l.Path, l.Error, l.Output)
		}
	})
}
