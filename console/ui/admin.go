package ui

import (
	"context"

	"github.com/picloud/picloud/console/nodes"
	"github.com/picloud/picloud/shared"
)

// Admin is what the views need from a node: the shared admin client
// (*shared.Client) satisfies it. Declared here, where it is used, so each
// view's needs stay visible.
type Admin interface {
	Version(ctx context.Context) (shared.Version, error)

	ListApps(ctx context.Context) ([]shared.App, error)
	App(ctx context.Context, ref string) (shared.App, error)
	CreateApp(ctx context.Context, req shared.CreateAppRequest) (shared.App, error)
	UpdateApp(ctx context.Context, ref string, req shared.UpdateAppRequest) (shared.App, error)
	DeleteApp(ctx context.Context, ref string) error
	CheckSlug(ctx context.Context, ref, slug string) (shared.SlugCheck, error)
	SlugHistory(ctx context.Context, ref string) ([]shared.OldSlug, error)

	Domains(ctx context.Context, ref string) ([]shared.Domain, error)
	AddDomain(ctx context.Context, ref, pattern string) (shared.Domain, error)
	DeleteDomain(ctx context.Context, ref string, id int64) error

	Scripts(ctx context.Context, appRef string) ([]shared.Script, error)
	Script(ctx context.Context, id int64) (shared.Script, error)
	CreateScript(ctx context.Context, req shared.CreateScriptRequest) (shared.Script, error)
	UpdateScript(ctx context.Context, id int64, req shared.UpdateScriptRequest) (shared.Script, error)
	DeleteScript(ctx context.Context, id int64) error
	Sandbox(ctx context.Context) (shared.SandboxInfo, error)

	Routes(ctx context.Context, ref string) ([]shared.Route, error)
	CreateRoute(ctx context.Context, ref string, req shared.CreateRouteRequest) (shared.Route, error)
	DeleteRoute(ctx context.Context, ref string, id int64) error

	Logs(ctx context.Context, ref string, scriptID int64, limit int, before int64) ([]shared.Log, error)

	executor
	scheduleAdmin
	egressAdmin
	varsAdmin
	kvAdmin
	tailAdmin
	historyAdmin
	moveAdmin
	clusterAdmin
	clusterLogsAdmin
}

// executor is the one call Run needs beyond Admin.
type executor interface {
	Execute(ctx context.Context, scriptID int64, req shared.ExecuteRequest) (shared.ExecuteResponse, error)
}

// newClient returns the admin client of a node: over https pinned to the
// node id, so every call checks the node is the one paired with; over http
// (a node with admin TLS off, for development) without that check.
func newClient(scheme, address, token, nodeID string) Admin {
	base := nodes.SchemeOr(scheme) + "://" + address
	// Each call's context carries its deadline (see call), so the client
	// adds none of its own.
	if scheme == "http" {
		return shared.NewClient(base, token, shared.WithTimeout(0))
	}
	return shared.NewClient(base, token, shared.WithTimeout(0), shared.WithTLSConfig(shared.PinnedTLSConfig(nodeID)))
}
