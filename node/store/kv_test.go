package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

var kvNow = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func put(appID int64, key, value string) KVWrite {
	return KVWrite{AppID: appID, Key: key, Value: []byte(value)}
}

func applyKV(t testing.TB, s *Store, quota int64, batch ...KVWrite) []error {
	t.Helper()
	res, err := s.ApplyKV(context.Background(), batch, quota, kvNow)
	if err != nil {
		t.Fatalf("ApplyKV: %v", err)
	}
	return res
}

// recount is the quota usage computed from the entries themselves.
func recount(t testing.TB, s *Store, appID int64) (keys, bytes int64) {
	t.Helper()
	err := s.r.QueryRow(`SELECT count(*), ifnull(sum(length(CAST(key AS BLOB)) + length(value) + ifnull(length(CAST(metadata AS BLOB)), 0)), 0)
		FROM kv_entries WHERE app_id = ?`, appID).Scan(&keys, &bytes)
	if err != nil {
		t.Fatal(err)
	}
	return keys, bytes
}

func checkUsage(t testing.TB, s *Store, appID int64) (keys, bytes int64) {
	t.Helper()
	keys, bytes, err := s.KVUsage(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	if rk, rb := recount(t, s, appID); rk != keys || rb != bytes {
		t.Fatalf("usage of app %d = %d keys, %d bytes; a recount says %d, %d", appID, keys, bytes, rk, rb)
	}
	return keys, bytes
}

func TestKVPutGetDelete(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	meta := json.RawMessage(`{"owner":"me"}`)

	res := applyKV(t, s, 1<<20,
		KVWrite{AppID: a.ID, Key: "greeting", Value: []byte("hello"), Metadata: meta, Expiration: kvNow.Unix() + 3600},
		put(b.ID, "greeting", "other app"),
	)
	if res[0] != nil || res[1] != nil {
		t.Fatalf("results %v", res)
	}
	e, err := s.KVGet(ctx, a.ID, "greeting", kvNow)
	if err != nil || string(e.Value) != "hello" || string(e.Metadata) != string(meta) ||
		e.Expiration != kvNow.Unix()+3600 || !e.UpdatedAt.Equal(kvNow) {
		t.Fatalf("get = %+v, %v", e, err)
	}
	if e, _ := s.KVGet(ctx, b.ID, "greeting", kvNow); string(e.Value) != "other app" {
		t.Fatalf("apps share keys: %q", e.Value)
	}
	if keys, bytes := checkUsage(t, s, a.ID); keys != 1 || bytes != int64(len("greeting")+len("hello")+len(meta)) {
		t.Fatalf("usage %d keys %d bytes", keys, bytes)
	}

	t.Run("overwrite replaces value, metadata and expiry", func(t *testing.T) {
		applyKV(t, s, 1<<20, put(a.ID, "greeting", "hi"))
		e, err := s.KVGet(ctx, a.ID, "greeting", kvNow)
		if err != nil || string(e.Value) != "hi" || e.Metadata != nil || e.Expiration != 0 {
			t.Fatalf("get = %+v, %v", e, err)
		}
		if keys, bytes := checkUsage(t, s, a.ID); keys != 1 || bytes != int64(len("greeting")+2) {
			t.Fatalf("usage %d keys %d bytes", keys, bytes)
		}
	})
	t.Run("an empty value is a value", func(t *testing.T) {
		applyKV(t, s, 1<<20, put(a.ID, "empty", ""))
		if e, err := s.KVGet(ctx, a.ID, "empty", kvNow); err != nil || e.Value == nil || len(e.Value) != 0 {
			t.Fatalf("get = %+v, %v", e, err)
		}
	})
	t.Run("delete, and delete of a missing key", func(t *testing.T) {
		res := applyKV(t, s, 1<<20, KVWrite{AppID: a.ID, Key: "greeting", Delete: true}, KVWrite{AppID: a.ID, Key: "never", Delete: true})
		if res[0] != nil || res[1] != nil {
			t.Fatalf("results %v", res)
		}
		_, err := s.KVGet(ctx, a.ID, "greeting", kvNow)
		wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
		checkUsage(t, s, a.ID)
	})
	t.Run("a write for a deleted app fails alone", func(t *testing.T) {
		res := applyKV(t, s, 1<<20, put(999, "k", "v"), put(a.ID, "k", "v"))
		wantCode(t, res[0], http.StatusNotFound, shared.CodeNotFound)
		if res[1] != nil {
			t.Fatalf("the other write failed too: %v", res[1])
		}
	})
}

func TestKVQuota(t *testing.T) {
	s, _ := openTest(t)
	a := mkApp(t, s, "a")
	const quota = 100
	// Each entry is 1 + 39 = 40 bytes.
	v := string(make([]byte, 39))
	res := applyKV(t, s, quota, put(a.ID, "a", v), put(a.ID, "b", v), put(a.ID, "c", v), put(a.ID, "d", "small"))
	if res[0] != nil || res[1] != nil || res[3] != nil {
		t.Fatalf("writes within the quota failed: %v", res)
	}
	e := wantCode(t, res[2], http.StatusConflict, shared.CodeKVQuotaExceeded)
	if e.Message == "" {
		t.Error("no message")
	}
	if _, bytes := checkUsage(t, s, a.ID); bytes != 80+6 {
		t.Fatalf("bytes = %d, want 86", bytes)
	}
	// Overwriting with the same size or smaller is allowed at the quota,
	// and freeing space lets the next write in.
	if res := applyKV(t, s, quota, put(a.ID, "a", v), put(a.ID, "b", "x")); res[0] != nil || res[1] != nil {
		t.Fatalf("non-growing writes refused: %v", res)
	}
	if res := applyKV(t, s, quota, put(a.ID, "c", v)); res[0] != nil {
		t.Fatalf("write after freeing space refused: %v", res[0])
	}
	t.Run("a lowered quota still lets the app shrink", func(t *testing.T) {
		if res := applyKV(t, s, 10, put(a.ID, "a", "tiny"), KVWrite{AppID: a.ID, Key: "c", Delete: true}); res[0] != nil || res[1] != nil {
			t.Fatalf("shrinking refused: %v", res)
		}
		checkUsage(t, s, a.ID)
	})
}

func TestKVListOrderPrefixAndPaging(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	keys := []string{"user:1", "user:10", "user:2", "user:é", "user:z", "users", "user;", "admin", "\x7f", "ü"}
	var batch []KVWrite
	for _, k := range keys {
		batch = append(batch, put(a.ID, k, "v"))
	}
	batch = append(batch, KVWrite{AppID: a.ID, Key: "user:gone", Value: []byte("v"), Expiration: kvNow.Unix() + 60})
	applyKV(t, s, 1<<20, batch...)
	later := kvNow.Add(2 * time.Minute) // user:gone has expired

	names := func(ks []shared.KVKey) []string {
		out := []string{}
		for _, k := range ks {
			out = append(out, k.Name)
		}
		return out
	}
	tests := []struct {
		name, prefix string
		want         []string
	}{
		{"all in byte order", "", []string{"admin", "user:1", "user:10", "user:2", "user:z", "user:é", "user;", "users", "\x7f", "ü"}},
		{"prefix", "user:", []string{"user:1", "user:10", "user:2", "user:z", "user:é"}},
		{"prefix of a multi-byte character", "user:\xc3", []string{"user:é"}},
		{"no match", "nobody", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, complete, err := s.KVList(ctx, a.ID, tc.prefix, "", 1000, later)
			if err != nil || !complete || !reflect.DeepEqual(names(got), tc.want) {
				t.Fatalf("list %q = %q complete=%v %v; want %q", tc.prefix, names(got), complete, err, tc.want)
			}
		})
	}
	t.Run("pages of 3 visit every key once", func(t *testing.T) {
		var all []string
		after := ""
		for page := 0; ; page++ {
			got, complete, err := s.KVList(ctx, a.ID, "", after, 3, later)
			if err != nil || page > 10 {
				t.Fatal(err, page)
			}
			all = append(all, names(got)...)
			if complete {
				break
			}
			if len(got) != 3 {
				t.Fatalf("incomplete page of %d", len(got))
			}
			after = got[len(got)-1].Name
		}
		if len(all) != len(keys) {
			t.Fatalf("paged %q", all)
		}
	})
	t.Run("expired keys are never listed or returned", func(t *testing.T) {
		got, _, _ := s.KVList(ctx, a.ID, "user:g", "", 10, later)
		if len(got) != 0 {
			t.Fatalf("expired key listed: %q", names(got))
		}
		if got, _, _ := s.KVList(ctx, a.ID, "user:g", "", 10, kvNow); len(got) != 1 || got[0].Expiration != kvNow.Unix()+60 {
			t.Fatalf("live key not listed with its expiration: %+v", got)
		}
		_, err := s.KVGet(ctx, a.ID, "user:gone", later)
		wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
	})
}

