package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// rowCells is the text of a listed execution's columns.
func rowCells(t *logsTab, i int) []string {
	var out []string
	for _, o := range test.LaidOutObjects(t.list.Objects[i]) {
		if l, ok := o.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	}
	return out
}

// logsOf opens an app's Logs tab once the node lists the runs of paths
// (each executed on a script "api" of source src).
func logsOf(t *testing.T, slug, src string, paths ...string) (*harness, *appView, shared.Script) {
	h := paired(t)
	h.createApp(slug, slug)
	sc := h.createScript(slug, "api", src)
	for _, p := range paths {
		_, _ = h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{Path: p})
	}
	v := h.openApp(slug)
	v.Select("Logs")
	h.wait()
	l := v.logs
	if !h.pumpUntil(func() bool { l.reload(); h.wait(); return len(l.Rows()) == len(paths) }) {
		t.Fatalf("rows %q, want %d", l.Rows(), len(paths))
	}
	return h, v, sc
}

const okScript = `function handle(req) { return "ok" }`

func TestLogsListFiltersSelectsAndOpensTheFailingLine(t *testing.T) {
	h, v, _ := logsOf(t, "logs", "function handle(req) {\n  if (req.path === \"/bad\") {\n    null.boom;\n  }\n  console.log(\"served\", req.path);\n  return \"ok\";\n}",
		"/a", "/bad", "/search-me")
	l := v.logs
	cells := rowCells(l, 0) // newest: /search-me
	if len(cells) != 8 || cells[4] != "run" || cells[6] != "/search-me" || cells[7] != "api" || cells[2] != "200" {
		t.Fatalf("row cells %q: want a run labelled run, its path and script", cells)
	}
	if _, err := time.ParseInLocation("01-02 15:04:05", cells[0], time.Local); err != nil {
		t.Errorf("date column %q: %v", cells[1], err)
	}
	if !strings.HasSuffix(cells[1], "ago") && cells[1] != "just now" {
		t.Errorf("age column %q", cells[1])
	}
	// Columns align: every row's path starts at the same x.
	x0 := l.list.Objects[0].(*fyne.Container).Objects[1].(*fyne.Container).Objects[6].Position().X
	x1 := l.list.Objects[1].(*fyne.Container).Objects[1].(*fyne.Container).Objects[6].Position().X
	if x0 != x1 || x0 == 0 {
		t.Errorf("path columns at x %v and %v", x0, x1)
	}

	// Select the failed run; the selection survives a refresh.
	bad := l.shown[1]
	l.show(bad)
	l.reload()
	h.wait()
	if b := l.list.Objects[1].(*fyne.Container).Objects[0].(*widget.Button); b.Importance != widget.HighImportance {
		t.Error("the selected execution is not marked after a refresh")
	}
	if !strings.Contains(l.detail.Text, "Run in the console (execute): GET /bad") || strings.Contains(l.detail.Text, "__internal__") {
		t.Errorf("detail %q: want the run labelled, no internal host", l.detail.Text)
	}
	if !l.detail.Selectable || !l.errText.Selectable || !l.output.Selectable {
		t.Error("the detail cannot be selected to copy")
	}
	test.Tap(h.button("Copy"))
	if got := fyne.CurrentApp().Clipboard().Content(); !strings.Contains(got, "GET /bad") || !strings.Contains(got, "boom") {
		t.Errorf("copied detail %q", got)
	}

	// Errors only, then search.
	l.live.status.SetSelected("Failed")
	if rows := l.Rows(); len(rows) != 1 || !strings.Contains(rows[0], "/bad") {
		t.Errorf("errors only: %q", rows)
	}
	l.live.status.SetSelected("All runs")
	test.Type(l.live.search, "SEARCH")
	if rows := l.Rows(); len(rows) != 1 || !strings.Contains(rows[0], "/search-me") {
		t.Errorf("search: %q", rows)
	}
	if l.count.Text != "1 of 3 loaded" {
		t.Errorf("count %q", l.count.Text)
	}
	l.live.search.SetText("")

	// The error's line:column opens the editor there.
	if !l.openAt.Visible() || !strings.Contains(l.openAt.Text, "line 3") {
		t.Fatalf("open-at button %q (shown %v), error %q", l.openAt.Text, l.openAt.Visible(), l.errText.Text)
	}
	test.Tap(l.openAt)
	h.wait()
	d := v.scripts.detail
	if d == nil || v.tabs.Selected().Text != "Scripts" {
		t.Fatal("the script did not open")
	}
	if d.code.Marked() != 3 || d.editor.CursorRow != 2 {
		t.Errorf("marked line %d, cursor row %d; want line 3", d.code.Marked(), d.editor.CursorRow)
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{time.Second, "just now"}, {30 * time.Second, "30s ago"}, {5 * time.Minute, "5m ago"}, {3 * time.Hour, "3h ago"}, {72 * time.Hour, "3d ago"}} {
		t.Run(tc.want, func(t *testing.T) {
			if got := ago(now.Add(-tc.d), now); got != tc.want {
				t.Errorf("ago(%v) = %q", tc.d, got)
			}
		})
	}
}

