package server

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rss is this process's resident set in bytes.
func rss(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

var sink [][]byte

// After a burst of 300 MB, a quiet node's resident memory comes back
// within a few ticks, not after minutes.
func TestQuietNodeReturnsMemory(t *testing.T) {
	idle := rss(t)
	go returnMemory(t.Context(), 50*time.Millisecond)
	for range 300 {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1
		}
		sink = append(sink, b)
	}
	peak := rss(t)
	sink = nil
	deadline := time.Now().Add(5 * time.Second)
	for rss(t) > idle+32<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("RSS %d MB after 5 s quiet; %d MB idle, %d MB at the peak", rss(t)>>20, idle>>20, peak>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
