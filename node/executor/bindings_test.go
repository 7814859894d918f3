package executor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja/parser"

	"github.com/picloud/picloud/shared"
)

// TestEntryFunctions: a script may define handle, scheduled or both (SPEC
// §5, §9); Compile says which, and a script with neither is refused as
// before.
func TestEntryFunctions(t *testing.T) {
	e := New(Options{})
	for _, tc := range []struct {
		name, src           string
		handle, scheduled   bool
		wantErr, wantSource bool
	}{
		{"handle", `function handle(req) { return "hi" }`, true, false, false, false},
		{"scheduled", `function scheduled(event) {}`, false, true, false, false},
		{"both", `function handle() { return "h" } async function scheduled(event, env) {}`, true, true, false, false},
		{"arrow scheduled", `const scheduled = async (event) => {}`, false, true, false, false},
		{"neither", `function other() {}`, false, false, true, true},
		{"scheduled not a function", `const scheduled = 1`, false, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.Compile(0, 0, tc.src, shared.DefaultLimits())
			if tc.wantErr {
				se, ok := shared.AsError(err)
				if !ok || se.Status != http.StatusUnprocessableEntity || se.Code != shared.CodeValidationFailed || se.Details["field"] != "source" {
					t.Fatalf("got %v, want 422 validation_failed on source", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Has(EntryHandle) != tc.handle || p.Has(EntryScheduled) != tc.scheduled {
				t.Fatalf("Has(handle) %v, Has(scheduled) %v; want %v, %v", p.Has(EntryHandle), p.Has(EntryScheduled), tc.handle, tc.scheduled)
			}
		})
	}
}

// TestScheduledRun: scheduled(event, env) gets the event of SPEC §9 and
// the same env as handle; a run that returned or resolved is a 200 without
// a body, a rejection a script error; calling an entry the script lacks is
// a script error, not a crash.
func TestScheduledRun(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits()
	tick := time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)
	ev := &ScheduledEvent{Cron: "30 2 * * *", ScheduledTime: tick, Timezone: "Europe/Berlin"}
	b := &Bindings{Vars: map[string]string{"TOKEN": "t0k"}}

	p, err := e.Compile(0, 0, `
		function handle(req) { return "from handle" }
		async function scheduled(event, env) {
			await null
			console.log(event.cron, event.scheduledTime, event.timezone, Object.keys(event).join(), env.TOKEN)
			return "ignored"
		}`, l)
	if err != nil {
		t.Fatal(err)
	}
	res := e.Run(context.Background(), Invocation{Program: p, Limits: l, Entry: EntryScheduled, Event: ev, Bindings: b})
	if res.Err != nil || res.Status != http.StatusOK || len(res.Body) != 0 {
		t.Fatalf("scheduled: status %d body %q err %v", res.Status, res.Body, res.Err)
	}
	want := "30 2 * * * 1774747800000 Europe/Berlin cron,scheduledTime,timezone t0k\n"
	if res.Output != want {
		t.Fatalf("output %q, want %q", res.Output, want)
	}
	if got := body(t, e.Run(context.Background(), Invocation{Program: p, Limits: l})); got != "from handle" {
		t.Fatalf("handle of the same script: %q", got)
	}

	rejects, err := e.Compile(0, 0, `async function scheduled() { throw new Error("backup failed") }`, l)
	if err != nil {
		t.Fatal(err)
	}
	res = e.Run(context.Background(), Invocation{Program: rejects, Limits: l, Entry: EntryScheduled, Event: ev})
	var se *ScriptError
	if !errors.As(res.Err, &se) || !strings.Contains(se.Message, "scheduled rejected") || !strings.Contains(se.Message, "backup failed") {
		t.Fatalf("rejected scheduled: %v", res.Err)
	}
	res = e.Run(context.Background(), Invocation{Program: rejects, Limits: l})
	if !errors.As(res.Err, &se) || !strings.Contains(se.Message, "no handle") {
		t.Fatalf("handle of a scheduled-only script: %v", res.Err)
	}
}

// TestEnv: handle(req, env) sees the app's variables as strings; env is a
// fresh object per run, so what one run writes to it the next does not
// see; a one-parameter handle(req) works as before; arguments sees env.
func TestEnv(t *testing.T) {
	e := New(Options{PoolSize: 1})
	l := shared.DefaultLimits()
	b := &Bindings{Vars: map[string]string{"GREETING": "hello", "API_KEY": "k1"}}
	for _, tc := range []struct {
		name, src string
		b         *Bindings
		want      string
	}{
		{"variables", `function handle(req, env) { return env.GREETING + " " + typeof env.API_KEY + " " + Object.keys(env).join() }`,
			b, "hello string API_KEY,GREETING"},
		{"no bindings", `function handle(req, env) { return typeof env + " " + Object.keys(env).length }`, nil, "object 0"},
		{"one parameter", `function handle(req) { return "one " + req.path }`, b, "one /p"},
		{"arguments", `function handle() { return arguments[1].GREETING }`, b, "hello"},
		{"arrow", `const handle = (req, env) => env.API_KEY`, b, "k1"},
		{"destructured", `function handle(req, {GREETING}) { return GREETING }`, b, "hello"},
		{"rest", `function handle(...a) { return a[1].API_KEY }`, b, "k1"},
		{"writes do not last", `function handle(req, env) { const seen = String(env.MARK); env.MARK = "x"; env.GREETING = "changed"; return seen + env.GREETING }`,
			b, "undefinedchanged"},
		{"prototype is Object's", `function handle(req, env) { return String(Object.getPrototypeOf(env) === Object.prototype) }`, b, "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.Compile(0, 0, tc.src, l)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				res := e.Run(context.Background(), Invocation{Program: p, Limits: l, Request: &Request{Path: "/p"}, Bindings: tc.b})
				if got := body(t, res); got != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// TestBindingsDoNotCrossApps: two apps with different bindings take turns
// on one pooled runtime (pool size 1); each sees its own variables and
// nothing of the other's, however it tries to keep or find them.
func TestBindingsDoNotCrossApps(t *testing.T) {
	e := New(Options{PoolSize: 1})
	l := shared.DefaultLimits()
	bindA := &Bindings{Vars: map[string]string{"SECRET": "secret-of-a", "ONLY_A": "a"}}
	bindB := &Bindings{Vars: map[string]string{"SECRET": "secret-of-b"}}
	for i, tc := range []struct{ name, a, b string }{
		{"reads env",
			`function handle(req, env) { return env.SECRET }`,
			`function handle(req, env) { return [env.SECRET, typeof env.ONLY_A].join() }`},
		{"keeps env in a global or prototype",
			`function handle(req, env) { try { globalThis.kept = env } catch (e) {} try { Object.prototype.kept = env } catch (e) {}
				try { Symbol.for("env").kept = env } catch (e) {} return env.SECRET }`,
			`function handle(req, env) { const k = [typeof kept, typeof ({}).kept, typeof Symbol.for("env").kept].join()
				return env.SECRET + (k === "undefined,undefined,undefined" ? "" : " found " + k) }`},
		{"reusable program, one parameter",
			`function helper(env) { return env.SECRET } function handle(req, env) { return helper(env) }`,
			`function handle(req) { return String(typeof env) }`},
		{"closure in a promise job",
			`async function handle(req, env) { Promise.resolve().then(() => { try { globalThis.late = env.SECRET } catch (e) {} }); return env.SECRET }`,
			`async function handle(req, env) { await null; return [env.SECRET, typeof late].join() }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pa, err := e.Compile(int64(2*i+1), 1, tc.a, l)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := e.Compile(int64(2*i+2), 1, tc.b, l)
			if err != nil {
				t.Fatal(err)
			}
			for n := range 3 {
				resA := e.Run(context.Background(), Invocation{Program: pa, Limits: l, Bindings: bindA})
				if got := body(t, resA); got != "secret-of-a" {
					t.Fatalf("round %d: app a got %q", n, got)
				}
				sb := pooled(e)
				if sb == nil {
					t.Fatal("app a's run left no runtime in the pool")
				}
				resB := e.Run(context.Background(), Invocation{Program: pb, Limits: l, Bindings: bindB})
				got := body(t, resB)
				if strings.Contains(got, "of-a") || strings.Contains(got, "found") || strings.Contains(got, ",string") {
					t.Fatalf("round %d: app b saw app a's bindings: %q", n, got)
				}
				if pooled(e) != sb {
					t.Fatal("app b did not run on app a's runtime")
				}
				if sb.run != nil {
					t.Fatal("a pooled runtime still holds a run")
				}
			}
		})
	}
}

// observesEnvCases: whether an entry function can see its second argument.
var observesEnvCases = []struct {
	name, src string
	want      bool
}{
	{"hello world", `function handle(req) { return "Hello, World!" }`, false},
	{"no parameter", `function handle() { return "hi" }`, false},
	{"env", `function handle(req, env) { return env.X }`, true},
	{"unused env", `function handle(req, env) { return "hi" }`, true},
	{"arguments", `function handle(req) { return arguments.length }`, true},
	{"arguments in an arrow", `function handle(req) { return (() => arguments[1])() }`, true},
	{"arguments in a default", `function handle(req = arguments[1]) { return req }`, true},
	{"rest", `function handle(...a) { return a[1] }`, true},
	{"arrow", `const handle = (req) => "hi"`, true},
	{"reassigned", `function handle(req) { return "a" } handle = function (req, env) { return env }`, true},
	{"declared twice", `function handle(req) { return "a" } function handle(req, env) { return env }`, true},
	{"referenced", `function handle(req) { return handle.length }`, true},
	{"helper has two parameters", `function f(a, b) { return b } function handle(req) { return f(req) }`, false},
}

func TestObservesEnv(t *testing.T) {
	for _, tt := range observesEnvCases {
		t.Run(tt.name, func(t *testing.T) {
			prg, err := parser.ParseFile(nil, "t.js", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := observesEnv(prg, "handle"); got != tt.want {
				t.Fatalf("observesEnv = %v, want %v", got, tt.want)
			}
		})
	}
}