func TestErrorPlace(t *testing.T) {
	for _, tc := range []struct {
		msg       string
		line, col int
	}{
		{"TypeError: Cannot read property 'boom' of null (line 3, column 10)", 3, 10},
		{"sandbox limit max_operations exceeded", 0, 0},
		{"Error: x (line 12, column 1)\n  at handle (line 40, column 2)", 12, 1},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			if l, c := errorPlace(tc.msg); l != tc.line || c != tc.col {
				t.Errorf("errorPlace = %d:%d, want %d:%d", l, c, tc.line, tc.col)
			}
		})
	}
}

func TestLogsRefreshWithNothingNewKeepsTheList(t *testing.T) {
	h, v, sc := logsOf(t, "quiet", okScript, "/a")
	l := v.logs
	frozen := time.Now()
	l.now = func() time.Time { return frozen }
	l.render()
	before := l.list.Objects[0]
	l.reload()
	h.wait()
	if l.list.Objects[0] != before {
		t.Error("a refresh that found nothing new rebuilt the list")
	}
	_, _ = h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{Path: "/b"})
	if !h.pumpUntil(func() bool { l.reload(); h.wait(); return len(l.Rows()) == 2 }) {
		t.Fatalf("the new run did not show: %q", l.Rows())
	}
}

func TestOverviewRecentRunsAlignAndOpenInLogs(t *testing.T) {
	h := paired(t)
	h.createApp("Recent", "recent")
	sc := h.createScript("recent", "api", `function handle(req) { return "ok" }`)
	for _, p := range []string{"/a", "/longer/path"} {
		_, _ = h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{Path: p})
	}
	v := h.openApp("recent")
	o := v.overview
	if !h.pumpUntil(func() bool { o.reload(); h.wait(); return len(o.recent.Objects) == 3 }) {
		t.Fatalf("recent list has %d rows", len(o.recent.Objects))
	}
	pathX := func(i int) float32 {
		return o.recent.Objects[i].(*fyne.Container).Objects[1].(*fyne.Container).Objects[6].Position().X
	}
	if pathX(1) != pathX(2) {
		t.Errorf("paths at x %v and %v: the columns do not align", pathX(1), pathX(2))
	}
	test.Tap(o.recent.Objects[1].(*fyne.Container).Objects[0].(*widget.Button))
	h.wait()
	if v.tabs.Selected().Text != "Logs" || !strings.Contains(v.logs.detail.Text, "/longer/path") {
		t.Errorf("tab %q, detail %q: want the run open in Logs", v.tabs.Selected().Text, v.logs.detail.Text)
	}
}

func TestLiveStartsWithAnEmptyDetail(t *testing.T) {
	h, v, _ := logsOf(t, "live2", okScript, "/old")
	l := v.logs
	l.show(l.shown[0])
	test.Tap(l.live.on)
	if strings.Contains(l.detail.Text, "/old") || l.selected != 0 {
		t.Errorf("Live kept the earlier selection: %q", l.detail.Text)
	}
	test.Tap(l.live.on) // off again
	h.pumpUntil(func() bool { return l.live.stop == nil })
}

func TestLogsLoadOlder(t *testing.T) {
	paths := make([]string, logPage+5)
	for i := range paths {
		paths[i] = fmt.Sprintf("/r%d", i)
	}
	h := paired(t)
	h.createApp("Many", "many")
	sc := h.createScript("many", "api", okScript)
	for _, p := range paths {
		_, _ = h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{Path: p})
	}
	v := h.openApp("many")
	v.Select("Logs")
	h.wait()
	l := v.logs
	if !h.pumpUntil(func() bool {
		all, _ := h.node.Client.Logs(h.ctx(), "many", 0, 200, 0)
		return len(all) == len(paths)
	}) {
		t.Fatal("the node did not log every run")
	}
	l.reload()
	h.wait()
	if len(l.Rows()) != logPage || !l.more.Visible() {
		t.Fatalf("first page: %d rows, Older shown %v", len(l.Rows()), l.more.Visible())
	}
	test.Tap(l.more)
	h.wait()
	rows := l.Rows()
	if len(rows) != len(paths) || !strings.Contains(rows[len(rows)-1], "/r0 ") {
		t.Errorf("after Older: %d rows, oldest %q", len(rows), rows[len(rows)-1])
	}
}
