package shared

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// TailFilter narrows a live tail (SPEC §11); its zero value keeps every
// entry of the app.
type TailFilter struct {
	ScriptID int64  // 0: every script
	Status   string // "ok", "error" or "" for both
	Method   string
	Search   string // substring of the path, the error or the output, in any case
}

// Tail filter statuses.
const (
	TailStatusOK    = "ok"
	TailStatusError = "error"
)

// Match reports whether the filter keeps l. A run failed when its log
// carries an error (script errors, sandbox limits, compile failures).
func (f TailFilter) Match(l Log) bool {
	switch {
	case f.ScriptID != 0 && l.ScriptID != f.ScriptID:
		return false
	case f.Status == TailStatusOK && l.Error != "", f.Status == TailStatusError && l.Error == "":
		return false
	case f.Method != "" && !strings.EqualFold(l.Method, f.Method):
		return false
	case f.Search != "":
		return containsFold(l.Path, f.Search) || containsFold(l.Error, f.Search) || containsFold(l.Output, f.Search)
	}
	return true
}

// containsFold reports whether sub is in s, ignoring case: someone
// searching a tail for "timeout" wants "Timeout" and "TIMEOUT" too.
// Lowering text that has no upper case allocates nothing.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func (f TailFilter) query() url.Values {
	q := url.Values{}
	if f.ScriptID != 0 {
		q.Set("script", strconv.FormatInt(f.ScriptID, 10))
	}
	for k, v := range map[string]string{"status": f.Status, "method": f.Method, "search": f.Search} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// TailDropped is the line a tail sends when entries were dropped for a
// reader that fell behind.
type TailDropped struct {
	Dropped int64 `json:"dropped"`
}

// TailEvent is one line of a tail: an entry, or a count of dropped ones;
// or, first of all, word that the node has opened the tail (Opened), so
// every entry recorded from then on will come.
type TailEvent struct {
	Opened  bool
	Log     *Log
	Dropped int64
}

// maxTailLine bounds one line of a tail: a log carries at most 64 KiB of
// output and of error, JSON-escaped.
const maxTailLine = 1 << 20

// Tail follows an app's execution logs live, calling fn for each line
// until ctx is done, fn returns an error, the app is deleted or the node
// stops. It returns nil when the node ended the stream and ctx's error
// when ctx ended it. The client's timeout does not apply: a tail lasts.
func (c *Client) Tail(ctx context.Context, ref string, f TailFilter, fn func(TailEvent) error) error {
	path := Path(PathTail, ref)
	req, err := c.newRequest(ctx, http.MethodGet, path, f.query(), nil, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		return responseError(resp.StatusCode, data)
	}
	if err := fn(TailEvent{Opened: true}); err != nil {
		return err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxTailLine)
	for sc.Scan() {
		ev, err := decodeTailLine(sc.Bytes())
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

func decodeTailLine(line []byte) (TailEvent, error) {
	var probe struct {
		Dropped *int64 `json:"dropped"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return TailEvent{}, fmt.Errorf("bad tail line %.80q: %w", line, err)
	}
	if probe.Dropped != nil {
		return TailEvent{Dropped: *probe.Dropped}, nil
	}
	var l Log
	if err := json.Unmarshal(line, &l); err != nil {
		return TailEvent{}, fmt.Errorf("bad tail line %.80q: %w", line, err)
	}
	return TailEvent{Log: &l}, nil
}
