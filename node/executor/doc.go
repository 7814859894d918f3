// Package executor runs scripts in a goja sandbox that enforces the seven
// sandbox knobs of SPEC §5 and keeps JavaScript's semantics.
//
// Entries: a run calls one of the script's top-level functions,
// handle(req, env) for routes and the execute endpoint (EntryHandle) or
// scheduled(event, env) for cron (EntryScheduled, SPEC §9); an
// Invocation names the Program, the entry, its argument and the limits,
// and Run returns a Result: the response, the console output, the
// operations used and a LimitError or ScriptError. Compile tells which
// entries a script has (Program.Has).
//
// Environment: env, the entries' second argument, holds the app's
// variables and secrets (SPEC §8), env.KV (SPEC §7) and the host objects
// of the run's Bindings; fetch reaches the network only through the app's
// egress allowlist (SPEC §10). Bindings enter a runtime at the start of a
// run and leave at its end, so no app's bindings reach another app's run
// (bindings.go). Host APIs that wait on Go (a KV commit, a response) run
// their work on goroutines and settle promises through the run's event
// loop, which waits without holding a run slot and ends at timeout_ms or
// when the request's context ends (loop.go).
//
// Compile checks the source before goja's parser sees it (size, bracket
// nesting: the parser recurses per level), parses, checks the syntax tree
// (max_expr_depth, handle present, no `with`, no backtracking regexp
// literals), instruments it and compiles it once per (script, version).
//
// How each knob is enforced:
//   - max_operations: reading %tick.t, a hidden Go-backed object, at the start
//     of every loop body and function body.
//   - max_string_size, max_array_size, max_map_size: writes to %chk check the
//     result of +, += and template literals, spread literals, and the object
//     of every index or length write right after it (instrument.go); built-ins
//     that allocate in native code are wrapped and check before allocating
//     when the arguments tell the size, after otherwise (wrap.go, one file per family: wrap_arrays.go, wrap_strings.go, ...); Array,
//     typed arrays, ArrayBuffer, RegExp, Map, Set and Proxy are replaced by
//     guards that look like the originals (guards.go). += on names that
//     provably only hold numbers skips the string check.
//   - max_call_levels: goja's SetMaxCallStackSize; handle is level 1 and
//     native built-ins in the chain count as levels.
//   - max_expr_depth: the bracket pre-scan and the syntax tree check.
//   - timeout_ms: the run checks its clock every 1,024 operations, and the
//     fence's sampler stops runs that are overdue inside native code; a
//     cancelled or expired context stops the run the same way.
//
// Every limit is delivered with Runtime.Interrupt, which try/catch/finally
// cannot intercept, and Result.Err names the knob. Regular expressions that
// would need goja's backtracking engine are refused, and each match's native
// work is bounded by max_operations and by the time left before it starts,
// at every entry point: exec, test, match, replace, split, search and the
// Symbol methods (regexp.go, regexp_exec.go). Data nested
// deeper than 1,000 levels is refused before join, JSON.stringify, flat or a
// proxy chain recurse on the Go stack. Built-ins that loop natively over
// elements (join, concat, sort, String.raw, new Set(array), map with a
// built-in callback, ...) check sizes as they go, cost operations and end
// early once the script is stopped. A node-wide heap fence stops running
// scripts when the Go heap passes Options.HeapLimit (fence.go). handle's
// return value is read field by field while the run's limits still apply,
// and nothing of it is copied to Go before its size is known to fit: the
// body within max_string_size, the headers within 64 KiB (result.go).
//
// Isolation: the script's top level runs inside a wrapper function, afresh
// for every request, so no script variable outlives a request; the global
// object and every built-in reachable from it or from syntax are frozen;
// eval and the Function constructors are gone; the hidden objects are
// parameters of the wrapper, whose names no script can write, and top-level
// `arguments` (the wrapper's) is refused at compile time. Hardened runtimes
// are pooled executor-wide and run any script: each run calls its
// program's wrapper (made once per runtime and program; no script can
// reach it), which runs the top level and then handle(req), and runs the
// promise jobs it queued before it ends, so a new script version starts
// warm and nothing of one script's run is left for the next. A script whose
// top level is only functions that are never used but as callees of plain
// calls (reusable) keeps them across its runs on a runtime instead: no
// script can tell them from fresh ones, and they cost no allocation per
// request. req holds
// only the properties the script can observe (requestUse). At most twice
// as many scripts as CPUs run at once and more runs wait in order, unless
// the running ones are slow: then up to twice as many again run beside
// them. A runtime is reused only after a clean run and thrown away after
// any limit, timeout or uncaught error, or once the keys scripts
// registered with Symbol.for (kept for the runtime's lifetime) pass a
// budget. There is no file system, network, process or timer API, and no
// BigInt: its arithmetic allocates without bound inside one native
// operation (2n ** 10n ** 9n).
//
// Semantics: the guards are plain functions, not Proxies, so instanceof,
// Array.isArray, subclassing, new.target and Symbol.species behave as in
// goja; wrapped built-ins keep their name, length, aliases and print as
// native code; the properties code commonly overrides on frozen
// prototypes (toString, constructor, name, message, valueOf, ...) are
// accessor pairs whose setter defines an own property on the receiver
// (override taming, as in SES), so F.prototype.toString = f works. The
// test262 runner (test262_test.go, make test262) holds the sandbox to
// plain goja: every divergence is a restriction listed with its reason in
// testdata/test262/sandbox-skips.txt.
//
// Known limits of the approach: assigning a property of a frozen built-in
// that is not tamed fails (silently in sloppy code, the "override
// mistake"), and so do implicit globals; a script's top level is a
// function scope, not the global one; object property counts are
// checked on computed writes, Object.assign/defineProperties and spreads,
// not on o.name = v (bounded by the source size); prototype and
// bound-function chains are bounded only by max_operations and the heap
// fence; the size estimates before join and JSON.stringify read getters one
// extra time.
package executor
