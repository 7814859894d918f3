package orchestrator

import (
	"sort"
	"strings"

	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// appEnv is app appID's part of a snapshot's variables, which the store
// orders by app.
func appEnv(all []store.EnvValue, appID int64) []store.EnvValue {
	lo := sort.Search(len(all), func(i int) bool { return all[i].AppID >= appID })
	hi := lo
	for hi < len(all) && all[hi].AppID == appID {
		hi++
	}
	return all[lo:hi]
}

// envVars are env.NAME of an app's runs; nil when it has none.
func envVars(env []store.EnvValue) map[string]string {
	if len(env) == 0 {
		return nil
	}
	m := make(map[string]string, len(env))
	for _, v := range env {
		m[v.Name] = v.Value
	}
	return m
}

// newRedactor replaces the value of each of an app's secrets by
// "[secret NAME]" in what its runs log (SPEC §8); nil when the app has no
// secret to hide. Longer values are tried first, so a secret that
// contains another is hidden whole.
func newRedactor(env []store.EnvValue) *strings.Replacer {
	var secrets []store.EnvValue
	for _, v := range env {
		if v.Secret && v.Value != "" {
			secrets = append(secrets, v)
		}
	}
	if len(secrets) == 0 {
		return nil
	}
	sort.SliceStable(secrets, func(i, j int) bool { return len(secrets[i].Value) > len(secrets[j].Value) })
	pairs := make([]string, 0, 2*len(secrets))
	for _, v := range secrets {
		pairs = append(pairs, v.Value, "[secret "+v.Name+"]")
	}
	return strings.NewReplacer(pairs...)
}

// redact hides the app's secrets in a log entry's output and error.
func (a *appState) redact(entry *shared.Log) {
	if a.redactor == nil {
		return
	}
	entry.Output = a.redactor.Replace(entry.Output)
	entry.Error = a.redactor.Replace(entry.Error)
}
