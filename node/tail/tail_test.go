package tail

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

func TestFilterMatch(t *testing.T) {
	ok := shared.Log{AppID: 1, ScriptID: 7, Method: "GET", Path: "/users/42", Output: "hit cache, été\n"}
	failed := shared.Log{AppID: 1, ScriptID: 8, Method: "POST", Path: "/pay", Error: "TypeError: boom"}
	cron := shared.Log{AppID: 1, ScriptID: 7, Trigger: shared.TriggerCron, Status: 200}
	cases := []struct {
		name string
		f    Filter
		want [3]bool // ok, failed, cron
	}{
		{"everything", Filter{}, [3]bool{true, true, true}},
		{"script", Filter{ScriptID: 7}, [3]bool{true, false, true}},
		{"status ok", Filter{Status: shared.TailStatusOK}, [3]bool{true, false, true}},
		{"status error", Filter{Status: shared.TailStatusError}, [3]bool{false, true, false}},
		{"method any case", Filter{Method: "post"}, [3]bool{false, true, false}},
		{"search path", Filter{Search: "/users"}, [3]bool{true, false, false}},
		{"search output", Filter{Search: "cache"}, [3]bool{true, false, false}},
		{"search error", Filter{Search: "boom"}, [3]bool{false, true, false}},
		{"search ignores case", Filter{Search: "BOOM"}, [3]bool{false, true, false}},
		{"search ignores case of the text", Filter{Search: "typeerror"}, [3]bool{false, true, false}},
		{"search ignores case beyond ASCII", Filter{Search: "ÉTÉ"}, [3]bool{true, false, false}},
		{"all at once", Filter{ScriptID: 8, Status: shared.TailStatusError, Method: "POST", Search: "pay"}, [3]bool{false, true, false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := [3]bool{tc.f.Match(ok), tc.f.Match(failed), tc.f.Match(cron)}
			if got != tc.want {
				t.Errorf("Match(ok, failed, cron) = %v, want %v", got, tc.want)
			}
		})
	}
}

func next(t *testing.T, tl *Tail) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, ok := tl.Next(ctx)
	if !ok {
		t.Fatal("tail ended")
	}
	return ev
}

func TestTailDropsForASlowReaderAndSaysHowMany(t *testing.T) {
	h := New()
	tl := h.Open(1, Filter{}, 2)
	defer tl.Close()
	other := h.Open(2, Filter{}, 2)
	defer other.Close()
	for i := range 5 {
		h.Publish(shared.Log{AppID: 1, ID: int64(i)}) // never blocks, whatever the reader does
	}
	h.Publish(shared.Log{AppID: 3}) // an app without tails
	if ev := next(t, tl); !ev.HasLog || ev.Log.ID != 0 || ev.Dropped != 0 {
		t.Errorf("first = %+v", ev)
	}
	if ev := next(t, tl); !ev.HasLog || ev.Log.ID != 1 {
		t.Errorf("second = %+v", ev)
	}
	// Three did not fit; the reader caught up, so it hears of them now.
	if ev := next(t, tl); ev.HasLog || ev.Dropped != 3 {
		t.Errorf("after catching up = %+v, want 3 dropped", ev)
	}
	h.Publish(shared.Log{AppID: 1, ID: 9})
	if ev := next(t, tl); !ev.HasLog || ev.Log.ID != 9 || ev.Dropped != 0 {
		t.Errorf("next entry = %+v", ev)
	}
	// Drops between two entries come with the entry after them.
	for i := range 4 {
		h.Publish(shared.Log{AppID: 1, ID: int64(10 + i)})
	}
	next(t, tl)
	next(t, tl)
	h.Publish(shared.Log{AppID: 1, ID: 20})
	if ev := next(t, tl); !ev.HasLog || ev.Log.ID != 20 || ev.Dropped != 2 {
		t.Errorf("entry after a gap = %+v, want id 20 after 2 dropped", ev)
	}
	select {
	case <-other.ch:
		t.Error("app 2's tail got app 1's entries")
	default:
	}
}

func TestTailEnds(t *testing.T) {
	h := New()
	a, b, c := h.Open(1, Filter{}, 0), h.Open(1, Filter{}, 0), h.Open(2, Filter{}, 0)
	h.EndApp(1)
	for _, tl := range []*Tail{a, b} {
		if _, ok := tl.Next(context.Background()); ok {
			t.Error("a tail of a deleted app goes on")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := c.Next(ctx); ok {
		t.Error("Next ignored its context")
	}
	h.Close()
	<-c.Ended()
	if _, ok := h.Open(2, Filter{}, 0).Next(context.Background()); ok {
		t.Error("a closed hub opened a tail")
	}
	if n := h.active.Load(); n != 0 {
		t.Errorf("%d tails still counted", n)
	}
	a.Close() // closing an ended tail is harmless
}
