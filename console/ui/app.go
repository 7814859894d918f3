// Package ui is the PiCloud desktop console: a sidebar of nodes, and for
// the selected node its apps, scripts, domains, settings and logs. It talks
// to nodes only through the shared admin client, every call off the UI
// goroutine. It never imports fyne.io/fyne/v2/app, so the whole console is
// tested with the fyne test driver without cgo or GL; cmd/console supplies
// the real app and window.
package ui

import (
	"context"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/registry"
)

// Options configure a Console.
type Options struct {
	Registry *registry.Registry
	// Browser, when set, feeds nodes found on the LAN into the sidebar.
	Browser Browser
	Logger  *slog.Logger
	// Probe is how often nodes in the sidebar are checked for being online;
	// 0 means every 15 seconds, negative never (tests).
	Probe time.Duration
	// Post runs a function on the UI goroutine; nil means fyne.Do. Tests
	// pass a queue they drain themselves: the fyne test driver runs fyne.Do
	// at once on the calling goroutine, which would let results race with
	// the test's own input.
	Post func(func())
	// Version is the console's own version, shown in About.
	Version string
}

// Console is the main window's content and state.
type Console struct {
	app  fyne.App
	win  fyne.Window
	reg  *registry.Registry
	log  *slog.Logger
	opts Options

	ctx    context.Context
	cancel context.CancelFunc
	tasks  *tasks

	status   *widget.Label
	banner   *widget.Label // "offline — last updated …" over a node's stale data
	activity *widget.Activity
	crumbs   *fyne.Container
	content  *fyne.Container

	nodes *nodeList
	// cur is the node the content area shows, nil on the welcome screen.
	cur *nodeView

	// errWhat names the call whose error the status bar shows ("" when it
	// shows none); errNet says it failed without an answer from the node.
	errWhat string
	errNet  bool

	esc escapes // open dialogs, for Escape
}

