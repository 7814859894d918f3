package executor

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// The test262 runner runs each test of tc39/test262 twice per mode
// (sloppy and strict, as the test's flags allow): in plain goja, as goja's
// own runner does, and as a PiCloud script through Compile and Run. A test
// both pass or both fail is no concern of the sandbox; one plain goja
// passes and the sandbox fails is a divergence, which must be a design
// restriction listed in testdata/test262/sandbox-skips.txt (with its
// reason) or it fails the test. By default it runs the slice vendored in
// testdata/test262 (see its ORIGIN); make test262 runs the whole suite.
var (
	flagT262Dir    = flag.String("test262.dir", "testdata/test262", "a tc39/test262 tree (harness/ and test/)")
	flagT262Only   = flag.String("test262.only", "test", "run the tests under this path of the tree only")
	flagT262Sample = flag.Int("test262.sample", 1, "run every Nth test only")
	flagT262Report = flag.String("test262.report", "", "write the per-directory report and the divergences to this file")
	flagT262List   = flag.String("test262.list", "", "run only the tests named in this file (one path a line, as the report names them)")
)

// t262Limits are the sandbox's limits for a test: generous, since the
// runner measures semantics; a test that hits one is a divergence of its
// own cause ("limits").
func t262Limits() shared.Limits {
	l := shared.BuiltinCeiling()
	l.MaxOperations = 50_000_000
	l.TimeoutMS = 10_000
	return l
}

