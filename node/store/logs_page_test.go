package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A page of big logs stops at MaxLogPageBytes of text instead of the
// limit's count, and paging on with before still reaches every log.
func TestLogsPageBoundedInBytes(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	const n = 80 // 80 x 128 KiB = 10 MiB of text
	batch := logsFor(a.ID, 1, n, time.Now())
	for i := range batch {
		batch[i].Error = strings.Repeat("e", 64<<10)
		batch[i].Output = strings.Repeat("o", 64<<10)
	}
	if err := s.InsertLogs(ctx, batch); err != nil {
		t.Fatal(err)
	}
	seen := 0
	pages := 0
	for before := int64(0); ; pages++ {
		page, err := s.Logs(ctx, a.ID, 0, MaxLogLimit, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		size := 0
		for _, l := range page {
			size += len(l.Error) + len(l.Output)
		}
		if last := len(page[len(page)-1].Error) + len(page[len(page)-1].Output); size-last >= MaxLogPageBytes {
			t.Fatalf("page of %d logs holds %d bytes, over %d before its last log", len(page), size, MaxLogPageBytes)
		}
		seen += len(page)
		before = page[len(page)-1].ID
	}
	if seen != n || pages < 3 {
		t.Fatalf("paged through %d of %d logs in %d pages", seen, n, pages)
	}
}
