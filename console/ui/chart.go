package ui

import (
	"fmt"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
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

// chartScale is the counts axis' top: at least 5, so one request is a
// short bar and not a storm, then the next of 1, 2, 5 × 10^k above the
// busiest bar.
func chartScale(busiest int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if top := m * p; top >= busiest && top >= 5 {
				return top
			}
		}
	}
}

// chartWindow names the span the buckets cover, for the caption.
func chartWindow(b []bucket) string {
	if len(b) < 2 {
		return "Recent"
	}
	span := b[1].Start.Sub(b[0].Start) * time.Duration(len(b))
	switch {
	case span <= time.Hour:
		return "Last hour"
	case span <= 6*time.Hour:
		return "Last 6 hours"
	case span <= 24*time.Hour:
		return "Last 24 hours"
	}
	return "Last 7 days"
}

// chartTime labels a time on the axis: the clock within a day, the day
// over a week.
func chartTime(t time.Time, week bool) string {
	if week {
		return t.Local().Format("Mon 2")
	}
	return t.Local().Format("15:04")
}

// barChart draws executions (primary colour) with errors (error colour)
// stacked from the bottom of each bar, over a time axis and a counts axis;
// hovering a bar says what it holds.
type barChart struct {
	widget.BaseWidget
	buckets []bucket
	// tip is the hovered bar's text, "" when none.
	tip string
	// tipAt is where the pointer is, for placing the tip.
	tipAt fyne.Position
}

func newBarChart() *barChart {
	c := &barChart{}
	c.ExtendBaseWidget(c)
	return c
}

func (c *barChart) set(b []bucket) {
	c.buckets = b
	c.tip = ""
	c.Refresh()
}

// chartAxisW and chartAxisH are the margins the axes' labels take.
const (
	chartAxisW = 36
	chartAxisH = 18
)

// bucketAt is the bar under x in a chart of width w, -1 for none.
func (c *barChart) bucketAt(x, w float32) int {
	n := len(c.buckets)
	if n == 0 || x < chartAxisW || w <= chartAxisW {
		return -1
	}
	i := int((x - chartAxisW) / ((w - chartAxisW) / float32(n)))
	if i >= n {
		return -1
	}
	return i
}

// tipText describes one bar: its time span and counts.
func (c *barChart) tipText(i int) string {
	b := c.buckets[i]
	end := time.Now()
	if i+1 < len(c.buckets) {
		end = c.buckets[i+1].Start
	}
	week := chartWindow(c.buckets) == "Last 7 days"
	return fmt.Sprintf("%s–%s: %s, %s", chartTime(b.Start, week), chartTime(end, week),
		plural(b.Total, "execution"), plural(b.Errors, "error"))
}

// MouseIn, MouseMoved and MouseOut show the hovered bar's tip.
func (c *barChart) MouseIn(e *desktop.MouseEvent) { c.MouseMoved(e) }

func (c *barChart) MouseMoved(e *desktop.MouseEvent) {
	tip := ""
	if i := c.bucketAt(e.Position.X, c.Size().Width); i >= 0 {
		tip = c.tipText(i)
	}
	c.tipAt = e.Position
	if tip != c.tip || tip != "" {
		c.tip = tip
		c.Refresh()
	}
}

func (c *barChart) MouseOut() {
	if c.tip != "" {
		c.tip = ""
		c.Refresh()
	}
}

// Tip is the hovered bar's text (tests).
func (c *barChart) Tip() string { return c.tip }

func (c *barChart) CreateRenderer() fyne.WidgetRenderer {
	text := func(size float32) *canvas.Text {
		t := canvas.NewText("", theme.Color(theme.ColorNameForeground))
		t.TextSize = size
		return t
	}
	r := &barChartRenderer{chart: c, bg: canvas.NewRectangle(color.Transparent), caption: text(theme.CaptionTextSize()),
		tipBg: canvas.NewRectangle(theme.Color(theme.ColorNameOverlayBackground)), tip: text(theme.CaptionTextSize())}
	for i := range r.yLabels {
		r.yLabels[i] = text(theme.CaptionTextSize())
		r.yLabels[i].Alignment = fyne.TextAlignTrailing
	}
	for i := range r.xLabels {
		r.xLabels[i] = text(theme.CaptionTextSize())
	}
	r.bg.StrokeWidth = 1
	r.refreshObjects()
	return r
}

type barChartRenderer struct {
	chart   *barChart
	bg      *canvas.Rectangle
	caption *canvas.Text
	yLabels [3]*canvas.Text     // 0, half, top
	xLabels [3]*canvas.Text     // start, middle, now
	bars    []*canvas.Rectangle // total, error, total, error, ...
	tipBg   *canvas.Rectangle
	tip     *canvas.Text
	scale   int
}

