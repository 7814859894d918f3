package orchestrator

import (
	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// bindings builds app a's bindings from a snapshot of the store, once per
// rebuild: every run of the app shares them. This is where per-app state
// enters the execution path: the app's variables and secrets (env.NAME,
// SPEC §8), its KV namespace (env.KV, SPEC §7) and its egress policy
// (fetch, SPEC §10) are filled in here.
func (o *Orchestrator) bindings(a shared.App, data *store.Snapshot) *executor.Bindings {
	b := &executor.Bindings{
		Vars: envVars(appEnv(data.Env, a.ID)),
	}
	if o.kv != nil {
		b.KV = o.kv.ScriptKV(a.ID)
	}
	if allow := data.Egress[a.ID]; o.egress != nil && len(allow) > 0 {
		f, err := o.egress.Fetcher(a.ID, allow)
		if err != nil {
			o.log.Error("egress allowlist", "app", a.Slug, "err", err)
		} else {
			b.Fetch = f
		}
	}
	return b
}
