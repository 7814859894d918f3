package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// kvAdmin is what the Data tab needs of a node.
type kvAdmin interface {
	KVList(ctx context.Context, ref string, q shared.KVListQuery) (shared.KVList, error)
	KVGet(ctx context.Context, ref, key string) (shared.KVValue, error)
	KVPut(ctx context.Context, ref, key string, value []byte, opt shared.KVPutOptions) error
	KVDelete(ctx context.Context, ref, key string) error
}

// kvPage is how many keys the Data tab loads at a time; more come with
// "Load more", so an app with thousands of keys opens at once. The list
// widget only builds the rows on screen.
const kvPage = 200

// kvEditMax is the largest value the editor takes: a text widget slows
// down badly with megabytes in it. A bigger value is shown cut, read-only.
const kvEditMax = 16 << 10

// Value formats of the editor.
const (
	kvText = "Text"
	kvJSON = "Pretty JSON"
)

// kvTab is the app's KV data (SPEC §7): its keys with prefix search and
// paging, their size and expiry, a value editor, and usage against the
// quota.
type kvTab struct {
	v     *appView
	view  fyne.CanvasObject
	usage *widget.ProgressBar
	used  string // the usage bar's text
	prefx *widget.Entry
	list  *widget.List
	count *widget.Label
	more  *widget.Button
	msg   *widget.Label

	keys   []shared.KVKey
	cursor string // of the next page; "" when the list is complete
	gen    int    // bumped by each new search: older answers are dropped
	app    shared.App
	quota  int64 // from the list's answer

	// The editor: the key shown, as loaded (meta and exp are kept on save).
	key    *widget.Entry
	value  *widget.Entry
	format *widget.RadioGroup
	info   *widget.Label
	save   *widget.Button
	del    *widget.Button
	loaded string // the key the editor holds, "" for a new one
	meta   json.RawMessage
	exp    int64
	now    func() time.Time
}

func newKVTab(v *appView) *kvTab {
	t := &kvTab{v: v, usage: widget.NewProgressBar(), prefx: widget.NewEntry(), count: widget.NewLabel(""), msg: newMsg(),
		key: widget.NewEntry(), value: widget.NewMultiLineEntry(), info: widget.NewLabel(""), now: time.Now}
	t.usage.TextFormatter = func() string { return t.used }
	t.prefx.SetPlaceHolder("Search keys by prefix")
	t.prefx.OnChanged = func(string) { t.reload() }
	t.list = widget.NewList(func() int { return len(t.keys) }, t.newRow, t.updateRow)
	t.list.OnSelected = func(id widget.ListItemID) {
		if id >= 0 && id < len(t.keys) {
			t.open(t.keys[id].Name)
		}
	}
	t.more = widget.NewButtonWithIcon("Load more", theme.MoreVerticalIcon(), t.loadMore)
	t.more.Hide()
	newKey := widget.NewButtonWithIcon("New key", theme.ContentAddIcon(), t.clear)

	t.key.SetPlaceHolder("key")
	t.value.SetPlaceHolder("value")
	t.value.Wrapping = fyne.TextWrapBreak
	t.value.TextStyle = fyne.TextStyle{Monospace: true}
	t.format = widget.NewRadioGroup([]string{kvText, kvJSON}, t.reformat)
	t.format.Horizontal = true
	t.format.SetSelected(kvText)
	t.info.Wrapping = fyne.TextWrapWord
	t.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), t.store)
	t.save.Importance = widget.HighImportance
	t.del = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), t.confirmDelete)
	t.del.Importance = widget.DangerImportance
	t.del.Disable()

	left := container.NewBorder(container.NewVBox(t.usage, container.NewBorder(nil, nil, nil, newKey, t.prefx), t.count),
		t.more, nil, nil, t.list)
	editor := container.NewBorder(
		container.NewVBox(widget.NewForm(widget.NewFormItem("Key", t.key)), t.info, t.format),
		container.NewVBox(t.msg, container.NewHBox(t.save, t.del)), nil, nil, t.value)
	split := container.NewHSplit(left, editor)
	split.Offset = 0.45
	t.view = split
	t.clear()
	return t
}

