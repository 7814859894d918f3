package shared

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Paths of the node's HTTP API (SPEC §3) as patterns, for the manager's
// router and the client alike: a segment starting with ':' is a parameter,
// filled in by Path. A new endpoint adds its line here.
const (
	PathHealth  = "/healthz"
	PathVersion = "/version"

	PathApps = "/api/v1/admin/apps"
	PathApp  = PathApps + "/:app"
	// The literal segment "slug:check"; httprouter reads ":check" in it as
	// a parameter, which the manager checks.
	PathSlugCheck = PathApp + "/slug:check"
	PathExport    = PathApp + "/export"
	// PathSlugHistory lists the app's old slugs, each redirecting to it.
	PathSlugHistory = PathApp + "/slugs"
	// POST PathImport creates an app from an export (SPEC §11).
	PathImport = PathApps + ":import"

	PathDomains = PathApp + "/domains"
	PathDomain  = PathDomains + "/:id"

	PathScripts  = "/api/v1/admin/scripts"
	PathScript   = PathScripts + "/:id"
	PathVersions = PathScript + "/versions"
	PathRollback = PathScript + "/rollback"
	PathSandbox  = "/api/v1/admin/sandbox"

	PathRoutes = PathApp + "/routes"
	PathRoute  = PathRoutes + "/:id"

	PathEgress = PathApp + "/egress"

	PathSchedules   = PathApp + "/schedules"
	PathSchedule    = PathSchedules + "/:id"
	PathScheduleRun = PathSchedule + "/run"

	PathEnv    = PathApp + "/env"
	PathEnvVar = PathEnv + "/:name"

	// A key is the rest of the path, escaped as one segment (a "/" in
	// it as %2F): the router's catch-all, built by KVKeyPath.
	PathKV    = PathApp + "/kv"
	PathKVKey = PathKV + "/*key"

	PathResolve = "/api/v1/admin/resolve"
	PathLogs    = PathApp + "/logs"
	PathTail    = PathApp + "/tail"

	// PathExecute starts every execute URL: PathExecute + "{id}[/path]",
	// for any method.
	PathExecute = "/api/v1/execute/"
)

// Path fills pattern's parameters with args in order, each escaped as one
// path segment: Path(PathDomain, "shop", int64(7)) is
// "/api/v1/admin/apps/shop/domains/7". args are strings or int64 ids; a
// count or type that does not fit the pattern is a programming error and
// panics.
func Path(pattern string, args ...any) string {
	segs := strings.Split(pattern, "/")
	n := 0
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			continue
		}
		if n == len(args) {
			panic(fmt.Sprintf("shared.Path(%q): %d arguments, want more", pattern, len(args)))
		}
		switch v := args[n].(type) {
		case string:
			segs[i] = url.PathEscape(v)
		case int64:
			segs[i] = strconv.FormatInt(v, 10)
		default:
			panic(fmt.Sprintf("shared.Path(%q): argument %d is %T, want string or int64", pattern, n, v))
		}
		n++
	}
	if n != len(args) {
		panic(fmt.Sprintf("shared.Path(%q): %d arguments, want %d", pattern, len(args), n))
	}
	return strings.Join(segs, "/")
}
