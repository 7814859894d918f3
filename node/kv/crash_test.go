package kv

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// crashChildEnv makes the test binary the writing process of
// TestAcknowledgedWritesSurviveKill: "path,appID".
const crashChildEnv = "PICLOUD_KV_CRASH_CHILD"

// A process writing through the Writer from several goroutines is killed
// with SIGKILL mid-storm. Every put and delete it acknowledged (printed
// after Write returned) is in the database afterwards, the file passes
// integrity_check and the app's usage equals a recount.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		crashChild(spec)
		return
	}
	s, path := openStore(t)
	a := mkApp(t, s, "crash")
	s.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedWritesSurviveKill$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", crashChildEnv, path, a.ID))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	present := map[string]string{} // acknowledged puts not deleted since
	deleted := map[string]bool{}   // acknowledged deletes
	inFlight := map[string]bool{}  // deletes sent, not acknowledged
	acks := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "put":
			present[f[1]] = f[2]
			if prev, ok := deleteAfter(f[1]); ok {
				inFlight[prev] = true
			}
		case len(f) == 2 && f[0] == "del":
			delete(present, f[1])
			delete(inFlight, f[1])
			deleted[f[1]] = true
		default:
			t.Fatalf("unexpected line %q", sc.Text())
		}
		if acks++; acks == 3000 {
			_ = cmd.Process.Kill() // SIGKILL; lines already in the pipe were acknowledged
		}
	}
	_ = cmd.Wait()
	if acks < 3000 {
		t.Fatalf("the writer acknowledged only %d writes before it ended", acks)
	}

	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	var keys, bytes, rkeys, rbytes int64
	if err := db.QueryRow(`SELECT keys, bytes FROM kv_usage WHERE app_id = ?`, a.ID).Scan(&keys, &bytes); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*), sum(length(CAST(key AS BLOB)) + length(value) + ifnull(length(CAST(metadata AS BLOB)), 0))
		FROM kv_entries WHERE app_id = ?`, a.ID).Scan(&rkeys, &rbytes); err != nil {
		t.Fatal(err)
	}
	if keys != rkeys || bytes != rbytes {
		t.Errorf("usage says %d keys, %d bytes; a recount %d, %d", keys, bytes, rkeys, rbytes)
	}
	db.Close()

	s, err = store.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	lost := 0
	for key, value := range present {
		if inFlight[key] {
			continue
		}
		if e, err := s.KVGet(ctx, a.ID, key, time.Now()); err != nil || string(e.Value) != value {
			if lost++; lost <= 5 {
				t.Errorf("acknowledged put %s = %q lost: %q, %v", key, value, e.Value, err)
			}
		}
	}
	for key := range deleted {
		if _, err := s.KVGet(ctx, a.ID, key, time.Now()); !shared.IsCode(err, shared.CodeNotFound) {
			t.Errorf("acknowledged delete of %s undone: %v", key, err)
		}
	}
	t.Logf("%d writes acknowledged before the kill; %d keys checked present, %d absent", acks, len(present), len(deleted))
}

// crashChild writes until it is killed: 8 goroutines, each putting its own
// keys in order and deleting every third one again, printing each write
// once Write returned.
func crashChild(spec string) {
	path, idText, _ := strings.Cut(spec, ",")
	appID, _ := strconv.ParseInt(idText, 10, 64)
	s, err := store.Open(context.Background(), path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := NewWriter(Config{Committer: s})
	go w.Run(context.Background())
	var mu sync.Mutex // one line per write call
	ack := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, format, args...)
		mu.Unlock()
	}
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("g%d-%06d", g, i)
				value := fmt.Sprintf("v%d", i)
				if err := w.Write(context.Background(), put(appID, key, value)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				ack("put %s %s\n", key, value)
				if i%3 == 2 {
					old := fmt.Sprintf("g%d-%06d", g, i-1)
					if err := w.Write(context.Background(), store.KVWrite{AppID: appID, Key: old, Delete: true}); err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(1)
					}
					ack("del %s\n", old)
				}
			}
		}()
	}
	select {}
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
