package cluster

import (
	"bytes"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger gives Raft an hclog.Logger writing to the node's slog logger:
// warnings and errors only (Raft is chatty at info on every election).
func newHCLogger(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:            "raft",
		Level:           hclog.Warn,
		Output:          slogWriter{l},
		DisableTime:     true,
		IncludeLocation: false,
	})
}

// slogWriter turns hclog's lines into slog records.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	line := string(bytes.TrimSpace(p))
	if bytes.Contains(p, []byte("[ERROR]")) {
		w.l.Error(line)
	} else {
		w.l.Warn(line)
	}
	return len(p), nil
}