// New builds the console into win. Call Close when the window closes.
func New(a fyne.App, win fyne.Window, opts Options) *Console {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Post == nil {
		opts.Post = fyne.Do
	}
	if opts.Probe == 0 {
		opts.Probe = 15 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Console{app: a, win: win, reg: opts.Registry, log: opts.Logger, opts: opts, ctx: ctx, cancel: cancel}
	c.status = widget.NewLabel("")
	c.status.Wrapping = fyne.TextWrapWord
	c.activity = widget.NewActivity()
	c.activity.Hide()
	c.tasks = newTasks(ctx, opts.Post, c.activity, c.report)
	c.crumbs = container.NewHBox()
	c.content = container.NewStack()
	c.banner = widget.NewLabel("")
	c.banner.Importance = widget.WarningImportance
	c.banner.Wrapping = fyne.TextWrapWord
	c.banner.Hide()

	c.nodes = newNodeList(c)
	c.tasks.netErr = c.nodes.reprobe
	c.tasks.failed = func(what string, network bool) { c.errWhat, c.errNet = what, network }
	c.tasks.succeeded = func(what string) {
		if c.errWhat == what { // the same action now worked: its error is history
			c.report("", false)
		}
	}
	top := container.NewBorder(nil, nil, nil, c.activity, c.crumbs)
	main := container.NewBorder(container.NewVBox(top, widget.NewSeparator(), c.banner),
		container.NewVBox(widget.NewSeparator(), c.status), nil, nil, c.content)
	split := container.NewHSplit(c.nodes.view(), main)
	split.Offset = 0.24
	win.SetContent(split)
	win.SetCloseIntercept(c.closeRequested)
	win.Canvas().SetOnTypedKey(c.typedKey)
	win.Canvas().AddShortcut(saveShortcut, c.saveTyped)
	c.showWelcome()
	c.nodes.start()
	return c
}

// Close stops background work (discovery feed, probes, auto-refresh).
func (c *Console) Close() { c.cancel() }

// Wait blocks until no network call is in flight. Tests and the screenshot
// mode use it to know a screen has finished loading.
func (c *Console) Wait(timeout time.Duration) error { return c.tasks.wait(timeout) }

// Status returns the status bar's current message.
func (c *Console) Status() string { return c.status.Text }

// report shows a message in the status bar; errors stand out.
func (c *Console) report(msg string, isErr bool) {
	c.errWhat, c.errNet = "", false
	c.status.SetText(msg)
	if isErr {
		c.status.Importance = widget.DangerImportance
		c.log.Info("console error", "msg", msg)
	} else {
		c.status.Importance = widget.MediumImportance
	}
	c.status.Refresh()
}

func (c *Console) info(msg string) { c.report(msg, false) }

// setContent replaces the content area and the breadcrumb.
func (c *Console) setContent(obj fyne.CanvasObject, crumbs ...crumb) {
	c.content.Objects = []fyne.CanvasObject{obj}
	c.content.Refresh()
	c.setCrumbs(crumbs...)
}

// crumb is one step of the breadcrumb node › app › script; nil open marks
// the current (last) step.
type crumb struct {
	label string
	open  func()
}

func (c *Console) setCrumbs(crumbs ...crumb) {
	objs := []fyne.CanvasObject{}
	for i, cr := range crumbs {
		if i > 0 {
			objs = append(objs, widget.NewLabel("›"))
		}
		if cr.open != nil && i < len(crumbs)-1 {
			open := cr.open
			b := widget.NewButton(cr.label, func() { c.leave(open) })
			b.Importance = widget.LowImportance
			objs = append(objs, b)
		} else {
			objs = append(objs, widget.NewLabelWithStyle(cr.label, fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		}
	}
	c.crumbs.Objects = objs
	c.crumbs.Refresh()
}

// Breadcrumb returns the breadcrumb's labels, e.g. ["pi", "blog", "hello"].
func (c *Console) Breadcrumb() []string {
	var out []string
	for _, o := range c.crumbs.Objects {
		switch w := o.(type) {
		case *widget.Button:
			out = append(out, w.Text)
		case *widget.Label:
			if w.Text != "›" {
				out = append(out, w.Text)
			}
		}
	}
	return out
}

// showBanner marks the open node's screens as stale while it is offline.
func (c *Console) showBanner() {
	text := ""
	if c.cur != nil && c.cur.entry.Probed && !c.cur.entry.Online {
		text = "⚠ " + c.cur.entry.Title() + " is offline: what you see may be out of date."
		if !c.cur.lastAnswer.IsZero() {
			text = "⚠ " + c.cur.entry.Title() + " is offline — last updated " + c.cur.lastAnswer.Format("15:04:05") + "."
		}
	}
	showMsg(c.banner, text, widget.WarningImportance)
}

// Banner returns the offline banner's text, "" while hidden.
func (c *Console) Banner() string {
	if !c.banner.Visible() {
		return ""
	}
	return c.banner.Text
}

// showAbout says which console this is.
func (c *Console) showAbout() {
	v := c.opts.Version
	if v == "" {
		v = "dev"
	}
	msg := widget.NewLabel("PiCloud console " + versionText(v) + "\nServerless scripts on your own Raspberry Pis.")
	d := dialog.NewCustom("About", "Close", msg, c.win)
	c.show(d, d.Hide)
}

// reconnected clears an error that said the node could not be reached.
func (c *Console) reconnected() {
	if c.errNet {
		c.report("", false)
	}
}

func (c *Console) showWelcome() {
	if c.cur != nil {
		c.cur.close()
	}
	c.cur = nil
	c.showBanner()
	title := widget.NewLabelWithStyle("PiCloud console", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	msg := widget.NewLabel("Pick a node on the left. Nodes on this network appear by themselves;\n" +
		"use “Add node” to type an address (host:port) by hand.")
	msg.Alignment = fyne.TextAlignCenter
	icon := widget.NewIcon(theme.ComputerIcon())
	c.setContent(container.NewCenter(container.NewVBox(icon, title, msg, layout.NewSpacer())), crumb{label: "Nodes"})
}

// newMsg returns a wrapping label for the result of an action beside its
// form; it takes no space while empty.
func newMsg() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Hide()
	return l
}

// showMsg sets a message label's text and colour, hiding it when empty.
func showMsg(l *widget.Label, text string, imp widget.Importance) {
	if l.Text == text && l.Importance == imp && l.Visible() == (text != "") {
		return // unchanged: no repaint
	}
	l.Text = text
	l.Importance = imp
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
	l.Refresh()
}