func TestTest262(t *testing.T) {
	root := *flagT262Dir
	if _, err := os.Stat(filepath.Join(root, "harness", "assert.js")); err != nil {
		t.Fatalf("no test262 tree at %s: %v", root, err)
	}
	skips, err := loadT262Skips("testdata/test262/goja-skips.txt")
	if err != nil {
		t.Fatal(err)
	}
	restrictions, err := loadT262Restrictions("testdata/test262/sandbox-skips.txt")
	if err != nil {
		t.Fatal(err)
	}
	r := &t262Runner{root: root, e: New(Options{}), harness: map[string]string{}}
	var files []string
	err = filepath.WalkDir(filepath.Join(root, *flagT262Only), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") && !strings.Contains(p, "_FIXTURE") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if *flagT262List != "" {
		if files, err = t262Listed(root, files, *flagT262List); err != nil {
			t.Fatal(err)
		}
	}
	rep := newT262Report()
	for i, p := range files {
		if i%*flagT262Sample != 0 {
			continue
		}
		name := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := parseT262Meta(string(src))
		if err != nil {
			continue // not a test (a helper file)
		}
		if !t262InGojaSet(name) {
			continue
		}
		if why := skips.skip(name, m); why != "" {
			rep.skipped++
			continue
		}
		if strings.Contains(string(src), "$262") || r.includesMention(m, "$262") {
			rep.skipped++ // host hooks (realms, detaching, agents): neither side has them
			continue
		}
		for _, strict := range t262Modes(m) {
			plain := r.runPlain(name, string(src), m, strict)
			sandbox := r.runSandbox(string(src), m, strict)
			rep.add(name, strict, plain, sandbox, restrictions.cause(name, m, string(src), sandbox))
		}
	}
	rep.log(t)
	if *flagT262Report != "" {
		if err := os.WriteFile(*flagT262Report, []byte(rep.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range rep.unexplained {
		t.Errorf("divergence: %s", d)
	}
}

// t262Listed keeps the files the list names (test/... paths).
func t262Listed(root string, files []string, list string) ([]string, error) {
	b, err := os.ReadFile(list)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, l := range strings.Fields(string(b)) {
		want[l] = true
	}
	var kept []string
	for _, p := range files {
		if want[filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))] {
			kept = append(kept, p)
		}
	}
	return kept, nil
}

// t262InGojaSet reports whether goja's runner runs the directory of test
// name (tc39_test.go, TestTC39): language, built-ins and a few of annexB.
func t262InGojaSet(name string) bool {
	for _, p := range []string{"test/language/", "test/built-ins/", "test/annexB/built-ins/String/prototype/substr/",
		"test/annexB/built-ins/String/prototype/trimLeft/", "test/annexB/built-ins/String/prototype/trimRight/",
		"test/annexB/built-ins/escape/", "test/annexB/built-ins/unescape/", "test/annexB/built-ins/RegExp/"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// t262Modes are the modes a test runs in (INTERPRETING.md): raw and
// noStrict tests sloppy only, onlyStrict strict only, others both.
func t262Modes(m *t262Meta) []bool {
	switch {
	case m.hasFlag("raw"), m.hasFlag("noStrict"):
		return []bool{false}
	case m.hasFlag("onlyStrict"):
		return []bool{true}
	}
	return []bool{false, true}
}

type t262Runner struct {
	root    string
	e       *Executor
	harness map[string]string
}

func (r *t262Runner) include(name string) string {
	if s, ok := r.harness[name]; ok {
		return s
	}
	b, err := os.ReadFile(filepath.Join(r.root, "harness", name))
	if err != nil {
		panic(fmt.Sprintf("harness %s: %v", name, err))
	}
	r.harness[name] = string(b)
	return string(b)
}

func (r *t262Runner) includesMention(m *t262Meta, s string) bool {
	for _, inc := range m.Includes {
		if strings.Contains(r.include(inc), s) {
			return true
		}
	}
	return false
}

// source is the script a test runs as: the harness, its includes, the
// test, with "use strict" first in strict mode.
func (r *t262Runner) source(src string, m *t262Meta, strict bool) string {
	if m.hasFlag("raw") {
		return src
	}
	var b strings.Builder
	if strict {
		b.WriteString("'use strict';\n")
	}
	incs := []string{"assert.js", "sta.js"}
	if m.hasFlag("async") {
		incs = append(incs, "doneprintHandle.js")
	}
	for _, inc := range append(incs, m.Includes...) {
		b.WriteString(r.include(inc))
		b.WriteByte('\n')
	}
	b.WriteString(src)
	return b.String()
}

// A t262Outcome is nil when the test passed, else why it failed.
type t262Outcome error

func (r *t262Runner) runPlain(name, src string, m *t262Meta, strict bool) (out t262Outcome) {
	defer func() {
		if x := recover(); x != nil { // goja's own bugs (BigInt shifts) panic
			out = fmt.Errorf("plain goja panicked: %v", x)
		}
	}()
	rt := goja.New()
	var printed strings.Builder
	_ = rt.Set("print", func(s string) { printed.WriteString(s + "\n") })
	timer := time.AfterFunc(10*time.Second, func() { rt.Interrupt("timeout") })
	defer timer.Stop()
	prg, err := goja.Compile(name, r.source(src, m, strict), false)
	if err != nil {
		return expectNegative(m, "parse", errorName(err), err)
	}
	_, err = rt.RunProgram(prg)
	if err != nil {
		return expectNegative(m, "runtime", thrownName(err), err)
	}
	return expectCompletion(m, printed.String())
}

func (r *t262Runner) runSandbox(src string, m *t262Meta, strict bool) t262Outcome {
	// print is the host's, for $DONE (doneprintHandle.js).
	full := r.source(src, m, strict) + "\n;function print(s) { console.log(String(s)) }\nfunction handle() { return 'ok' }\n"
	l := t262Limits()
	p, err := r.e.Compile(0, 0, full, l)
	if err != nil {
		name := "SyntaxError"
		if se, ok := shared.AsError(err); ok && se.Code != shared.CodeScriptSyntax {
			name = "refused"
		}
		return expectNegative(m, "parse", name, err)
	}
	res := r.e.Run(context.Background(), Invocation{Program: p, Limits: l, Request: &Request{Method: "GET", Path: "/"}})
	if res.Err != nil {
		var se *ScriptError
		name := ""
		if errors.As(res.Err, &se) {
			name, _, _ = strings.Cut(se.Message, ":")
		}
		return expectNegative(m, "runtime", name, res.Err)
	}
	return expectCompletion(m, res.Output)
}

// expectNegative judges an error in phase: a pass if the test expects an
// error of that name there.
func expectNegative(m *t262Meta, phase, name string, err error) t262Outcome {
	if m.NegativeType == "" {
		return err
	}
	want := m.NegativePhase
	if want == "resolution" {
		want = "parse"
	}
	if want == phase && name == m.NegativeType {
		return nil
	}
	return fmt.Errorf("want %s %s, got %s: %w", m.NegativePhase, m.NegativeType, name, err)
}

func expectCompletion(m *t262Meta, out string) t262Outcome {
	if m.NegativeType != "" {
		return fmt.Errorf("want %s %s, ran to the end", m.NegativePhase, m.NegativeType)
	}
	if m.hasFlag("async") && !strings.Contains(out, "Test262:AsyncTestComplete") {
		return fmt.Errorf("async test did not complete: %q", strings.TrimSpace(out))
	}
	return nil
}

func errorName(err error) string {
	var ce *goja.CompilerSyntaxError
	if errors.As(err, &ce) {
		return "SyntaxError"
	}
	var re *goja.CompilerReferenceError
	if errors.As(err, &re) {
		return "ReferenceError"
	}
	return "SyntaxError"
}

func thrownName(err error) string {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		if o, ok := ex.Value().(*goja.Object); ok {
			if c, ok := o.Get("constructor").(*goja.Object); ok {
				return c.Get("name").String()
			}
		}
	}
	return ""
}

// t262Restrictions explain divergences by the sandbox's documented design
// restrictions (testdata/test262/sandbox-skips.txt): each line is
// "kind value | reason", kind one of feature (the test's features),
// source (text in the test), error (text in the sandbox's error), prefix
// and file (test paths).
type t262Restrictions struct {
	rules []t262Rule
}

type t262Rule struct {
	kind, value, reason string
	re                  *regexp.Regexp // kind sourcere
}

func loadT262Restrictions(path string) (*t262Restrictions, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rs := &t262Restrictions{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// The reason follows the last " | ": a sourcere value may hold "|".
		cut := strings.LastIndex(line, " | ")
		ok := cut >= 0
		rule, reason := line, ""
		if ok {
			rule, reason = line[:cut], line[cut+3:]
		}
		kind, value, ok2 := strings.Cut(strings.TrimSpace(rule), " ")
		if !ok || !ok2 {
			return nil, fmt.Errorf("%s:%d: want \"kind value | reason\"", path, i+1)
		}
		r := t262Rule{kind: kind, value: strings.TrimSpace(value), reason: strings.TrimSpace(reason)}
		if kind == "sourcere" {
			if r.re, err = regexp.Compile(r.value); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
			}
		}
		rs.rules = append(rs.rules, r)
	}
	return rs, nil
}

// cause is the reason of the first rule that explains the sandbox's
// outcome of test name, or "".
func (rs *t262Restrictions) cause(name string, m *t262Meta, src string, out t262Outcome) string {
	if out == nil || strings.Contains(out.Error(), "internal error") {
		return "" // a Go panic is never a design restriction
	}
	for _, r := range rs.rules {
		var hit bool
		switch r.kind {
		case "feature":
			for _, f := range m.Features {
				hit = hit || f == r.value
			}
		case "source":
			hit = strings.Contains(src, r.value)
		case "sourcere":
			hit = r.re.MatchString(src)
		case "undeclared":
			hit = undeclaredName(out.Error(), src, r.value)
		case "error":
			hit = strings.Contains(out.Error(), r.value)
		case "prefix":
			hit = strings.HasPrefix(name, r.value)
		case "file":
			hit = name == r.value
		}
		if hit {
			return r.reason
		}
	}
	return ""
}

// undeclaredName reports whether msg is the ReferenceError of reading or
// assigning a name that src never declares (with var, let, const,
// function or class) and, when only is set, the name is only.
func undeclaredName(msg, src, only string) bool {
	m := undeclaredRe.FindStringSubmatch(msg)
	if m == nil || (only != "*" && m[1] != only) {
		return false
	}
	decl := regexp.MustCompile(`\b(var|let|const|function\*?|class)\s+` + regexp.QuoteMeta(m[1]) + `\b`)
	return !decl.MatchString(src)
}

var undeclaredRe = regexp.MustCompile(`ReferenceError: ([\pL\pN_$]+) is not defined`)

type t262Dir struct {
	runs, bothPass, plainOnly, sandboxOnly, bothFail int
	causes                                           map[string]int
}

type t262Report struct {
	skipped     int
	dirs        map[string]*t262Dir
	unexplained []string
	lines       []string // every divergence, for the report file
}

func newT262Report() *t262Report { return &t262Report{dirs: map[string]*t262Dir{}} }

// t262Group is the report's directory of a test: test/built-ins/Array/x
// is built-ins/Array, test/language/expressions/x language/expressions.
func t262Group(name string) string {
	parts := strings.SplitN(strings.TrimPrefix(name, "test/"), "/", 3)
	if len(parts) >= 2 {
		return parts[0] + "/" + parts[1]
	}
	return parts[0]
}

func (rep *t262Report) add(name string, strict bool, plain, sandbox t262Outcome, cause string) {
	g := t262Group(name)
	d := rep.dirs[g]
	if d == nil {
		d = &t262Dir{causes: map[string]int{}}
		rep.dirs[g] = d
	}
	d.runs++
	switch {
	case plain == nil && sandbox == nil:
		d.bothPass++
	case plain != nil && sandbox != nil:
		d.bothFail++
	case plain != nil:
		d.sandboxOnly++
	default:
		d.plainOnly++
		mode := "sloppy"
		if strict {
			mode = "strict"
		}
		why := cause
		if why == "" {
			why = "UNEXPLAINED"
		}
		d.causes[why]++
		msg := sandbox.Error()
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		line := fmt.Sprintf("%s (%s) [%s]: %s", name, mode, why, msg)
		rep.lines = append(rep.lines, line)
		if cause == "" {
			rep.unexplained = append(rep.unexplained, line)
		}
	}
}

func (rep *t262Report) String() string {
	var b strings.Builder
	groups := make([]string, 0, len(rep.dirs))
	for g := range rep.dirs {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var total t262Dir
	fmt.Fprintf(&b, "%-34s %6s %6s %6s %6s %6s  %s\n", "directory", "runs", "both", "plain", "sbox", "fail", "divergences by cause")
	for _, g := range groups {
		d := rep.dirs[g]
		total.runs += d.runs
		total.bothPass += d.bothPass
		total.plainOnly += d.plainOnly
		total.sandboxOnly += d.sandboxOnly
		total.bothFail += d.bothFail
		fmt.Fprintf(&b, "%-34s %6d %6d %6d %6d %6d  %s\n", g, d.runs, d.bothPass, d.plainOnly, d.sandboxOnly, d.bothFail, causeList(d.causes))
	}
	fmt.Fprintf(&b, "%-34s %6d %6d %6d %6d %6d\n", "total", total.runs, total.bothPass, total.plainOnly, total.sandboxOnly, total.bothFail)
	plainPass := total.bothPass + total.plainOnly
	sbPass := total.bothPass + total.sandboxOnly
	if total.runs > 0 {
		fmt.Fprintf(&b, "pass rate: plain goja %d/%d (%.1f%%), sandbox %d/%d (%.1f%%); %d tests skipped as goja's runner skips them or for host hooks\n",
			plainPass, total.runs, 100*float64(plainPass)/float64(total.runs), sbPass, total.runs, 100*float64(sbPass)/float64(total.runs), rep.skipped)
	}
	fmt.Fprintf(&b, "columns: both pass, plain goja only (divergences), sandbox only, both fail\n\n")
	for _, l := range rep.lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func causeList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func (rep *t262Report) log(t *testing.T) {
	s := rep.String()
	if i := strings.Index(s, "\n\n"); i >= 0 {
		s = s[:i]
	}
	t.Log("\n" + s)
}
