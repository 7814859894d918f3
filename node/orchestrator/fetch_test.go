package orchestrator

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/node/egress"
	"github.com/picloud/picloud/node/executor"
)

// slowUpstream answers /hang once released, and / at once.
type slowUpstream struct {
	*httptest.Server
	waiting atomic.Int64
	release chan struct{}
}

func startSlowUpstream(t *testing.T) *slowUpstream {
	u := &slowUpstream{release: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			u.waiting.Add(1)
			defer u.waiting.Add(-1)
			select {
			case <-u.release:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, "upstream "+r.URL.Path)
	}))
	t.Cleanup(func() {
		select {
		case <-u.release:
		default:
			close(u.release)
		}
		u.Close()
	})
	return u
}

func withEgress(c *Config) { c.Egress = egress.New(egress.Config{}) }

// Each app fetches through its own allowlist: the listed app reaches the
// upstream, another app's script is refused, and a change of the list
// takes effect on the next request.
func TestFetchPerAppEgress(t *testing.T) {
	up := startSlowUpstream(t)
	n := newNode(t, withEgress)
	src := fmt.Sprintf(`async function handle(req) {
		try { return await (await fetch(%q)).text() } catch (e) { return e.name + ": " + e.message } }`, up.URL+"/")
	home := n.app("home", "home.test")
	other := n.app("other", "other.test")
	for _, a := range []int64{home.ID, other.ID} {
		sc := n.script(a, "proxy", src, nil)
		n.route(a, sc.ID, "GET", "/", nil)
	}
	if _, err := n.store.SetEgress(n.ctx, home.ID, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	n.rebuild()
	wantBody(t, n.get("home.test", "/"), 200, "upstream /")
	wantBody(t, n.get("other.test", "/"), 200, "TypeError: egress not allowed: 127.0.0.1")
	// The log counts the fetch, refused or not.
	for _, a := range []int64{home.ID, other.ID} {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			logs, err := n.store.Logs(n.ctx, a, 0, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(logs) == 1 {
				if logs[0].Subrequests != 1 {
					t.Fatalf("app %d: log subrequests = %d, want 1", a, logs[0].Subrequests)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("app %d: no log written", a)
			}
		}
	}

	if _, err := n.store.SetEgress(n.ctx, home.ID, []string{}); err != nil {
		t.Fatal(err)
	}
	n.rebuild()
	wantBody(t, n.get("home.test", "/"), 200, "TypeError: egress not allowed: 127.0.0.1")
}

// 200 runs awaiting a slow upstream hold no run slot: another app's hello
// world is answered while all 200 still wait, and then all 200 complete.
func TestWaitingFetchesDoNotStallOtherApps(t *testing.T) {
	const waiting = 200
	up := startSlowUpstream(t)
	n := newNode(t, withEgress)
	slow := n.app("slow", "slow.test")
	sc := n.script(slow.ID, "wait", fmt.Sprintf(`async function handle() { return (await fetch(%q)).text() }`, up.URL+"/hang"),
		map[string]int64{"timeout_ms": 30000})
	n.route(slow.ID, sc.ID, "GET", "/", nil)
	hello := n.app("hello", "hello.test")
	hs := n.script(hello.ID, "hello", `function handle() { return "Hello, World!" }`, nil)
	n.route(hello.ID, hs.ID, "GET", "/", nil)
	if _, err := n.store.SetEgress(n.ctx, slow.ID, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	n.rebuild()

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: waiting}}
	var wg sync.WaitGroup
	statuses := make(chan string, waiting)
	for i := 0; i < waiting; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, n.srv.URL+"/", nil)
			req.Host = "slow.test"
			resp, err := client.Do(req)
			if err != nil {
				statuses <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			statuses <- fmt.Sprintf("%d %s", resp.StatusCode, b)
		}()
	}
	for deadline := time.Now().Add(time.Minute); up.waiting.Load() < waiting; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d runs reached the upstream", up.waiting.Load(), waiting)
		}
	}
	var during runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&during)
	grown := int64(during.HeapInuse+during.StackInuse) - int64(before.HeapInuse+before.StackInuse)
	t.Logf("%d runs waiting on fetch: heap+stacks grew %d KB, %d KB per waiting run (client and upstream sides included)",
		waiting, grown>>10, grown/waiting>>10)

	wantBody(t, n.get("hello.test", "/"), 200, "Hello, World!")
	if w := up.waiting.Load(); w != waiting {
		t.Fatalf("%d runs were waiting when hello world answered, want %d", w, waiting)
	}
	close(up.release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != "200 upstream /hang" {
			t.Fatalf("a waiting run answered %q", s)
		}
	}
}

// A scheduled run fetches through its app's allowlist as a request's does,
// and its log counts the fetch.
func TestScheduledRunFetches(t *testing.T) {
	up := startSlowUpstream(t)
	n := newNode(t, withEgress)
	a := n.app("jobs")
	sc := n.script(a.ID, "ping", fmt.Sprintf(`async function scheduled() { console.log(await (await fetch(%q)).text()) }`, up.URL+"/"), nil)
	if _, err := n.store.SetEgress(n.ctx, a.ID, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	n.rebuild()
	l, err := n.orch.RunScheduled(n.ctx, sc.ID, executor.ScheduledEvent{Cron: "* * * * *", ScheduledTime: time.Now(), Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != 200 || l.Output != "upstream /\n" || l.Subrequests != 1 {
		t.Fatalf("status %d output %q subrequests %d error %q", l.Status, l.Output, l.Subrequests, l.Error)
	}
}
