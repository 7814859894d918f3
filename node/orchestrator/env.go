package orchestrator

import (
	"encoding/json"
	"fmt"
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

// redactor replaces the value of each of an app's secrets by "[secret
// NAME]" in what its runs log (SPEC §8): as it is, and as JSON writes it
// (console.log of an object), longer values first, so a secret that
// contains another is hidden whole.
type redactor struct {
	r       *strings.Replacer
	secrets []store.EnvValue // longest value first
}

// newRedactor returns the app's redactor, nil when it has no secret to
// hide.
func newRedactor(env []store.EnvValue) *redactor {
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
	pairs := make([]string, 0, 4*len(secrets))
	for _, v := range secrets {
		mark := "[secret " + v.Name + "]"
		pairs = append(pairs, v.Value, mark)
		seen := map[string]bool{v.Value: true}
		for _, j := range []string{jsonText(v.Value), jsJSONText(v.Value)} {
			if !seen[j] {
				seen[j] = true
				pairs = append(pairs, j, mark)
			}
		}
	}
	return &redactor{r: strings.NewReplacer(pairs...), secrets: secrets}
}

// jsonText is s as it appears inside a JSON string.
func jsonText(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSuffix(b.String(), "\n") // Encode ends the value with a newline
	return out[1 : len(out)-1]
}

// jsJSONText is s as JavaScript's JSON.stringify writes it inside a
// string (QuoteJSONString), which differs from Go's: \b and \f short,
// other controls as lower-case \u00xx, U+2028 and U+2029 raw.
func jsJSONText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// minPartial is the shortest start of a secret hidden where a text was cut
// off: shorter ones would hide ordinary text.
const minPartial = 4

// replace hides the secrets in s, and, when cut is true (s was cut off at
// a cap), a start of one left at its end.
func (r *redactor) replace(s string, cut bool) string {
	s = r.r.Replace(s)
	if !cut {
		return s
	}
	for _, v := range r.secrets {
		for n := len(v.Value) - 1; n >= minPartial; n-- {
			if strings.HasSuffix(s, v.Value[:n]) {
				return s[:len(s)-n] + "[secret " + v.Name + "]"
			}
		}
	}
	return s
}

// truncatedMark ends console output the executor cut at its cap.
const truncatedMark = "…(output truncated)\n"

// redact hides the app's secrets in a log entry's output and error.
func (a *appState) redact(entry *shared.Log) {
	r := a.redactor
	if r == nil {
		return
	}
	if out, ok := strings.CutSuffix(entry.Output, truncatedMark); ok {
		entry.Output = r.replace(out, true) + truncatedMark
	} else {
		entry.Output = r.replace(entry.Output, false)
	}
	// An error is cut at 64 KiB, message and stack each: a cut one may
	// end in the start of a secret.
	entry.Error = r.replace(entry.Error, len(entry.Error) >= 32<<10)
}
