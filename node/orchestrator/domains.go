package orchestrator

import "strings"

// domainTable maps a normalised host to the app that claims it (the
// AppDomainTable of the design). An exact claim is one map lookup; wildcard
// claims are found by walking the host's parent domains from the longest to
// the shortest, one map lookup each. A lookup therefore costs O(labels of
// the host), whatever the number of claims.
type domainTable struct {
	exact map[string]int64 // "api.example.com" → app id
	wild  map[string]int64 // "example.com" for the claim "*.example.com" → app id
}

func newDomainTable() domainTable {
	return domainTable{exact: make(map[string]int64), wild: make(map[string]int64)}
}

// add records a normalised claim pattern. The store keeps patterns unique
// (shape_key), so a pattern is never claimed twice.
func (t domainTable) add(pattern string, appID int64) {
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		t.wild[suffix] = appID
		return
	}
	t.exact[pattern] = appID
}

// match returns the app claiming a normalised host: an exact claim beats
// every wildcard, and among wildcards the longest suffix wins. A wildcard
// "*.example.com" covers hosts at any depth below example.com but not
// example.com itself: only the parts of host after a dot are tried.
func (t domainTable) match(host string) (appID int64, ok bool) {
	if id, ok := t.exact[host]; ok {
		return id, true
	}
	if len(t.wild) == 0 {
		return 0, false
	}
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			if id, ok := t.wild[host[i+1:]]; ok {
				return id, true
			}
		}
	}
	return 0, false
}
