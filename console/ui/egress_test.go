package ui

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// The Egress tab opens an app's network one entry at a time, validates
// what is typed with the node's rules, and what it stores is what the
// app's scripts can fetch.
func TestEgressTab(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "sensor 21.5") }))
	defer up.Close()
	h := paired(t)
	h.createApp("Home", "home")
	sc := h.createScript("home", "proxy", fmt.Sprintf(`async function handle() {
		try { return await (await fetch(%q)).text() } catch (e) { return e.message } }`, up.URL))
	fetchOnce := func() string {
		t.Helper()
		res, err := h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return string(res.Body)
	}
	entry := strings.TrimPrefix(up.URL, "http://") // 127.0.0.1:port

	v := h.openApp("home")
	v.Select("Egress")
	h.wait()
	tab := v.egress

	t.Run("closed by default", func(t *testing.T) {
		if !strings.Contains(egressLabels(tab), "Nothing is allowed") || tab.count.Text != "0 of 64 entries" {
			t.Errorf("list %q, count %q", egressLabels(tab), tab.count.Text)
		}
		if got := fetchOnce(); got != "egress not allowed: 127.0.0.1" {
			t.Errorf("fetch before any entry: %q", got)
		}
	})

	t.Run("inline validation", func(t *testing.T) {
		for _, tc := range []struct{ typed, part string }{
			{"http://api.github.com", "scheme"},
			{"10.0.0.0/8:80", "CIDR"},
			{"example.com:99999", "port"},
		} {
			typeInto(tab.entry, tc.typed)
			if tab.check.Importance != widget.DangerImportance || !strings.Contains(tab.check.Text, tc.part) || !tab.add.Disabled() {
				t.Errorf("%q: check %q (importance %v), add disabled %v", tc.typed, tab.check.Text, tab.check.Importance, tab.add.Disabled())
			}
		}
		typeInto(tab.entry, "192.168.1.77/24")
		if tab.check.Importance != widget.SuccessImportance || !strings.Contains(tab.check.Text, "256 addresses of 192.168.1.0/24") || tab.add.Disabled() {
			t.Errorf("a range: check %q, add disabled %v", tab.check.Text, tab.add.Disabled())
		}
	})

	t.Run("allow", func(t *testing.T) {
		typeInto(tab.entry, entry)
		test.Tap(h.button("Allow"))
		h.wait()
		if got, err := h.node.Client.Egress(h.ctx(), "home"); err != nil || !reflect.DeepEqual(got, []string{entry}) {
			t.Fatalf("egress on the node: %q, %v", got, err)
		}
		if tab.msg.Importance != widget.SuccessImportance || tab.entry.Text != "" || tab.count.Text != "1 of 64 entries" {
			t.Errorf("after allow: message %q, entry %q, count %q", tab.msg.Text, tab.entry.Text, tab.count.Text)
		}
		if !strings.Contains(egressLabels(tab), entry) || !strings.Contains(egressLabels(tab), "the address 127.0.0.1, port") {
			t.Errorf("list %q", egressLabels(tab))
		}
		if got := fetchOnce(); got != "sensor 21.5" {
			t.Errorf("fetch after allowing: %q", got)
		}
		typeInto(tab.entry, entry)
		if !strings.Contains(tab.check.Text, "already allowed") || !tab.add.Disabled() {
			t.Errorf("the same entry again: %q, add disabled %v", tab.check.Text, tab.add.Disabled())
		}
	})

	t.Run("log shows fetches", func(t *testing.T) {
		var logs []shared.Log
		// The node writes logs in batches gathered for up to a second.
		for deadline := time.Now().Add(10 * time.Second); len(logs) == 0 && time.Now().Before(deadline); {
			logs, _ = h.node.Client.Logs(h.ctx(), "home", sc.ID, 1, 0)
			h.wait()
			time.Sleep(20 * time.Millisecond)
		}
		if len(logs) == 0 {
			t.Fatal("no log")
		}
		v.logs.show(logs[0])
		if !strings.Contains(v.logs.detail.Text, "· 1 fetch\n") {
			t.Errorf("log detail %q", v.logs.detail.Text)
		}
	})

	t.Run("remove", func(t *testing.T) {
		test.Tap(h.button("Remove"))
		h.wait()
		if got, err := h.node.Client.Egress(h.ctx(), "home"); err != nil || len(got) != 0 {
			t.Fatalf("egress on the node: %q, %v", got, err)
		}
		if got := fetchOnce(); got != "egress not allowed: 127.0.0.1" {
			t.Errorf("fetch after removing: %q", got)
		}
		if !strings.Contains(egressLabels(tab), "Nothing is allowed") {
			t.Errorf("list %q", egressLabels(tab))
		}
	})
}

func egressLabels(tab *egressTab) string {
	var out []string
	for _, o := range test.LaidOutObjects(tab.list) {
		if l, ok := o.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	}
	return strings.Join(out, " | ")
}
