package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/picloud/picloud/shared"
)

func TestChartScale(t *testing.T) {
	for _, tc := range []struct{ busiest, top int }{{0, 5}, {1, 5}, {5, 5}, {6, 10}, {11, 20}, {21, 50}, {51, 100}, {101, 200}, {4000, 5000}} {
		if got := chartScale(tc.busiest); got != tc.top {
			t.Errorf("chartScale(%d) = %d, want %d", tc.busiest, got, tc.top)
		}
	}
}

func TestChartStatesItsWindowAndTellsABarOnHover(t *testing.T) {
	now := time.Now()
	logs := []shared.Log{{StartedAt: now.Add(-time.Minute)}, {StartedAt: now.Add(-time.Minute), Error: "x"}}
	c := newBarChart()
	w := test.NewWindow(c)
	defer w.Close()
	w.Resize(fyne.NewSize(500, 220))
	c.set(bucketLogs(logs, 24, now))
	r := test.WidgetRenderer(c).(*barChartRenderer)
	if !strings.HasPrefix(r.caption.Text, "Last hour: 2 executions, 1 error") {
		t.Errorf("caption %q", r.caption.Text)
	}
	if r.yLabels[2].Text != "5" || r.xLabels[2].Text != "now" {
		t.Errorf("axes: top %q, right end %q; want 5 (two runs are not a storm) and now", r.yLabels[2].Text, r.xLabels[2].Text)
	}
	// The last bar holds both runs.
	x := c.Size().Width - 2
	c.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(x, 40)}})
	if !strings.Contains(c.Tip(), "2 executions, 1 error") || r.tip.Hidden {
		t.Errorf("tip over the last bar %q (hidden %v)", c.Tip(), r.tip.Hidden)
	}
	c.MouseMoved(&desktop.MouseEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(chartAxisW+2, 40)}})
	if !strings.Contains(c.Tip(), "0 executions") {
		t.Errorf("tip over an empty bar %q", c.Tip())
	}
	c.MouseOut()
	if c.Tip() != "" || !r.tip.Hidden {
		t.Error("the tip stays after the pointer left")
	}
}
