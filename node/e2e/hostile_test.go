package e2e

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// Hostile return values through the data plane (SPEC §4.3): each answers
// the contract's error, the node allocates little beyond what the script
// itself built while answering, and the execution log holds the reason,
// not an internal error (a recovered panic).
func TestHostileResponsesAreBounded(t *testing.T) {
	e := start(t)
	e.createApp("Hostile", "")
	e.claim("hostile", "hostile.example.com")
	const big = `const big = 'é'.repeat(1 << 20);` // 1M non-ASCII characters
	cases := []struct {
		name, src string
		status    int
		code      string
		logged    string
	}{
		{"50 x 1 MB strings", big + `function handle(){ return Array(50).fill(big) }`,
			http.StatusInsufficientStorage, shared.CodeSandboxLimit, "max_string_size"},
		{"20 MB of headers", big + `function handle(){ return { headers: Object.fromEntries(Array.from({length: 10}, (_, i) => ['x-h' + i, big])), body: 'ok' } }`,
			http.StatusInternalServerError, shared.CodeScriptError, "headers exceed 64 KiB"},
		{"throws a 1 MB message", big + `function handle(){ throw new Error(big) }`,
			http.StatusInternalServerError, shared.CodeScriptError, "Error: ééé"},
		{"getter looping while read", `function handle(){ return { status: 200, get body(){ for(;;){} } } }`,
			http.StatusInsufficientStorage, shared.CodeSandboxLimit, "max_operations"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			s := e.script("hostile", fmt.Sprintf("hostile-%d", i), tc.src, nil)
			path := "/" + strings.Repeat("x", i+1)
			e.route("hostile", s.ID, "GET", path, "")
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := e.get("hostile.example.com", path)
			runtime.ReadMemStats(&after)
			r.apiError(t, tc.status, tc.code)
			// The script builds about 4 MB; a copy of its 50 strings to Go
			// cost over 1 GB before responses were read field by field.
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("the node allocated %d MB answering", grew>>20)
			}
			logs := nodetest.WaitLogs(t, e.c, "hostile", s.ID, 1)
			if l := logs[0]; l.Status != tc.status || !strings.Contains(l.Error, tc.logged) || strings.Contains(l.Error, "internal error") {
				t.Errorf("logged %d %.200q, want %d with %q", l.Status, l.Error, tc.status, tc.logged)
			}
			if l := logs[0]; len(l.Error) > 64<<10 || len(l.Output) > 64<<10 {
				t.Errorf("logged %d bytes of error and %d of output, over 64 KiB", len(l.Error), len(l.Output))
			}
		})
	}
}
