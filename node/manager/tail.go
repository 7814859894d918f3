package manager

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/node/tail"
	"github.com/picloud/picloud/shared"
)

// Tailer opens live tails of apps' execution logs (the orchestrator).
type Tailer interface {
	Tail(appID int64, f tail.Filter) *tail.Tail
}

// tailWriteStall is how long one line of a tail may take to reach a
// client that stopped reading before the stream is cut. The server's
// WriteTimeout is for ordinary answers and would end every tail after
// seconds; a tail sets its own deadline before each write instead.
const tailWriteStall = time.Minute

// tailFilter reads §11's query parameters: script, status, method, search.
func tailFilter(r *http.Request) (tail.Filter, error) {
	q := r.URL.Query()
	f := tail.Filter{Status: q.Get("status"), Method: q.Get("method"), Search: q.Get("search")}
	if s := q.Get("script"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return f, shared.Validation("script", "script must be the id of a script, not %q", s)
		}
		f.ScriptID = id
	}
	if f.Status != "" && f.Status != shared.TailStatusOK && f.Status != shared.TailStatusError {
		return f, shared.Validation("status", `status must be "ok" or "error", not %q`, f.Status)
	}
	return f, nil
}

// tailLogs streams the app's execution logs as NDJSON while they are
// recorded, until the client goes, the app is deleted or the node stops.
// Once the stream has started, a failed write ends it: the answer is the
// stream, so there is no error left to send.
func (a *API) tailLogs(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	if a.tails == nil {
		return shared.Errorf(shared.CodeNotFound, "this node has no live tail")
	}
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	f, err := tailFilter(r)
	if err != nil {
		return err
	}
	t := a.tails.Tail(app.ID, f)
	defer t.Close()

	rc := http.NewResponseController(w)
	// The request is read; the server's ReadTimeout would otherwise cancel
	// the stream's context after 30 s. Servers without deadlines (tests'
	// recorders) say ErrNotSupported, which is fine.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil // the client is gone; nothing to answer
	}
	enc := json.NewEncoder(w)
	for {
		ev, ok := t.Next(r.Context())
		if !ok {
			return nil
		}
		_ = rc.SetWriteDeadline(time.Now().Add(tailWriteStall))
		if ev.Dropped > 0 {
			if err := enc.Encode(shared.TailDropped{Dropped: ev.Dropped}); err != nil {
				return nil
			}
		}
		if ev.HasLog {
			if err := enc.Encode(ev.Log); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
