package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// kvCrashScript puts or deletes a key and answers "ok" once the promise
// resolved: then the write is durable.
const kvCrashScript = `async function handle(req, env) {
  if (req.query.op === "del") await env.KV.delete(req.query.key);
  else await env.KV.put(req.query.key, req.query.value);
  return "ok";
}`

// TestCrashKeepsAcknowledgedKV runs rounds of a storm of KV puts and
// deletes through the data plane, kill -9 in the middle of it, PRAGMA
// integrity_check, a recount of the app's usage against kv_usage, and a
// restart after which every acknowledged put and delete is there.
func TestCrashKeepsAcknowledgedKV(t *testing.T) {
	bin := buildNode(t)
	ctx := context.Background()
	node, err := StartNode(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { node.Kill() }()
	a := node.Admin
	if err := a.Do(ctx, http.MethodPost, shared.PathApps, shared.CreateAppRequest{Name: "KV", Slug: "kv"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Do(ctx, http.MethodPost, shared.Path(shared.PathDomains, "kv"), shared.CreateDomainRequest{Pattern: kvHost}, nil); err != nil {
		t.Fatal(err)
	}
	var sc shared.Script
	if err := a.Do(ctx, http.MethodPost, shared.PathScripts, shared.CreateScriptRequest{AppID: "kv", Name: "w", Source: kvCrashScript}, &sc); err != nil {
		t.Fatal(err)
	}
	if err := a.Do(ctx, http.MethodPost, shared.Path(shared.PathRoutes, "kv"), shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/w"}, nil); err != nil {
		t.Fatal(err)
	}
	present := map[string]string{} // acknowledged puts not deleted since
	deleted := map[string]bool{}
	inFlight := map[string]bool{} // deletes sent, not acknowledged
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17))
	for round := range *crashRounds {
		killAfter := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
		acks := kvStorm(node, round, killAfter, func(op, key, value string) {
			mu.Lock()
			defer mu.Unlock()
			if op == "del" {
				delete(present, key)
				delete(inFlight, key)
				deleted[key] = true
			} else {
				present[key] = value
				delete(deleted, key)
				if prev, ok := deleteAfter(key); ok {
					inFlight[prev] = true
				}
			}
		})
		if acks == 0 {
			t.Fatalf("round %d: no KV write acknowledged before the kill:\n%s", round, node.Output())
		}
		if err := IntegrityCheck(ctx, node.DBPath()); err != nil {
			t.Fatalf("round %d, after kill -9: %v", round, err)
		}
		if err := kvRecount(ctx, node.DBPath()); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if node, err = node.Restart(ctx); err != nil {
			t.Fatalf("round %d: restart after kill -9: %v", round, err)
		}
		c := shared.NewClient("http://"+node.AdminAddr, BenchToken)
		lost := 0
		for key, value := range present {
			if inFlight[key] {
				continue
			}
			if v, err := c.KVGet(ctx, "kv", key); err != nil || string(v.Value) != value {
				if lost++; lost <= 5 {
					t.Errorf("round %d: acknowledged put %s = %q: %q, %v", round, key, value, v.Value, err)
				}
			}
		}
		for key := range deleted {
			if _, err := c.KVGet(ctx, "kv", key); !shared.IsCode(err, shared.CodeNotFound) {
				t.Errorf("round %d: acknowledged delete of %s undone: %v", round, key, err)
			}
		}
		t.Logf("round %d: killed %v into the storm; %d KV writes acknowledged, %d keys checked present, %d absent",
			round, killAfter, acks, len(present), len(deleted))
		if t.Failed() {
			t.FailNow()
		}
	}
	if err := node.Stop(30 * time.Second); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}

// kvStorm sends puts and deletes from 8 goroutines, each on keys of its
// own in order (every third put's key deleted again), and kills the node
// killAfter after the first acknowledgement. ack records each write the
// node answered "ok".
func kvStorm(node *Node, round int, killAfter time.Duration, ack func(op, key, value string)) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	first := make(chan struct{})
	var once sync.Once
	c := &http.Client{Timeout: 10 * time.Second}
	send := func(op, key, value string) bool {
		q := url.Values{"op": {op}, "key": {key}, "value": {value}}
		status, body, err := Get(ctx, c, "http://"+node.Addr+"/w?"+q.Encode(), kvHost)
		if err != nil || status != 200 || string(body) != "ok" {
			return false
		}
		ack(op, key, value)
		mu.Lock()
		n++
		mu.Unlock()
		once.Do(func() { close(first) })
		return true
	}
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("r%d-g%d-%06d", round, g, i)
				if !send("put", key, fmt.Sprint("v", i)) {
					continue
				}
				if i%3 == 2 {
					send("del", fmt.Sprintf("r%d-g%d-%06d", round, g, i-1), "")
				}
			}
		})
	}
	select {
	case <-first:
	case <-time.After(30 * time.Second):
	}
	time.Sleep(killAfter)
	node.Kill()
	cancel()
	wg.Wait()
	return n
}

// kvRecount checks that kv_usage equals a recount of the entries, app by
// app, on the file a crash left.
func kvRecount(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	var bad int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM (
		SELECT app_id, count(*) AS keys, sum(length(CAST(key AS BLOB)) + length(value) + ifnull(length(CAST(metadata AS BLOB)), 0)) AS bytes
		FROM kv_entries GROUP BY app_id) e
		FULL JOIN kv_usage u USING (app_id)
		WHERE ifnull(e.keys, 0) != ifnull(u.keys, 0) OR ifnull(e.bytes, 0) != ifnull(u.bytes, 0)`).Scan(&bad)
	if err != nil {
		return fmt.Errorf("recount KV usage: %w", err)
	}
	if bad != 0 {
		return fmt.Errorf("KV usage of %d apps differs from a recount", bad)
	}
	return nil
}

// deleteAfter names the key whose delete the storm sends once key's put
// is acknowledged (every third put deletes the key before it): until that
// delete is acknowledged too, it may or may not have committed when the
// process died, so the key may be there or not.
func deleteAfter(key string) (string, bool) {
	if len(key) < 6 {
		return "", false
	}
	i, err := strconv.Atoi(key[len(key)-6:])
	if err != nil || i%3 != 2 {
		return "", false
	}
	return fmt.Sprintf("%s%06d", key[:len(key)-6], i-1), true
}
