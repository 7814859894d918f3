package executor

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

// run compiles src (uncached) and runs it once with limits.
func run(t *testing.T, e *Executor, src string, limits shared.Limits, req *Request) *Result {
	t.Helper()
	p, err := e.Compile(0, 0, src, limits)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return e.Run(context.Background(), Invocation{Program: p, Limits: limits, Request: req})
}

func TestHelloWorld(t *testing.T) {
	e := New(Options{})
	res := run(t, e, `function handle(req) { console.log("hit", req.path); return "hello " + req.method; }`,
		shared.DefaultLimits(), &Request{Method: "GET", Path: "/x"})
	if res.Err != nil {
		t.Fatalf("err: %v", res.Err)
	}
	if res.Status != 200 || string(res.Body) != "hello GET" {
		t.Fatalf("got %d %q", res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("content-type %q", ct)
	}
	if res.Output != "hit /x\n" {
		t.Fatalf("output %q", res.Output)
	}
	if res.Operations < 1 {
		t.Fatalf("operations %d", res.Operations)
	}
}

func TestScriptErrorLine(t *testing.T) {
	e := New(Options{})
	res := run(t, e, "function handle(req) {\n  let x = 1;\n  throw new Error('boom');\n}", shared.DefaultLimits(), nil)
	var se *ScriptError
	if !errors.As(res.Err, &se) {
		t.Fatalf("want ScriptError, got %v", res.Err)
	}
	if se.Line != 3 || !strings.Contains(se.Message, "boom") {
		t.Fatalf("got %+v", se)
	}
}

var _ = url.Values{}
var _ = http.Header{}
