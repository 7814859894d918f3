package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

// The Data tab pages through an app's keys, searches them by prefix,
// shows and edits values (text or pretty JSON, metadata and expiry kept),
// creates and deletes keys (confirmed), and shows usage against the quota.
func TestDataTab(t *testing.T) {
	h := paired(t, func(c *server.Config) { c.KVMaxAppBytes = 16 << 10 })
	h.createApp("Store", "store")
	cl := h.node.Client
	const items = 450
	var wg sync.WaitGroup
	for w := range 10 { // concurrent writers share commits
		wg.Go(func() {
			for i := w; i < items; i += 10 {
				if err := cl.KVPut(h.ctx(), "store", fmt.Sprintf("item/%04d", i), []byte("v"), shared.KVPutOptions{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("seeded %d keys", items)
	if err := cl.KVPut(h.ctx(), "store", "config", []byte(`{"theme":"dark","n":[1,2]}`),
		shared.KVPutOptions{Metadata: json.RawMessage(`{"by":"me"}`), ExpirationTTL: 7200}); err != nil {
		t.Fatal(err)
	}
	v := h.openApp("store")
	v.Select("Data")
	h.wait()
	tab := v.kv

	t.Run("pages", func(t *testing.T) {
		if len(tab.keys) != kvPage || tab.more.Hidden || tab.count.Text != "First 200 keys" {
			t.Fatalf("first page: %d keys, more hidden %v, count %q", len(tab.keys), tab.more.Hidden, tab.count.Text)
		}
		for tab.cursor != "" {
			test.Tap(tab.more)
			h.wait()
		}
		if len(tab.keys) != items+1 || !tab.more.Hidden || tab.count.Text != "451 keys" {
			t.Fatalf("all pages: %d keys, more hidden %v, count %q", len(tab.keys), tab.more.Hidden, tab.count.Text)
		}
		if tab.keys[0].Name != "config" || tab.keys[items].Name != "item/0449" {
			t.Errorf("order: first %q, last %q", tab.keys[0].Name, tab.keys[items].Name)
		}
		if !strings.Contains(tab.used, "of 16.0 KiB used · 451 keys") || tab.usage.Max != 16<<10 || tab.usage.Value <= 0 {
			t.Errorf("usage %q (%v of %v)", tab.used, tab.usage.Value, tab.usage.Max)
		}
	})

	t.Run("search", func(t *testing.T) {
		typeInto(tab.prefx, "conf")
		h.wait()
		if len(tab.keys) != 1 || tab.keys[0].Name != "config" || tab.count.Text != "1 keys" {
			t.Fatalf("search conf: %+v, %q", tab.keys, tab.count.Text)
		}
		typeInto(tab.prefx, "nothing")
		h.wait()
		if len(tab.keys) != 0 || !strings.Contains(tab.count.Text, "No key starts with nothing") {
			t.Fatalf("search nothing: %d keys, %q", len(tab.keys), tab.count.Text)
		}
		typeInto(tab.prefx, "conf")
		h.wait()
	})

	t.Run("view and edit as JSON", func(t *testing.T) {
		tab.list.Select(0)
		h.wait()
		if tab.key.Text != "config" || !strings.Contains(tab.info.Text, `metadata {"by":"me"}`) ||
			!strings.Contains(tab.info.Text, "expires in 1 h") && !strings.Contains(tab.info.Text, "expires in 2 h") {
			t.Fatalf("editor: key %q, info %q", tab.key.Text, tab.info.Text)
		}
		tab.format.SetSelected(kvJSON)
		if !strings.Contains(tab.value.Text, "\n  \"theme\": \"dark\"") {
			t.Fatalf("pretty JSON: %q", tab.value.Text)
		}
		tab.value.SetText(strings.Replace(tab.value.Text, "dark", "light", 1))
		test.Tap(tab.save)
		h.wait()
		got, err := cl.KVGet(h.ctx(), "store", "config")
		if err != nil || string(got.Value) != `{"theme":"light","n":[1,2]}` || string(got.Metadata) != `{"by":"me"}` {
			t.Fatalf("stored %s %s, %v", got.Value, got.Metadata, err)
		}
		page, _ := cl.KVList(h.ctx(), "store", shared.KVListQuery{Prefix: "config"})
		if left := page.Keys[0].Expiration - time.Now().Unix(); left < 7000 || left > 7200 {
			t.Errorf("the save changed the expiry: %d s left", left)
		}
		if tab.msg.Importance != widget.SuccessImportance {
			t.Errorf("message %q", tab.msg.Text)
		}
		tab.value.SetText("{broken")
		test.Tap(tab.save)
		h.wait()
		if tab.msg.Importance != widget.DangerImportance || !strings.Contains(tab.msg.Text, "not JSON") {
			t.Errorf("saving broken JSON: %q", tab.msg.Text)
		}
		tab.format.SetSelected(kvText)
	})

	t.Run("new key", func(t *testing.T) {
		tab.clear()
		typeInto(tab.key, "notes/first")
		tab.value.SetText("hello")
		test.Tap(tab.save)
		h.wait()
		if got, err := cl.KVGet(h.ctx(), "store", "notes/first"); err != nil || string(got.Value) != "hello" {
			t.Fatalf("new key stored %q, %v", got.Value, err)
		}
		typeInto(tab.key, strings.Repeat("k", 513))
		test.Tap(tab.save)
		h.wait()
		if tab.msg.Importance != widget.DangerImportance || !strings.Contains(tab.msg.Text, "512 bytes") {
			t.Errorf("a key too long: %q", tab.msg.Text)
		}
		tab.key.SetText("big")
		tab.value.SetText(strings.Repeat("x", 12<<10))
		test.Tap(tab.save)
		h.wait()
		if tab.msg.Importance != widget.DangerImportance || !strings.Contains(tab.msg.Text, "quota") {
			t.Errorf("past the quota: %q", tab.msg.Text)
		}
	})

	t.Run("delete asks first", func(t *testing.T) {
		typeInto(tab.prefx, "notes/")
		h.wait()
		tab.list.Select(0)
		h.wait()
		test.Tap(tab.del)
		if _, err := cl.KVGet(h.ctx(), "store", "notes/first"); err != nil {
			t.Fatal("deleted before the confirmation")
		}
		confirm := h.dialogButton("Delete")
		if confirm.Importance != widget.DangerImportance {
			t.Errorf("the confirmation's button is not red")
		}
		test.Tap(confirm)
		h.wait()
		if _, err := cl.KVGet(h.ctx(), "store", "notes/first"); !shared.IsCode(err, shared.CodeNotFound) {
			t.Fatalf("after delete: %v", err)
		}
		if len(tab.keys) != 0 || tab.key.Text != "" || !tab.del.Disabled() {
			t.Errorf("after delete: %d keys, editor %q", len(tab.keys), tab.key.Text)
		}
	})
}

// A value too big for the text widget is shown cut and read-only, so the
// console stays responsive; the node keeps it whole.
func TestDataTabBigValue(t *testing.T) {
	h := paired(t)
	h.createApp("Big", "big")
	if err := h.node.Client.KVPut(h.ctx(), "big", "blob", []byte(strings.Repeat("y", kvEditMax+10)), shared.KVPutOptions{}); err != nil {
		t.Fatal(err)
	}
	v := h.openApp("big")
	v.Select("Data")
	h.wait()
	tab := v.kv
	tab.list.Select(0)
	h.wait()
	if len(tab.value.Text) != kvEditMax || !tab.value.Disabled() || !tab.save.Disabled() || !strings.Contains(tab.info.Text, "too large to edit") {
		t.Fatalf("big value: %d chars, disabled %v/%v, info %q", len(tab.value.Text), tab.value.Disabled(), tab.save.Disabled(), tab.info.Text)
	}
	tab.clear()
	if tab.value.Disabled() || tab.save.Disabled() {
		t.Error("a new key is not editable after a big value")
	}
}

func TestExpiresIn(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		exp  int64
		want string
	}{
		{0, "never expires"},
		{now.Unix() - 1, "expired"},
		{now.Unix() + 30, "expires in 30 s"},
		{now.Unix() + 3599, "expires in 59 min"},
		{now.Unix() + 3600*5, "expires in 5 h"},
		{now.Unix() + 86400*3, "expires in 3 days"},
	} {
		if got := expiresIn(tc.exp, now); got != tc.want {
			t.Errorf("expiresIn(now%+d) = %q, want %q", tc.exp-now.Unix(), got, tc.want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 64 << 20: "64.0 MiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
