package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

// follow runs a tail in the background; its events arrive on the channel,
// which is closed when the tail returns (its error on done).
type follow struct {
	events chan shared.TailEvent
	done   chan error
	cancel context.CancelFunc
}

func (e *env) follow(app string, f shared.TailFilter) *follow {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	fl := &follow{events: make(chan shared.TailEvent, 10000), done: make(chan error, 1), cancel: cancel}
	opened := make(chan struct{})
	go func() {
		defer close(fl.events)
		fl.done <- e.c.Tail(ctx, app, f, func(ev shared.TailEvent) error {
			if ev.Opened {
				close(opened)
			} else {
				fl.events <- ev
			}
			return nil
		})
	}()
	e.t.Cleanup(cancel)
	select {
	case <-opened:
	case err := <-fl.done:
		e.t.Fatalf("tail of %s: %v", app, err)
	}
	return fl
}

// paths reads n entries' paths (and the drops reported) within d.
func (fl *follow) paths(t *testing.T, n int, d time.Duration) (paths []string, dropped int64) {
	t.Helper()
	timeout := time.After(d)
	for len(paths) < n {
		select {
		case ev, ok := <-fl.events:
			if !ok {
				t.Fatalf("tail ended after %q: %v", paths, <-fl.done)
			}
			dropped += ev.Dropped
			if ev.Log != nil {
				paths = append(paths, ev.Log.Path)
			}
		case <-timeout:
			t.Fatalf("after %v the tail had %q, want %d entries", d, paths, n)
		}
	}
	return paths, dropped
}

// quiet checks the tail gets nothing more for a moment.
func (fl *follow) quiet(t *testing.T) {
	t.Helper()
	select {
	case ev := <-fl.events:
		t.Errorf("unexpected tail event %+v", ev)
	case <-time.After(200 * time.Millisecond):
	}
}

const tailScript = `function handle(req) {
	console.log("seen " + req.path);
	if (req.path.startsWith("/fail")) throw new Error("failing on purpose");
	return "ok";
}`

func tailFixture(t *testing.T, e *env) shared.Script {
	e.createApp("Watch", "watch")
	e.claim("watch", "watch.test")
	sc := e.script("watch", "api", tailScript, nil)
	e.route("watch", sc.ID, "ANY", "/*path", "")
	return sc
}

func TestTailFollowsWithFilters(t *testing.T) {
	e := start(t)
	sc := tailFixture(t, e)
	e.claim("watch", "other.test")
	other := e.script("watch", "other", `function handle() { return "other"; }`, nil)
	e.route("watch", other.ID, "GET", "/*path", "other.test")

	all := e.follow("watch", shared.TailFilter{})
	errs := e.follow("watch", shared.TailFilter{Status: "error"})
	oks := e.follow("watch", shared.TailFilter{Status: "ok", ScriptID: sc.ID})
	posts := e.follow("watch", shared.TailFilter{Method: "POST"})
	search := e.follow("watch", shared.TailFilter{Search: "Seen /B"}) // in the output only, in another case

	e.get("watch.test", "/a")
	e.get("watch.test", "/fail/1")
	e.data(request{Method: http.MethodPost, Host: "watch.test", Path: "/b"})
	e.get("other.test", "/other")

	if got, _ := all.paths(t, 4, 5*time.Second); strings.Join(got, " ") != "/a /fail/1 /b /other" {
		t.Errorf("unfiltered tail = %q", got)
	}
	for name, tc := range map[string]struct {
		fl   *follow
		want string
	}{
		"status=error":     {errs, "/fail/1"},
		"status=ok&script": {oks, "/a /b"},
		"method=POST":      {posts, "/b"},
		"search":           {search, "/b"},
	} {
		t.Run(name, func(t *testing.T) {
			want := strings.Fields(tc.want)
			if got, _ := tc.fl.paths(t, len(want), 5*time.Second); strings.Join(got, " ") != tc.want {
				t.Errorf("tail = %q, want %q", got, tc.want)
			}
			tc.fl.quiet(t)
		})
	}

	t.Run("an entry is the Log as recorded", func(t *testing.T) {
		e.get("watch.test", "/fail/2")
		var ev shared.TailEvent
		select {
		case ev = <-errs.events:
		case <-time.After(5 * time.Second):
			t.Fatal("no entry")
		}
		l := ev.Log
		if l == nil || l.ScriptID != sc.ID || l.Status != 500 || l.Method != "GET" || l.Host != "watch.test" ||
			!strings.Contains(l.Error, "failing on purpose") || l.Output != "seen /fail/2\n" || l.StartedAt.IsZero() {
			t.Errorf("entry = %+v", l)
		}
	})

	t.Run("bad filters are 422 naming the parameter", func(t *testing.T) {
		for q, field := range map[string]string{"status=maybe": "status", "script=x": "script", "script=-1": "script"} {
			r := e.admin(request{Path: "/api/v1/admin/apps/watch/tail?" + q})
			var env struct{ Error map[string]any }
			json.Unmarshal(r.Body, &env)
			if r.Status != http.StatusUnprocessableEntity || env.Error["field"] != field {
				t.Errorf("?%s = %d %s, want 422 on %s", q, r.Status, r.Body, field)
			}
		}
		if r := e.admin(request{Path: "/api/v1/admin/apps/nope/tail"}); r.Status != http.StatusNotFound {
			t.Errorf("tail of an unknown app = %d", r.Status)
		}
	})
}