func (t *kvTab) newRow() fyne.CanvasObject {
	name := widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	name.Truncation = fyne.TextTruncateEllipsis
	return container.NewBorder(nil, nil, nil, widget.NewLabel(""), name)
}

func (t *kvTab) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(t.keys) {
		return
	}
	k := t.keys[id]
	c := o.(*fyne.Container)
	c.Objects[0].(*widget.Label).SetText(k.Name)
	c.Objects[1].(*widget.Label).SetText(humanBytes(k.Size) + " · " + expiresIn(k.Expiration, t.now()))
}

// reload shows the first page of keys matching the search, and the usage.
func (t *kvTab) reload() {
	v := t.v
	t.gen++
	gen, prefix := t.gen, t.prefx.Text
	call(v.tasks, "load KV keys", func(ctx context.Context) (shared.KVList, error) {
		return v.client.KVList(ctx, v.ref, shared.KVListQuery{Prefix: prefix, Limit: kvPage})
	}, func(page shared.KVList) {
		if gen == t.gen {
			t.keys = nil
			t.show(page)
		}
	}, nil)
	call(v.tasks, "load KV usage", func(ctx context.Context) (shared.App, error) {
		return v.client.App(ctx, v.ref)
	}, t.showUsage, nil)
}

func (t *kvTab) loadMore() {
	v := t.v
	gen, prefix, cursor := t.gen, t.prefx.Text, t.cursor
	if cursor == "" {
		return
	}
	call(v.tasks, "load more KV keys", func(ctx context.Context) (shared.KVList, error) {
		return v.client.KVList(ctx, v.ref, shared.KVListQuery{Prefix: prefix, Cursor: cursor, Limit: kvPage})
	}, func(page shared.KVList) {
		if gen == t.gen {
			t.show(page)
		}
	}, nil)
}

// show appends a page to the list.
func (t *kvTab) show(page shared.KVList) {
	t.keys = append(t.keys, page.Keys...)
	t.cursor = page.Cursor
	if page.ListComplete {
		t.more.Hide()
	} else {
		t.more.Show()
	}
	switch {
	case len(t.keys) == 0 && t.prefx.Text != "":
		t.count.SetText("No key starts with " + t.prefx.Text + ".")
	case len(t.keys) == 0:
		t.count.SetText("No keys yet. Scripts store them with env.KV.put(key, value), or add one here.")
	case page.ListComplete:
		t.count.SetText(fmt.Sprintf("%d keys", len(t.keys)))
	default:
		t.count.SetText(fmt.Sprintf("First %d keys", len(t.keys)))
	}
	if page.Quota > 0 {
		t.quota = page.Quota
		t.showUsage(t.app)
	}
	t.list.UnselectAll()
	t.list.Refresh()
}

// showUsage shows the app's usage against the quota; the two come in
// separate answers, in either order.
func (t *kvTab) showUsage(a shared.App) {
	t.app = a
	quota := t.quota
	if quota <= 0 {
		quota = shared.DefaultKVMaxAppBytes
	}
	t.used = fmt.Sprintf("%s of %s used · %d keys", humanBytes(a.KVBytes), humanBytes(quota), a.KVKeys)
	t.usage.Max = float64(quota)
	t.usage.SetValue(float64(a.KVBytes))
}

// open loads a key into the editor.
func (t *kvTab) open(key string) {
	v := t.v
	call(v.tasks, "load KV value", func(ctx context.Context) (shared.KVValue, error) {
		return v.client.KVGet(ctx, v.ref, key)
	}, func(val shared.KVValue) {
		var exp int64
		var size int64
		for _, k := range t.keys {
			if k.Name == key {
				exp, size = k.Expiration, k.Size
			}
		}
		t.loaded, t.meta, t.exp = key, val.Metadata, exp
		t.key.SetText(key)
		info := humanBytes(size) + " · " + expiresIn(exp, t.now())
		if len(val.Metadata) > 0 {
			info += " · metadata " + string(val.Metadata)
		}
		t.editable(len(val.Value) <= kvEditMax)
		if len(val.Value) > kvEditMax {
			info += " · too large to edit here: the first 16 KiB are shown"
			val.Value = []byte(strings.ToValidUTF8(string(val.Value[:kvEditMax]), ""))
		}
		t.info.SetText(info)
		t.value.SetText(string(val.Value))
		if t.format.Selected == kvJSON && !json.Valid(val.Value) {
			t.format.SetSelected(kvText)
		} else {
			t.reformat(t.format.Selected)
		}
		t.del.Enable()
		showMsg(t.msg, "", widget.MediumImportance)
	}, func(err error) bool {
		showMsg(t.msg, Message(err), widget.DangerImportance)
		return true
	})
}

