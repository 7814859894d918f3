package executor

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"time"

	"github.com/dop251/goja/parser"
)

// Regular expressions.
//
// goja runs a pattern with Go's regexp (RE2: linear time in the input) when it
// can, and falls back to github.com/dlclark/regexp2, a backtracking engine,
// for backreferences, lookahead/lookbehind and repeat counts above 1000.
// Runtime.Interrupt cannot stop native code, and goja neither sets regexp2's
// MatchTimeout nor lets a caller reach the compiled regexp2.Regexp, so a
// pattern like /^(a+)+\1$/ could hold a CPU far past timeout_ms. We therefore
// reject exactly the patterns goja would hand to regexp2: regular expression
// literals at compile time (422 validation_failed) and dynamic patterns
// (RegExp(), String.prototype.match/matchAll/search with a string) when they
// are built, with a SyntaxError the script can catch. Every pattern that runs
// is RE2, whose cost is bounded by pattern size × input size, and both are
// bounded by max_string_size.

var errBacktracking = errors.New("regular expression needs backtracking (backreference, lookahead or lookbehind), which the sandbox does not allow")

// checkRegexp returns an error if goja would compile pattern with flags to the
// backtracking engine. Invalid patterns return nil: goja reports those itself.
func checkRegexp(pattern, flags string) error {
	re2, err := toRE2(pattern, flags)
	if err != nil {
		var incompat parser.RegexpErrorIncompatible
		if errors.As(err, &incompat) {
			return errBacktracking
		}
		return nil
	}
	if _, err := regexp.Compile(re2); err != nil {
		var se *syntax.Error
		if errors.As(err, &se) && se.Code == syntax.ErrInvalidRepeatSize {
			return errors.New("regular expression repeat count above 1000 needs backtracking, which the sandbox does not allow")
		}
	}
	return nil
}

// Matching cost. RE2 runs in O(m·n) for a program of m instructions on n
// characters, but inside one native call, which Interrupt cannot stop: a
// 400-instruction pattern over 400 KB takes 13 s on a loaded core here.
// Every match goes through exec (regexp_exec.go), which first checks that
// m·n worst-case steps fit in the remaining max_operations, at
// regexpStepsPerOp steps per operation, and in the time left before the
// deadline, at regexpStepTime each; afterwards it charges the time it took,
// one operation per regexpOpTime (about what a loop iteration costs). Once
// the script is stopped, exec returns null at once, so native loops over
// many matches end quickly.
const (
	regexpStepsPerOp = 16
	regexpOpTime     = 100 * time.Nanosecond
)

// compileGoRegexp translates a JavaScript pattern to RE2 as goja does and
// compiles it, returning the program's instruction count too. nil, 0 if
// goja would not run it with RE2 (it then reports the error itself).
func compileGoRegexp(pattern, flags string) (*regexp.Regexp, int64) {
	re2, err := toRE2(pattern, flags)
	if err != nil {
		return nil, 0
	}
	re, err := regexp.Compile(re2)
	if err != nil {
		return nil, 0
	}
	parsed, err := syntax.Parse(re2, syntax.Perl)
	if err != nil {
		return re, 0
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return re, 0
	}
	return re, int64(len(prog.Inst))
}

// toRE2 translates a JavaScript pattern and its flags to RE2 syntax the way
// goja does before it picks Go's engine; goja's error says why it could not
// (parser.RegexpErrorIncompatible: the pattern needs backtracking).
func toRE2(pattern, flags string) (string, error) {
	var dotAll, unicode, ignoreCase, multiline bool
	for _, f := range flags {
		switch f {
		case 's':
			dotAll = true
		case 'u':
			unicode = true
		case 'i':
			ignoreCase = true
		case 'm':
			multiline = true
		}
	}
	re2, err := parser.TransformRegExp(pattern, dotAll, unicode)
	if err != nil {
		return "", err
	}
	prefix := ""
	if multiline {
		prefix += "m"
	}
	if dotAll {
		prefix += "s"
	}
	if ignoreCase {
		prefix += "i"
	}
	if prefix != "" {
		re2 = fmt.Sprintf("(?%s:%s)", prefix, re2)
	}
	return re2, nil
}
