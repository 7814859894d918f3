package ui

import (
	"fmt"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// bucket is one bar of the executions chart.
type bucket struct {
	Start  time.Time
	Total  int
	Errors int
}

// failed reports whether a log entry counts as an error on the chart: the
// script threw, hit a sandbox limit, or answered 5xx.
func failed(l shared.Log) bool { return l.Error != "" || l.Status >= 500 }

// bucketLogs spreads logs over n equal buckets ending at now. The span is
// the smallest of 1h, 6h, 24h, 7d that holds the oldest log, so a quiet app
// still shows a few bars rather than one.
func bucketLogs(logs []shared.Log, n int, now time.Time) []bucket {
	span := time.Hour
	for _, l := range logs {
		for now.Sub(l.StartedAt) > span && span < 7*24*time.Hour {
			switch span {
			case time.Hour:
				span = 6 * time.Hour
			case 6 * time.Hour:
				span = 24 * time.Hour
			default:
				span = 7 * 24 * time.Hour
			}
		}
	}
	width := span / time.Duration(n)
	start := now.Add(-span)
	out := make([]bucket, n)
	for i := range out {
		out[i].Start = start.Add(time.Duration(i) * width)
	}
	for _, l := range logs {
		i := int(l.StartedAt.Sub(start) / width)
		if i < 0 {
			continue
		}
		if i >= n {
			i = n - 1
		}
		out[i].Total++
		if failed(l) {
			out[i].Errors++
		}
	}
	return out
}

// barChart draws executions (primary colour) with errors (error colour)
// stacked from the bottom of each bar. It is deliberately simple: a row of
// rectangles and a caption.
type barChart struct {
	widget.BaseWidget
	buckets []bucket
}

func newBarChart() *barChart {
	c := &barChart{}
	c.ExtendBaseWidget(c)
	return c
}

func (c *barChart) set(b []bucket) {
	c.buckets = b
	c.Refresh()
}

func (c *barChart) CreateRenderer() fyne.WidgetRenderer {
	r := &barChartRenderer{chart: c, bg: canvas.NewRectangle(color.Transparent),
		caption: canvas.NewText("", theme.Color(theme.ColorNameForeground))}
	r.caption.TextSize = theme.CaptionTextSize()
	r.bg.StrokeWidth = 1
	r.refreshObjects()
	return r
}

type barChartRenderer struct {
	chart   *barChart
	bg      *canvas.Rectangle
	caption *canvas.Text
	bars    []*canvas.Rectangle // total, error, total, error, ...
}

func (r *barChartRenderer) refreshObjects() {
	n := len(r.chart.buckets)
	for len(r.bars) < 2*n {
		r.bars = append(r.bars, canvas.NewRectangle(color.Transparent))
	}
	r.bars = r.bars[:2*n]
	r.bg.StrokeColor = theme.Color(theme.ColorNameSeparator)
	total, errs := 0, 0
	for i, b := range r.chart.buckets {
		r.bars[2*i].FillColor = theme.Color(theme.ColorNamePrimary)
		r.bars[2*i+1].FillColor = theme.Color(theme.ColorNameError)
		total += b.Total
		errs += b.Errors
	}
	r.caption.Color = theme.Color(theme.ColorNameForeground)
	if n > 0 {
		r.caption.Text = fmt.Sprintf("%d executions (blue), %d errors (red) since %s", total, errs, r.chart.buckets[0].Start.Local().Format("Jan 2 15:04"))
	} else {
		r.caption.Text = "no executions yet"
	}
}

func (r *barChartRenderer) Layout(size fyne.Size) {
	capH := r.caption.MinSize().Height
	r.caption.Move(fyne.NewPos(0, size.Height-capH))
	r.caption.Resize(fyne.NewSize(size.Width, capH))
	plotH := size.Height - capH - 4
	r.bg.Resize(fyne.NewSize(size.Width, plotH))
	n := len(r.chart.buckets)
	if n == 0 {
		return
	}
	maxV := 1
	for _, b := range r.chart.buckets {
		maxV = max(maxV, b.Total)
	}
	slot := size.Width / float32(n)
	gap := slot * 0.2
	for i, b := range r.chart.buckets {
		x := float32(i)*slot + gap/2
		h := plotH * float32(b.Total) / float32(maxV)
		eh := plotH * float32(b.Errors) / float32(maxV)
		r.bars[2*i].Move(fyne.NewPos(x, plotH-h))
		r.bars[2*i].Resize(fyne.NewSize(slot-gap, h))
		r.bars[2*i+1].Move(fyne.NewPos(x, plotH-eh))
		r.bars[2*i+1].Resize(fyne.NewSize(slot-gap, eh))
	}
}

func (r *barChartRenderer) MinSize() fyne.Size {
	return fyne.NewSize(240, 120+r.caption.MinSize().Height)
}

func (r *barChartRenderer) Refresh() {
	r.refreshObjects()
	r.Layout(r.chart.Size())
	canvas.Refresh(r.chart)
}

func (r *barChartRenderer) Objects() []fyne.CanvasObject {
	objs := make([]fyne.CanvasObject, 0, len(r.bars)+2)
	objs = append(objs, r.bg)
	for _, b := range r.bars {
		objs = append(objs, b)
	}
	return append(objs, r.caption)
}

func (r *barChartRenderer) Destroy() {}