// rawTail opens a tail over a plain TCP connection and never reads from
// it, as a stuck client would.
func rawTail(t *testing.T, e *env, app string) net.Conn {
	t.Helper()
	u, _ := url.Parse(e.n.AdminURL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /api/v1/admin/apps/%s/tail HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", app, u.Host, e.n.Token)
	return conn
}

func TestTailStuckClientDropsAndNeverSlowsTheDataPlane(t *testing.T) {
	e := start(t)
	tailFixture(t, e)
	stuck := rawTail(t, e, "watch")
	reading := e.follow("watch", shared.TailFilter{})

	// Far more than the tail's buffer and the socket buffers hold: the
	// stuck tail's handler is blocked in a write long before the end.
	const n = 3000
	big := strings.Repeat("x", 4000) // in the path and the output: 8 KB an entry
	for i := range n {
		if r := e.get("watch.test", fmt.Sprintf("/r%d/%s", i, big)); r.Status != http.StatusOK {
			t.Fatalf("request %d = %d", i, r.Status)
		}
	}
	// The log writer was not held up either: the last run is in the
	// database (the logs endpoint waits for what was recorded before it).
	if logs, err := e.c.Logs(e.ctx, "watch", 0, 1, 0); err != nil || len(logs) != 1 || logs[0].Path != fmt.Sprintf("/r%d/%s", n-1, big) {
		t.Errorf("newest stored log: %d logs, %v", len(logs), err)
	}
	// A reader that keeps up gets every entry, in order, nothing dropped.
	got, dropped := reading.paths(t, n, 30*time.Second)
	if dropped != 0 || got[0] != "/r0/"+big || got[n-1] != fmt.Sprintf("/r%d/%s", n-1, big) {
		t.Errorf("reading tail: %d entries, %d dropped, first %.8q last %.8q", len(got), dropped, got[0], got[n-1])
	}
	// The stuck one, once it reads, learns how many it lost.
	br := bufio.NewReaderSize(stuck, 1<<20)
	stuck.SetReadDeadline(time.Now().Add(20 * time.Second))
	var sawDropped int64
	var entries int
	for sawDropped == 0 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stuck tail after %d entries: %v", entries, err)
		}
		if strings.HasPrefix(line, `{"dropped":`) {
			var d shared.TailDropped
			json.Unmarshal([]byte(line), &d)
			sawDropped = d.Dropped
		} else if strings.HasPrefix(line, `{"id"`) {
			entries++
		}
	}
	if sawDropped <= 0 || int64(entries)+sawDropped > n {
		t.Errorf("stuck tail: %d entries then dropped %d of %d", entries, sawDropped, n)
	}
}

func TestTailEndsWithItsAppAndTheNode(t *testing.T) {
	// A ceiling of 100 ms makes the admin server's WriteTimeout 10.1 s: an
	// idle tail outlives it.
	n := nodetest.Start(t, func(c *server.Config) { c.Ceiling.TimeoutMS = 100 })
	e := wrap(t, n)
	tailFixture(t, e)
	e.createApp("Keep", "keep")
	keep := e.follow("keep", shared.TailFilter{})
	gone := e.follow("watch", shared.TailFilter{})

	t.Run("an idle tail outlives the server's write timeout", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits 11 s")
		}
		time.Sleep(11 * time.Second)
		e.get("watch.test", "/late")
		if got, _ := gone.paths(t, 1, 5*time.Second); got[0] != "/late" {
			t.Errorf("after idling: %q", got)
		}
	})
	t.Run("app deletion", func(t *testing.T) {
		if err := e.c.DeleteApp(e.ctx, "watch"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-gone.done:
			if err != nil {
				t.Errorf("tail of a deleted app ended with %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the tail of a deleted app goes on")
		}
	})
	t.Run("node stop", func(t *testing.T) {
		start := time.Now()
		n.Stop(t)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("stopping with a tail open took %v", d)
		}
		select {
		case <-keep.done:
		case <-time.After(5 * time.Second):
			t.Fatal("a tail goes on after the node stopped")
		}
	})
}

func TestTailClientDisconnectReleasesIt(t *testing.T) {
	e := start(t)
	tailFixture(t, e)
	a := e.follow("watch", shared.TailFilter{})
	b := e.follow("watch", shared.TailFilter{})
	stuck := rawTail(t, e, "watch")
	waitTails := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); e.n.OpenTails() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%d tails open, want %d", e.n.OpenTails(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitTails(3)
	a.cancel()
	if err := <-a.done; err == nil {
		t.Error("a tail the client cancelled returned nil, want its context's error")
	}
	stuck.Close() // gone without a word, before any entry
	waitTails(1)
	e.get("watch.test", "/after")
	if got, _ := b.paths(t, 1, 5*time.Second); got[0] != "/after" {
		t.Errorf("the remaining tail got %q", got)
	}
}