func (r *barChartRenderer) refreshObjects() {
	c := r.chart
	n := len(c.buckets)
	for len(r.bars) < 2*n {
		r.bars = append(r.bars, canvas.NewRectangle(color.Transparent))
	}
	r.bars = r.bars[:2*n]
	r.bg.StrokeColor = theme.Color(theme.ColorNameSeparator)
	total, errs, busiest := 0, 0, 0
	for i, b := range c.buckets {
		r.bars[2*i].FillColor = theme.Color(theme.ColorNamePrimary)
		r.bars[2*i+1].FillColor = theme.Color(theme.ColorNameError)
		total += b.Total
		errs += b.Errors
		busiest = max(busiest, b.Total)
	}
	r.scale = chartScale(busiest)
	fg := theme.Color(theme.ColorNameForeground)
	for i, l := range r.yLabels {
		l.Text = fmt.Sprint(r.scale * i / 2)
		l.Color = fg
	}
	for _, l := range append(r.xLabels[:], r.caption, r.tip) {
		l.Color = fg
	}
	if n > 0 {
		week := chartWindow(c.buckets) == "Last 7 days"
		r.xLabels[0].Text = chartTime(c.buckets[0].Start, week)
		r.xLabels[1].Text = chartTime(c.buckets[n/2].Start, week)
		r.xLabels[2].Text = "now"
		r.caption.Text = fmt.Sprintf("%s: %s, %s (blue: executions, red: errors)", chartWindow(c.buckets),
			plural(total, "execution"), plural(errs, "error"))
	} else {
		r.caption.Text = "no executions yet"
	}
	r.tip.Text = c.tip
	r.tipBg.FillColor = theme.Color(theme.ColorNameOverlayBackground)
	r.tipBg.StrokeColor = theme.Color(theme.ColorNameSeparator)
	r.tipBg.StrokeWidth = 1
	r.tip.Hidden, r.tipBg.Hidden = c.tip == "", c.tip == ""
}

func (r *barChartRenderer) Layout(size fyne.Size) {
	capH := r.caption.MinSize().Height
	r.caption.Move(fyne.NewPos(chartAxisW, size.Height-capH))
	r.caption.Resize(fyne.NewSize(size.Width-chartAxisW, capH))
	plotH := size.Height - capH - chartAxisH - 4
	plotW := size.Width - chartAxisW
	r.bg.Move(fyne.NewPos(chartAxisW, 0))
	r.bg.Resize(fyne.NewSize(plotW, plotH))
	labelH := r.yLabels[0].MinSize().Height
	for i, l := range r.yLabels {
		y := plotH - plotH*float32(i)/2 - labelH/2
		l.Move(fyne.NewPos(0, max(0, min(y, plotH-labelH))))
		l.Resize(fyne.NewSize(chartAxisW-4, labelH))
	}
	for i, l := range r.xLabels {
		w := l.MinSize().Width
		x := chartAxisW + plotW*float32(i)/2 - w/2
		l.Move(fyne.NewPos(max(chartAxisW, min(x, size.Width-w)), plotH+2))
		l.Resize(fyne.NewSize(w, l.MinSize().Height))
	}
	n := len(r.chart.buckets)
	if n > 0 {
		slot := plotW / float32(n)
		gap := slot * 0.2
		for i, b := range r.chart.buckets {
			x := chartAxisW + float32(i)*slot + gap/2
			h := plotH * float32(b.Total) / float32(r.scale)
			eh := plotH * float32(b.Errors) / float32(r.scale)
			r.bars[2*i].Move(fyne.NewPos(x, plotH-h))
			r.bars[2*i].Resize(fyne.NewSize(slot-gap, h))
			r.bars[2*i+1].Move(fyne.NewPos(x, plotH-eh))
			r.bars[2*i+1].Resize(fyne.NewSize(slot-gap, eh))
		}
	}
	ts := r.tip.MinSize()
	pad := theme.Padding()
	at := r.chart.tipAt
	x := max(0, min(at.X+12, size.Width-ts.Width-2*pad))
	y := max(0, at.Y-ts.Height-2*pad-4)
	r.tipBg.Move(fyne.NewPos(x, y))
	r.tipBg.Resize(ts.AddWidthHeight(2*pad, 2*pad))
	r.tip.Move(fyne.NewPos(x+pad, y+pad))
	r.tip.Resize(ts)
}

func (r *barChartRenderer) MinSize() fyne.Size {
	return fyne.NewSize(240, 120+r.caption.MinSize().Height+chartAxisH)
}

func (r *barChartRenderer) Refresh() {
	r.refreshObjects()
	r.Layout(r.chart.Size())
	canvas.Refresh(r.chart)
}

func (r *barChartRenderer) Objects() []fyne.CanvasObject {
	objs := make([]fyne.CanvasObject, 0, len(r.bars)+10)
	objs = append(objs, r.bg)
	for _, b := range r.bars {
		objs = append(objs, b)
	}
	for _, l := range r.yLabels {
		objs = append(objs, l)
	}
	for _, l := range r.xLabels {
		objs = append(objs, l)
	}
	return append(objs, r.caption, r.tipBg, r.tip)
}

func (r *barChartRenderer) Destroy() {}
