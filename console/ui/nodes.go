package ui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared/discovery"
	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/shared"
)

// Browser is the LAN browser (shared/discovery) as the sidebar uses it:
// the nodes it lists (found over mDNS or typed in), a change signal, and
// manual addresses.
type Browser interface {
	Nodes() []discovery.Node
	Changes() <-chan struct{}
	AddManual(ctx context.Context, addr string) (discovery.Node, error)
	RemoveManual(addr string) bool
}

// nodeEntry is one row of the sidebar: a paired node, a node seen on the
// LAN, a node added by hand, or several of these at once (keyed by node id;
// a manual address that never answered is keyed by its address).
type nodeEntry struct {
	key      string
	id       string
	name     string
	version  string
	address  string // admin host:port
	scheme   string
	dataPort int

	paired     bool
	discovered bool
	manual     string // host:port typed by the user
	online     bool
	probed     bool   // state known (a probe finished or the LAN answered)
	mismatch   string // identity warning; the node is not used while set
	lastErr    string
}

func (e *nodeEntry) title() string {
	switch {
	case e.name != "":
		return e.name
	case e.address != "":
		return e.address
	}
	return e.manual
}

// nodeList is the sidebar. All its state lives on the UI goroutine.
type nodeList struct {
	c        *Console
	entries  map[string]*nodeEntry
	rows     *fyne.Container
	sel      string
	reprobed time.Time // last reprobe, to not probe on every failed call
}

func newNodeList(c *Console) *nodeList {
	l := &nodeList{c: c, entries: make(map[string]*nodeEntry), rows: container.NewVBox()}
	if c.reg != nil {
		for _, n := range c.reg.Nodes() {
			l.entries[n.ID] = &nodeEntry{key: n.ID, id: n.ID, name: n.Name, address: n.Address, scheme: schemeOr(n.Scheme), paired: true}
		}
	}
	return l
}

func schemeOr(s string) string {
	if s == "" {
		return "https"
	}
	return s
}

func (l *nodeList) view() fyne.CanvasObject {
	add := widget.NewButtonWithIcon("Add node…", theme.ContentAddIcon(), l.askAddress)
	refresh := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), l.probeAll)
	head := container.NewBorder(nil, nil, widget.NewLabelWithStyle("Nodes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), refresh)
	l.render()
	return container.NewBorder(container.NewVBox(head, widget.NewSeparator()), add, nil, nil, container.NewVScroll(l.rows))
}

// start begins the LAN feed and the periodic probe of paired nodes.
func (l *nodeList) start() {
	l.probeAll()
	if b := l.c.opts.Browser; b != nil {
		l.merge(b.Nodes())
		go func() {
			for {
				select {
				case <-l.c.ctx.Done():
					return
				case _, ok := <-b.Changes():
					if !ok {
						return
					}
					// Read the browser when the UI runs the update, not now:
					// a snapshot taken here could be older than a change the
					// UI made itself meanwhile (e.g. Remove) and undo it.
					l.c.opts.Post(func() { l.merge(b.Nodes()) })
				}
			}
		}()
	}
	if l.c.opts.Probe > 0 {
		go func() {
			t := time.NewTicker(l.c.opts.Probe)
			defer t.Stop()
			for {
				select {
				case <-l.c.ctx.Done():
					return
				case <-t.C:
					l.c.opts.Post(l.probeAll)
				}
			}
		}()
	}
}

// merge folds the browser's list into the sidebar. A paired node seen at a
// new address remembers it.
func (l *nodeList) merge(nodes []discovery.Node) {
	now := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		key := n.ID
		if key == "" {
			key = "addr:" + n.Manual
		}
		now[key] = true
		e, ok := l.entries[key]
		if !ok {
			e = &nodeEntry{key: key, id: n.ID}
			l.entries[key] = e
		}
		e.discovered, e.manual = n.Discovered, n.Manual
		if n.Name != "" {
			e.name = n.Name
		}
		if n.Version != "" {
			e.version = n.Version
		}
		if n.DataPort != 0 {
			e.dataPort = n.DataPort
		}
		// A paired node keeps the scheme it was paired over: an announcement
		// saying admin=http must not make the console send the token in the
		// clear. Its address may move only while TLS pins its identity.
		addrs := n.AdminAddrs()
		switch {
		case len(addrs) == 0 || (n.Err != nil && e.address != ""):
		case e.paired && e.scheme == "https" && n.Admin == "https":
			if e.address != addrs[0] && l.c.reg != nil {
				if err := l.c.reg.SetAddress(e.id, e.name, addrs[0]); err != nil {
					l.c.report("remember address: "+err.Error(), true)
				}
			}
			e.address = addrs[0]
		case !e.paired:
			e.address = addrs[0]
			if n.Admin != "" {
				e.scheme = n.Admin
			}
		}
		if e.scheme == "" {
			e.scheme = "https"
		}
		e.probed = true
		e.online = n.Discovered || (n.Manual != "" && n.Err == nil && n.ID != "")
		var mm *shared.IdentityMismatchError
		switch {
		case errors.As(n.Err, &mm):
			e.mismatch = mismatchText(mm.Expected, mm.Got)
		case n.Err != nil:
			e.lastErr = Message(n.Err)
		default:
			e.lastErr = ""
			if !e.paired { // paired nodes' identity is probeAll's to judge
				e.mismatch = ""
			}
		}
	}
	for key, e := range l.entries {
		if now[key] {
			continue
		}
		e.discovered, e.manual = false, ""
		if !e.paired {
			delete(l.entries, key)
		}
	}
	l.render()
}