// clear makes the editor a new, empty key.
func (t *kvTab) clear() {
	t.loaded, t.meta, t.exp = "", nil, 0
	t.key.SetText("")
	t.value.SetText("")
	t.info.SetText("A new key: type its name and value, then Save.")
	t.editable(true)
	t.del.Disable()
	t.list.UnselectAll()
}

// editable enables or disables editing the value.
func (t *kvTab) editable(ok bool) {
	if ok {
		t.value.Enable()
		t.save.Enable()
	} else {
		t.value.Disable()
		t.save.Disable()
	}
}

// reformat shows the value as text or as indented JSON.
func (t *kvTab) reformat(format string) {
	if format != kvJSON {
		return
	}
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(t.value.Text), "", "  "); err != nil {
		showMsg(t.msg, "The value is not JSON: "+err.Error(), widget.DangerImportance)
		t.format.SetSelected(kvText)
		return
	}
	t.value.SetText(b.String())
}

// store saves the editor's value, keeping the key's metadata and what is
// left of its time to live. A value shown as pretty JSON is saved compact.
func (t *kvTab) store() {
	key, value := t.key.Text, []byte(t.value.Text)
	if err := shared.CheckKVKey(key); err != nil {
		showMsg(t.msg, Message(err), widget.DangerImportance)
		return
	}
	if t.format.Selected == kvJSON {
		var b bytes.Buffer
		if err := json.Compact(&b, value); err != nil {
			showMsg(t.msg, "The value is not JSON: "+err.Error()+". Switch to Text to save it as it is.", widget.DangerImportance)
			return
		}
		value = b.Bytes()
	}
	var opt shared.KVPutOptions
	if key == t.loaded {
		opt.Metadata = t.meta
		if t.exp != 0 {
			left := t.exp - t.now().Unix()
			opt.ExpirationTTL = max(left, shared.KVMinTTL)
		}
	}
	v := t.v
	call(v.tasks, "save KV value", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, v.client.KVPut(ctx, v.ref, key, value, opt)
	}, func(struct{}) {
		showMsg(t.msg, "Saved "+key+".", widget.SuccessImportance)
		t.loaded = key
		t.del.Enable()
		t.reload()
	}, func(err error) bool {
		showMsg(t.msg, Message(err), widget.DangerImportance)
		return true
	})
}

func (t *kvTab) confirmDelete() {
	key := t.loaded
	if key == "" {
		return
	}
	d := dialog.NewConfirm("Delete key?", key+" and its value will be gone for the app's scripts.", func(ok bool) {
		if ok {
			t.remove(key)
		}
	}, t.v.win)
	d.SetConfirmText("Delete")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (t *kvTab) remove(key string) {
	v := t.v
	call(v.tasks, "delete KV key", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, v.client.KVDelete(ctx, v.ref, key)
	}, func(struct{}) {
		t.clear()
		showMsg(t.msg, "Deleted "+key+".", widget.SuccessImportance)
		t.reload()
	}, func(err error) bool {
		showMsg(t.msg, Message(err), widget.DangerImportance)
		return true
	})
}

// humanBytes is n in B, KiB or MiB.
func humanBytes(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// expiresIn says when an expiration (seconds since the epoch, 0 for none)
// comes, relative to now.
func expiresIn(exp int64, now time.Time) string {
	if exp == 0 {
		return "never expires"
	}
	d := time.Unix(exp, 0).Sub(now)
	switch {
	case d <= 0:
		return "expired"
	case d < time.Minute:
		return fmt.Sprintf("expires in %d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("expires in %d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("expires in %d h", int(d.Hours()))
	}
	return fmt.Sprintf("expires in %d days", int(d.Hours()/24))
}
