package e2e

import (
	"net/http"
	"testing"
)

// SPEC §2: a fresh node answers on the loopback addresses as on localhost,
// with or without the port in the Host header.
func TestFreshNodeAnswersOnLoopbackAddresses(t *testing.T) {
	e := start(t)
	for _, host := range []string{"localhost", "127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8080"} {
		if r := e.get(host, "/"); r.Status != http.StatusOK || r.String() != "Hello, World!" {
			t.Errorf("Host %s: %d %q, want 200 Hello, World!", host, r.Status, r.Body)
		}
	}
}
