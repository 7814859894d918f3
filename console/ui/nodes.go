package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/nodes"
	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/shared"
	"github.com/picloud/picloud/shared/discovery"
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

// nodeList is the sidebar: the nodes.List and its widgets. All its state
// lives on the UI goroutine.
type nodeList struct {
	c    *Console
	list *nodes.List
	rows *fyne.Container
	sel  string
	// pairDialog is the last pairing dialog opened (tests).
	pairDialog *formDialog
	reprobed   time.Time // last reprobe, to not probe on every failed call
	// shown is what the rows on screen say (rowsKey); a probe that changes
	// nothing leaves the widgets alone, so an idle console repaints nothing.
	shown string
}

func newNodeList(c *Console) *nodeList {
	var paired []registry.Node
	if c.reg != nil {
		paired = c.reg.Nodes()
	}
	return &nodeList{c: c, list: nodes.New(paired), rows: container.NewVBox()}
}

func (l *nodeList) view() fyne.CanvasObject {
	add := widget.NewButtonWithIcon("Add node…", theme.ContentAddIcon(), l.askAddress)
	about := widget.NewButtonWithIcon("", theme.InfoIcon(), l.c.showAbout)
	about.Importance = widget.LowImportance
	refresh := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), l.probeAll)
	head := container.NewBorder(nil, nil, widget.NewLabelWithStyle("Nodes", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), refresh)
	l.render()
	return container.NewBorder(container.NewVBox(head, widget.NewSeparator()), container.NewBorder(nil, nil, nil, about, add), nil, nil, container.NewVScroll(l.rows))
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
// new (pinned) address remembers it.
func (l *nodeList) merge(found []discovery.Node) {
	for _, m := range l.list.Merge(found) {
		if l.c.reg == nil {
			continue
		}
		if err := l.c.reg.SetAddress(m.ID, m.Name, m.Address); err != nil {
			l.c.report("remember address: "+err.Error(), true)
		}
	}
	l.render()
}

