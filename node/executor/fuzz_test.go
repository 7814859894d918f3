package executor

import (
	"net/http"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

// FuzzCompile: any source text either compiles or yields a contract error
// (413 too_large or 422 script_syntax / validation_failed); it never panics
// and never exhausts the stack. Programs that compile are run once under
// tight limits, which must not panic either.
func FuzzCompile(f *testing.F) {
	seeds := []string{
		`function handle(req) { return "hi" }`,
		`const handle = (req) => ({ status: 201, body: { a: [1, 2] } })`,
		"function handle(){ return `a${1+`b${2}`}c` }",
		`function handle(){ return /[(]/.test("(") + "((" + '[[' }`,
		`if (1) /"/.test('"'); function handle(){ return ((((1)))) }`,
		`function handle(){ with ({}) {} }`,
		`function handle(){ return /(a)\1/ }`,
		strings.Repeat("(", 300) + strings.Repeat(")", 300),
		strings.Repeat("!", 1000) + "1",
		"function handle(){ for(;;){} }",
		"'use strict'; function handle(){ arguments; return 1 }",
		"function handle(){ return {a:1}/2 }",
		"/* ( */ // [\nfunction handle(){}",
		"function handle(){ return '\\u{1F600}'.repeat(3) }",
		"class A { static { } #x = 1; get y(){ return this.#x } } function handle(){ return new A().y }",
		"function* g(){ yield* [1] } async function handle(){ for await (const x of g()) {} return 'x' }",
		"function 08[...0(", // goja's parser panics
	}
	for _, s := range seeds {
		f.Add(s)
	}
	e := New(Options{})
	limits := shared.Limits{MaxOperations: 2000, MaxStringSize: 4096, MaxArraySize: 256, MaxMapSize: 256,
		MaxCallLevels: 32, MaxExprDepth: 64, TimeoutMS: 50}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := e.Compile(0, 0, src, limits)
		if err != nil {
			se, ok := shared.AsError(err)
			if !ok {
				t.Fatalf("not a contract error: %T %v", err, err)
			}
			switch {
			case se.Status == http.StatusRequestEntityTooLarge && se.Code == shared.CodeTooLarge:
			case se.Status == http.StatusUnprocessableEntity && (se.Code == shared.CodeScriptSyntax || se.Code == shared.CodeValidationFailed):
			default:
				t.Fatalf("unexpected error %d %s", se.Status, se.Code)
			}
			return
		}
		res := e.Run(t.Context(), Invocation{Program: p, Limits: limits, Request: &Request{Method: "GET", Path: "/"}})
		if res.Err == nil && res.Status == 0 {
			t.Fatalf("success without a status")
		}
	})
}

// FuzzReuse: a reusable program answers the same with its top-level
// functions kept across runs as with them made afresh, run after run.
// Sources that read a clock or random numbers are skipped: they differ
// from run to run anyway.
func FuzzReuse(f *testing.F) {
	for _, tt := range reusableCases {
		f.Add(tt.src)
	}
	for _, tt := range reuseDiffCases {
		f.Add(tt.src)
	}
	limits := shared.Limits{MaxOperations: 2000, MaxStringSize: 4096, MaxArraySize: 256, MaxMapSize: 256,
		MaxCallLevels: 32, MaxExprDepth: 64, TimeoutMS: 1000}
	f.Fuzz(func(t *testing.T, src string) {
		if strings.Contains(src, "random") || strings.Contains(src, "Date") {
			return
		}
		kept, err := compile(src, limits, true)
		if err != nil || !kept.reuse {
			return
		}
		fresh, err := compile(src, limits, false)
		if err != nil {
			t.Fatalf("compiles only for reuse: %v", err)
		}
		ek, ef := oneRuntime(), oneRuntime()
		for i, path := range []string{"/1", "/2", "/1"} {
			req := &Request{Method: "GET", Path: path}
			got, want := ek.Run(t.Context(), Invocation{Program: kept, Limits: limits, Request: req}), ef.Run(t.Context(), Invocation{Program: fresh, Limits: limits, Request: req})
			if d := resultDiff(got, want, timedOut(got) || timedOut(want)); d != "" {
				t.Fatalf("run %d: %s", i, d)
			}
		}
	})
}

func timedOut(r *Result) bool {
	le, ok := r.Err.(*LimitError)
	return ok && le.Knob == shared.KnobTimeoutMS
}
