package discovery_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared/discovery"
)

// Only argument errors here: a scan would multicast, which happens in the
// namespace tests only.
func TestDiscoverArguments(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"--help"}, 0, "Usage: picloud-node discover"},
		{[]string{"--wait", "soon"}, 2, "invalid value"},
		{[]string{"--wait", "-1s"}, 2, "Usage"},
		{[]string{"extra"}, 2, "Usage"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := discovery.Discover(context.Background(), tt.args, func(string) string { return "" }, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.inStderr) {
			t.Errorf("discover %q = %d, stderr %q; want %d with %q", tt.args, code, stderr.String(), tt.code, tt.inStderr)
		}
	}
}