func (l *nodeList) render() {
	defer l.c.showBanner() // the open node's state may have changed
	key := l.rowsKey()
	if key == l.shown && l.rows.Objects != nil {
		return
	}
	l.shown = key
	var objs []fyne.CanvasObject
	for _, e := range l.list.Sorted() {
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

// rowsKey is everything the rows show, in order.
func (l *nodeList) rowsKey() string {
	var b strings.Builder
	b.WriteString(l.sel)
	for _, e := range l.list.Sorted() {
		fmt.Fprintf(&b, "\x00%s|%s|%s|%s|%s|%s|%t|%t|%t|%s|%s|%s", e.Key, e.ID, e.Title(), e.Version, e.Scheme, e.Address,
			e.Paired, e.Online, e.Probed, e.Mismatch, e.Manual, Message(e.Err))
	}
	return b.String()
}

func (l *nodeList) row(e *nodes.Entry) fyne.CanvasObject {
	entry := e
	name := widget.NewButtonWithIcon(e.Title(), theme.ComputerIcon(), func() { l.c.leave(func() { l.open(entry) }) })
	name.Alignment = widget.ButtonAlignLeading
	if l.sel == e.Key {
		name.Importance = widget.HighImportance
	} else {
		name.Importance = widget.LowImportance
	}
	var state string
	switch {
	case !e.Probed:
		state = "• checking…"
	case e.Online:
		state = "• online"
	default:
		state = "• offline"
	}
	if e.Version != "" {
		state += " · " + versionText(e.Version)
	}
	if e.Paired {
		state += " · paired"
	}
	status := widget.NewLabel(state)
	if e.Online {
		status.Importance = widget.SuccessImportance
	}
	objs := []fyne.CanvasObject{name, status}
	if e.Address != "" {
		addr := widget.NewLabelWithStyle(e.Scheme+"://"+e.Address, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		addr.Truncation = fyne.TextTruncateEllipsis
		objs = append(objs, addr)
	}
	if e.Mismatch != "" {
		w := widget.NewLabel("⚠ " + e.Mismatch)
		w.Wrapping = fyne.TextWrapWord
		w.Importance = widget.DangerImportance
		objs = append(objs, w)
	} else if e.Err != nil && !e.Online {
		w := widget.NewLabel(Message(e.Err))
		w.Wrapping = fyne.TextWrapWord
		w.Importance = widget.WarningImportance
		objs = append(objs, w)
	}
	switch {
	case !e.Paired && e.ID != "":
		id := widget.NewLabelWithStyle("id "+e.ID, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		id.Truncation = fyne.TextTruncateEllipsis
		pair := widget.NewButtonWithIcon("Pair…", theme.LoginIcon(), func() { l.askToken(entry) })
		pair.Importance = widget.HighImportance
		objs = append(objs, id, pair)
	case e.Paired:
		if e.ID != "" {
			objs = append(objs, l.idRow(e.ID))
		}
		forget := widget.NewButtonWithIcon("Forget", theme.DeleteIcon(), func() { l.forget(entry) })
		forget.Importance = widget.LowImportance
		objs = append(objs, container.NewHBox(forget))
	}
	if !e.Paired && e.Manual != "" && l.c.opts.Browser != nil {
		rm := widget.NewButtonWithIcon("Remove", theme.ContentRemoveIcon(), func() {
			l.c.opts.Browser.RemoveManual(entry.Manual)
			l.merge(l.c.opts.Browser.Nodes())
		})
		rm.Importance = widget.LowImportance
		objs = append(objs, container.NewHBox(rm))
	}
	return container.NewVBox(objs...)
}

// idRow shows a paired node's id with a button that copies it (to compare
// with what the node prints, or to paste into picloud-node join).
func (l *nodeList) idRow(id string) fyne.CanvasObject {
	label := widget.NewLabelWithStyle("id "+id, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	label.Truncation = fyne.TextTruncateEllipsis
	cp := widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() {
		fyne.CurrentApp().Clipboard().SetContent(id)
		l.c.info("copied the node id " + id)
	})
	cp.Importance = widget.LowImportance
	return container.NewBorder(nil, nil, nil, cp, label)
}

// client returns an admin client for e: pinned to its node id over https,
// plain for a node whose admin API runs without TLS (development).
func (l *nodeList) client(e *nodes.Entry, token string) Admin {
	return newClient(e.Scheme, e.Address, token, e.ID)
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
	for _, e := range l.list.Sorted() {
		if !e.Paired || e.Address == "" {
			continue
		}
		entry := e
		scheme, addr, id := e.Scheme, e.Address, e.ID // the goroutine must not read entry
		call(l.c.tasks.quietly(), "check "+entry.Title(), func(ctx context.Context) (discovery.Node, error) {
			return discovery.Probe(ctx, scheme, addr, id)
		}, func(n discovery.Node) {
			entry.Reached(n)
			l.c.reconnected()
			l.render()
		}, func(err error) bool {
			entry.Unreachable(err)
			l.render()
			return true // offline is a state shown in the row, not an error
		})
	}
}

// open shows the node's apps, or explains why it cannot.
func (l *nodeList) open(e *nodes.Entry) {
	l.sel = e.Key
	l.render()
	switch {
	case e.Mismatch != "":
		l.c.report(e.Title()+": "+e.Mismatch, true)
		l.c.showWelcome()
		return
	case !e.Paired:
		l.c.info(e.Title() + " is not paired yet: use Pair… and type its admin token (picloud-node token).")
		return
	}
	n, _ := l.c.reg.Get(e.ID)
	c := l.c
	c.openNode(&nodeView{c: c, entry: e, env: env{tasks: c.tasks, client: l.client(e, n.Token), win: c.win, post: c.opts.Post, leave: c.leave,
		confirm: c.confirmDelete, show: c.show}})
}

// OpenNode opens a paired node by id.
func (c *Console) OpenNode(id string) {
	e, ok := c.nodes.list.Get(id)
	if !ok {
		c.report("no node "+id, true)
		return
	}
	c.nodes.open(e)
}

// askAddress adds a node by host:port.
func (l *nodeList) askAddress() {
	addr := newKeyEntry(false)
	addr.SetPlaceHolder("192.168.1.20:7070")
	l.c.askForm("Add node", "Add", nil, []*widget.FormItem{widget.NewFormItem("Address", addr)}, []*keyEntry{addr},
		func(done func(string)) {
			a := strings.TrimSpace(addr.Text)
			if _, _, err := discovery.ParseAddr(a); err != nil {
				done(err.Error())
				return
			}
			done("")
			l.c.AddAddress(a)
		})
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
		if e, ok := l.list.Get(n.ID); ok && e.Paired {
			c.info(fmt.Sprintf("%s at %s is already paired", e.Title(), n.Manual))
		} else {
			c.info(fmt.Sprintf("found %s (node id %s) at %s: pair it with its admin token", n.Name, n.ID, n.Manual))
		}
	}, func(err error) bool {
		l.merge(b.Nodes())
		return false
	})
}

// askToken asks for the admin token and pairs.
func (l *nodeList) askToken(e *nodes.Entry) {
	tok := newKeyEntry(true)
	tok.SetPlaceHolder("output of: picloud-node token")
	msg := widget.NewLabel(fmt.Sprintf("Node id %s\nCheck it matches what the node printed on first start.", e.ID))
	l.pairDialog = l.c.askForm("Pair with "+e.Title(), "Pair", msg, []*widget.FormItem{widget.NewFormItem("Admin token", tok)}, []*keyEntry{tok},
		func(done func(string)) { l.c.pair(e.ID, strings.TrimSpace(tok.Text), done) })
}

// Pair checks token against the node with an authenticated call and, if
// the node accepts it, remembers the node. A wrong token is refused and
// nothing is stored.
func (c *Console) Pair(id, token string) { c.pair(id, token, nil) }

// pair is Pair answering done (if set) with "" once paired or the reason it
// was refused, for the pairing dialog to show inside itself.
func (c *Console) pair(id, token string, done func(string)) {
	if done == nil {
		done = func(string) {}
	}
	l := c.nodes
	e, ok := l.list.Get(id)
	if !ok {
		c.report("pair: unknown node "+id, true)
		done("unknown node " + id)
		return
	}
	if token == "" {
		c.report("pair: the admin token is empty", true)
		done("Type the admin token: run picloud-node token on the node.")
		return
	}
	cl := l.client(e, token)
	call(c.tasks, "pair with "+e.Title(), func(ctx context.Context) (shared.Version, error) {
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
		n := registry.Node{ID: id, Name: v.Name, Token: token, Address: e.Address, Scheme: e.Scheme, Paired: time.Now().UTC()}
		if err := c.reg.Put(n); err != nil {
			c.report("pair: "+err.Error(), true)
			done(err.Error())
			return
		}
		e.PairedWith(v)
		l.render()
		c.info("paired with " + e.Title())
		done("")
		l.open(e)
	}, func(err error) bool {
		var mm *shared.IdentityMismatchError
		if errors.As(err, &mm) {
			e.Mismatch = nodes.MismatchText(mm.Expected, mm.Got)
			l.render()
		}
		c.report("pairing with "+e.Title()+" refused: "+Message(err), true)
		done("Refused: " + Message(err))
		return true
	})
}

func (l *nodeList) forget(e *nodes.Entry) {
	l.c.confirmDelete("Forget "+e.Title()+"?", "The console forgets this node and its admin token. You can pair again later.", func() {
		if err := l.c.reg.Remove(e.ID); err != nil {
			l.c.report("forget: "+err.Error(), true)
			return
		}
		l.list.Forget(e.Key)
		if l.c.cur != nil && l.c.cur.entry == e {
			l.c.showWelcome()
		}
		l.render()
	})
}

// versionText shows 1.2.3 as v1.2.3 and leaves builds like "dev" alone.
func versionText(v string) string {
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		return "v" + v
	}
	return v
}