func TestExpireKVRemovesOnlyExpired(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	var batch []KVWrite
	for i := range 25 {
		batch = append(batch, KVWrite{AppID: a.ID, Key: fmt.Sprint("tmp", i), Value: []byte("v"), Expiration: kvNow.Unix() + 60 + int64(i)})
	}
	batch = append(batch, put(a.ID, "keep", "v"))
	applyKV(t, s, 1<<20, batch...)
	at := kvNow.Add(time.Minute + 9*time.Second) // tmp0..tmp9 expired
	total := 0
	for {
		n, err := s.ExpireKV(ctx, at, 4)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 10 {
		t.Fatalf("expired %d entries, want 10", total)
	}
	if keys, _ := checkUsage(t, s, a.ID); keys != 16 {
		t.Fatalf("%d keys left, want 16", keys)
	}
}

// TestKVUsageExactUnderRandomWrites checks the triggers' accounting
// against a recount after many random puts, overwrites, deletes, expiries
// and the deletion of another app.
func TestKVUsageExactUnderRandomWrites(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	apps := []shared.App{mkApp(t, s, "a"), mkApp(t, s, "b")}
	rng := rand.New(rand.NewSource(1))
	for range 40 {
		var batch []KVWrite
		for range 1 + rng.Intn(20) {
			w := KVWrite{AppID: apps[rng.Intn(2)].ID, Key: fmt.Sprint("k", rng.Intn(30))}
			switch rng.Intn(4) {
			case 0:
				w.Delete = true
			case 1:
				w.Expiration = kvNow.Unix() + int64(60+rng.Intn(120))
				fallthrough
			default:
				w.Value = make([]byte, rng.Intn(200))
				if rng.Intn(2) == 0 {
					w.Metadata = json.RawMessage(fmt.Sprintf(`{"n":%d}`, rng.Intn(1000)))
				}
			}
			batch = append(batch, w)
		}
		applyKV(t, s, 4000, batch...)
	}
	if _, err := s.ExpireKV(ctx, kvNow.Add(2*time.Minute), 1000); err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		checkUsage(t, s, a.ID)
	}
	if err := s.DeleteApp(ctx, apps[1].ID); err != nil {
		t.Fatal(err)
	}
	if keys, _ := recount(t, s, apps[1].ID); keys != 0 {
		t.Fatalf("%d entries of a deleted app", keys)
	}
	if keys, bytes, _ := s.KVUsage(ctx, apps[1].ID); keys != 0 || bytes != 0 {
		t.Fatalf("usage of a deleted app: %d, %d", keys, bytes)
	}
	checkUsage(t, s, apps[0].ID)
}
