package orchestrator

import "testing"

func TestExecutePath(t *testing.T) {
	tests := []struct {
		path string
		id   int64
		want string
	}{
		{"/api/v1/execute/12", 12, "/"},
		{"/api/v1/execute/12/", 12, "/"},
		{"/api/v1/execute/12/a/b", 12, "/a/b"},
		{"/api/v1/execute/123", 12, "/api/v1/execute/123"}, // another id: not our prefix
		{"/already/stripped", 12, "/already/stripped"},
		{"", 12, "/"},
	}
	for _, tt := range tests {
		if got := executePath(tt.path, tt.id); got != tt.want {
			t.Errorf("executePath(%q, %d) = %q, want %q", tt.path, tt.id, got, tt.want)
		}
	}
}