// sorted returns the entries: paired first, then by title.
func (l *nodeList) sorted() []*nodeEntry {
	out := make([]*nodeEntry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].paired != out[j].paired {
			return out[i].paired
		}
		if out[i].title() != out[j].title() {
			return out[i].title() < out[j].title()
		}
		return out[i].key < out[j].key
	})
	return out
}

func (l *nodeList) render() {
	var objs []fyne.CanvasObject
	for _, e := range l.sorted() {
		objs = append(objs, l.row(e), widget.NewSeparator())
	}
	if len(objs) == 0 {
		hint := widget.NewLabel("No nodes yet. Nodes on this network show up here; or add one by address.")
		hint.Wrapping = fyne.TextWrapWord
		objs = append(objs, hint)
	}
	l.rows.Objects = objs
	l.rows.Refresh()
}

func (l *nodeList) row(e *nodeEntry) fyne.CanvasObject {
	entry := e
	name := widget.NewButtonWithIcon(e.title(), theme.ComputerIcon(), func() { l.open(entry) })
	name.Alignment = widget.ButtonAlignLeading
	if l.sel == e.key {
		name.Importance = widget.HighImportance
	} else {
		name.Importance = widget.LowImportance
	}
	var state string
	switch {
	case !e.probed:
		state = "○ checking…"
	case e.online:
		state = "● online"
	default:
		state = "○ offline"
	}
	if e.version != "" {
		state += " · " + versionText(e.version)
	}
	if e.paired {
		state += " · paired"
	}
	status := widget.NewLabel(state)
	if e.online {
		status.Importance = widget.SuccessImportance
	}
	objs := []fyne.CanvasObject{name, status}
	if e.address != "" {
		addr := widget.NewLabelWithStyle(e.scheme+"://"+e.address, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		addr.Truncation = fyne.TextTruncateEllipsis
		objs = append(objs, addr)
	}
	if e.mismatch != "" {
		w := widget.NewLabel("⚠ " + e.mismatch)
		w.Wrapping = fyne.TextWrapWord
		w.Importance = widget.DangerImportance
		objs = append(objs, w)
	} else if e.lastErr != "" && !e.online {
		w := widget.NewLabel(e.lastErr)
		w.Wrapping = fyne.TextWrapWord
		w.Importance = widget.WarningImportance
		objs = append(objs, w)
	}
	switch {
	case !e.paired && e.id != "":
		id := widget.NewLabelWithStyle("id "+e.id, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		id.Truncation = fyne.TextTruncateEllipsis
		pair := widget.NewButtonWithIcon("Pair…", theme.LoginIcon(), func() { l.askToken(entry) })
		pair.Importance = widget.HighImportance
		objs = append(objs, id, pair)
	case e.paired:
		forget := widget.NewButtonWithIcon("Forget", theme.DeleteIcon(), func() { l.forget(entry) })
		forget.Importance = widget.LowImportance
		objs = append(objs, container.NewHBox(forget))
	}
	if !e.paired && e.manual != "" && l.c.opts.Browser != nil {
		rm := widget.NewButtonWithIcon("Remove", theme.ContentRemoveIcon(), func() {
			l.c.opts.Browser.RemoveManual(entry.manual)
			l.merge(l.c.opts.Browser.Nodes())
		})
		rm.Importance = widget.LowImportance
		objs = append(objs, container.NewHBox(rm))
	}
	return container.NewVBox(objs...)
}

// client returns an admin client for e: pinned to its node id over https,
// plain for a node whose admin API runs without TLS (development).
func (l *nodeList) client(e *nodeEntry, token string) Admin {
	return newClient(e.scheme, e.address, token, e.id)
}

// reprobe refreshes the sidebar soon after a call could not reach a node,
// so a node that went away shows as offline without waiting for the timer.
func (l *nodeList) reprobe(error) {
	if time.Since(l.reprobed) < 3*time.Second {
		return
	}
	l.reprobed = time.Now()
	l.probeAll()
}

// probeAll checks every paired node at its last address: online, name,
// version, and, pinned to its id, that it still is the node it was paired
// with. Nodes only seen by the browser are the browser's to probe.
func (l *nodeList) probeAll() {
	for _, e := range l.entries {
		if !e.paired || e.address == "" {
			continue
		}
		entry := e
		scheme, addr, id := e.scheme, e.address, e.id // the goroutine must not read entry
		call(l.c.tasks, "check "+entry.title(), func(ctx context.Context) (discovery.Node, error) {
			return discovery.Probe(ctx, scheme, addr, id)
		}, func(n discovery.Node) {
			entry.probed, entry.online, entry.lastErr, entry.mismatch = true, true, "", ""
			entry.name, entry.version = n.Name, n.Version
			l.render()
		}, func(err error) bool {
			entry.probed, entry.online = true, false
			var mm *shared.IdentityMismatchError
			if errors.As(err, &mm) {
				entry.mismatch = mismatchText(mm.Expected, mm.Got)
			} else {
				entry.lastErr = Message(err)
			}
			l.render()
			return true // offline is a state shown in the row, not an error
		})
	}
}

func mismatchText(want, got string) string {
	return fmt.Sprintf("Identity mismatch: this address now answers as node %s, not %s as paired. "+
		"The node is not used. If it was reinstalled, forget it and pair again.", got, want)
}

// open shows the node's apps, or explains why it cannot.
func (l *nodeList) open(e *nodeEntry) {
	l.sel = e.key
	l.render()
	switch {
	case e.mismatch != "":
		l.c.report(e.title()+": "+e.mismatch, true)
		l.c.showWelcome()
		return
	case !e.paired:
		l.c.info(e.title() + " is not paired yet: use Pair… and type its admin token (picloud-node token).")
		return
	}
	n, _ := l.c.reg.Get(e.id)
	l.c.openNode(&nodeView{c: l.c, entry: e, client: l.client(e, n.Token)})
}

// OpenNode opens a paired node by id.
func (c *Console) OpenNode(id string) {
	e, ok := c.nodes.entries[id]
	if !ok {
		c.report("no node "+id, true)
		return
	}
	c.nodes.open(e)
}

// askAddress adds a node by host:port.
func (l *nodeList) askAddress() {
	addr := widget.NewEntry()
	addr.SetPlaceHolder("192.168.1.20:7070")
	d := dialog.NewForm("Add node", "Add", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Address", addr),
	}, func(ok bool) {
		if ok {
			l.c.AddAddress(strings.TrimSpace(addr.Text))
		}
	}, l.c.win)
	d.Resize(fyne.NewSize(420, 160))
	d.Show()
}

// AddAddress adds a node by host:port. The browser learns the node's id
// (from its TLS certificate, or /version for a plain-HTTP admin API) and
// the node shows as unpaired, or as the paired node it turns out to be.
func (c *Console) AddAddress(addr string) {
	l := c.nodes
	if _, _, err := discovery.ParseAddr(addr); err != nil {
		c.report(err.Error(), true)
		return
	}
	b := c.opts.Browser
	if b == nil {
		c.report("add node: no browser", true)
		return
	}
	call(c.tasks, "add "+addr, func(ctx context.Context) (discovery.Node, error) {
		n, err := b.AddManual(ctx, addr)
		if err != nil && n.ID == "" {
			return n, err
		}
		return n, nil
	}, func(n discovery.Node) {
		l.merge(b.Nodes())
		if e, ok := l.entries[n.ID]; ok && e.paired {
			c.info(fmt.Sprintf("%s at %s is already paired", e.title(), n.Manual))
		} else {
			c.info(fmt.Sprintf("found %s (node id %s) at %s: pair it with its admin token", n.Name, n.ID, n.Manual))
		}
	}, func(err error) bool {
		l.merge(b.Nodes())
		return false
	})
}

// askToken asks for the admin token and pairs.
func (l *nodeList) askToken(e *nodeEntry) {
	tok := widget.NewPasswordEntry()
	tok.SetPlaceHolder("output of: picloud-node token")
	msg := widget.NewLabel(fmt.Sprintf("Node id %s\nCheck it matches what the node printed on first start.", e.id))
	d := dialog.NewForm("Pair with "+e.title(), "Pair", "Cancel", []*widget.FormItem{
		widget.NewFormItem("", msg),
		widget.NewFormItem("Admin token", tok),
	}, func(ok bool) {
		if ok {
			l.c.Pair(e.id, strings.TrimSpace(tok.Text))
		}
	}, l.c.win)
	d.Resize(fyne.NewSize(560, 220))
	d.Show()
}

// Pair checks token against the node with an authenticated call and, if
// the node accepts it, remembers the node. A wrong token is refused and
// nothing is stored.
func (c *Console) Pair(id, token string) {
	l := c.nodes
	e, ok := l.entries[id]
	if !ok {
		c.report("pair: unknown node "+id, true)
		return
	}
	if token == "" {
		c.report("pair: the admin token is empty", true)
		return
	}
	cl := l.client(e, token)
	call(c.tasks, "pair with "+e.title(), func(ctx context.Context) (shared.Version, error) {
		v, err := cl.Version(ctx)
		if err != nil {
			return v, err
		}
		if !shared.SameNodeID(v.NodeID, id) {
			return v, &shared.IdentityMismatchError{Expected: id, Got: v.NodeID}
		}
		_, err = cl.ListApps(ctx) // the first call that needs the token
		return v, err
	}, func(v shared.Version) {
		n := registry.Node{ID: id, Name: v.Name, Token: token, Address: e.address, Scheme: e.scheme, Paired: time.Now().UTC()}
		if err := c.reg.Put(n); err != nil {
			c.report("pair: "+err.Error(), true)
			return
		}
		e.paired, e.name, e.version, e.mismatch, e.online, e.probed = true, v.Name, v.Version, "", true, true
		l.render()
		c.info("paired with " + e.title())
		l.open(e)
	}, func(err error) bool {
		var mm *shared.IdentityMismatchError
		if errors.As(err, &mm) {
			e.mismatch = mismatchText(mm.Expected, mm.Got)
			l.render()
		}
		c.report("pairing with "+e.title()+" refused: "+Message(err), true)
		return true
	})
}

func (l *nodeList) forget(e *nodeEntry) {
	dialog.ShowConfirm("Forget "+e.title()+"?", "The console forgets this node and its admin token. You can pair again later.", func(ok bool) {
		if !ok {
			return
		}
		if err := l.c.reg.Remove(e.id); err != nil {
			l.c.report("forget: "+err.Error(), true)
			return
		}
		e.paired = false
		if !e.discovered && e.manual == "" {
			delete(l.entries, e.key)
		}
		if l.c.cur != nil && l.c.cur.entry == e {
			l.c.showWelcome()
		}
		l.render()
	}, l.c.win)
}

// versionText shows 1.2.3 as v1.2.3 and leaves builds like "dev" alone.
func versionText(v string) string {
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		return "v" + v
	}
	return v
}
