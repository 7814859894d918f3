package ui

import (
	"net"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
)

// Deleting an app stops everything that polled it: its Logs auto-refresh
// keeps no "app not found" coming after the delete.
func TestNoPollAfterAppDelete(t *testing.T) {
	h := paired(t)
	h.createApp("Doomed", "doomed")
	v := h.openApp("doomed")
	v.Select("Logs")
	h.wait()
	v.logs.interval = 10 * time.Millisecond
	test.Tap(v.logs.auto)
	h.pump(50 * time.Millisecond)

	v.Select("Settings")
	h.wait()
	typeInto(v.settings.deleteEntry, "doomed")
	test.Tap(v.settings.del)
	h.wait()
	h.pump(200 * time.Millisecond) // twenty ticks of the old auto-refresh
	v.logs.reload()                // a tick that raced the delete: its answer must not show
	h.wait()
	if st := h.c.Status(); !strings.Contains(st, "deleted app Doomed") || h.c.status.Importance == widget.DangerImportance {
		t.Errorf("status after the delete = %q", st)
	}
}

func TestStatusDescribesThePresent(t *testing.T) {
	t.Run("a success replaces the error of the same action", func(t *testing.T) {
		h := paired(t)
		h.createApp("Blog", "blog")
		h.c.OpenApp("nope")
		h.wait()
		if st := h.c.Status(); !strings.Contains(st, "not found") {
			t.Fatalf("status = %q, want the app not found", st)
		}
		h.c.OpenApp("blog")
		h.wait()
		if st := h.c.Status(); st != "" {
			t.Errorf("status after opening an app that exists = %q, want it cleared", st)
		}
	})
	t.Run("navigating away clears the old screen's message", func(t *testing.T) {
		h := paired(t)
		h.createApp("Blog", "blog")
		h.c.OpenApp("nope")
		h.wait()
		test.Tap(h.button(h.c.cur.entry.Title())) // the breadcrumb back to the node
		h.wait()
		if st := h.c.Status(); st != "" {
			t.Errorf("status after navigating = %q, want it cleared", st)
		}
	})
	t.Run("reconnecting clears the offline error", func(t *testing.T) {
		var dir string
		h := paired(t, func(c *server.Config) { dir = c.DataDir })
		v := h.openApp("default")
		addr := strings.TrimPrefix(h.node.AdminURL, "http://")
		h.node.Stop(t)
		v.Select("Domains")
		h.wait()
		if st := h.c.Status(); !strings.Contains(st, "offline") {
			t.Fatalf("status = %q, want offline", st)
		}
		if b := h.c.Banner(); !strings.Contains(b, "offline — last updated") {
			t.Errorf("banner over the stale tabs = %q", b)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Fatal(err)
		}
		nodetest.StartIn(t, dir, func(c *server.Config) { c.AdminBind = addr })
		h.c.nodes.probeAll()
		h.wait()
		if e, _ := h.c.nodes.list.Get(h.id); !e.Online {
			t.Fatalf("node not back online: %+v", e)
		}
		if st := h.c.Status(); st != "" {
			t.Errorf("status once the node answers again = %q, want it cleared", st)
		}
		if b := h.c.Banner(); b != "" {
			t.Errorf("banner once the node answers again = %q", b)
		}
	})
}
