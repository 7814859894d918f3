package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// egressAdmin is what the Egress tab needs of a node.
type egressAdmin interface {
	Egress(ctx context.Context, ref string) ([]string, error)
	SetEgress(ctx context.Context, ref string, allow []string) ([]string, error)
}

// egressTab is the app's egress allowlist (SPEC §10): where its scripts'
// fetch may connect. Closed by default.
type egressTab struct {
	v     *appView
	view  fyne.CanvasObject
	entry *widget.Entry
	check *widget.Label // what the typed entry means, or why it is refused
	add   *widget.Button
	msg   *widget.Label // outcome of the last add or remove
	count *widget.Label
	list  *fyne.Container

	allow []string // as the node last answered
}

func newEgressTab(v *appView) *egressTab {
	t := &egressTab{v: v, entry: widget.NewEntry(), check: widget.NewLabel(""), msg: newMsg(),
		count: widget.NewLabel(""), list: container.NewVBox()}
	t.entry.SetPlaceHolder("api.github.com   *.example.com   192.168.1.10:8123   192.168.1.0/24")
	t.entry.OnChanged = func(string) { t.validate() }
	t.entry.OnSubmitted = func(string) { t.submit() }
	t.check.Wrapping = fyne.TextWrapWord
	t.add = widget.NewButtonWithIcon("Allow", theme.ContentAddIcon(), t.submit)
	help := widget.NewLabel("Scripts of this app have no network: fetch() fails with " +
		"TypeError \"egress not allowed: HOST\" unless the host is listed here. List a host " +
		"(api.github.com), every name under a domain (*.example.com), an address (192.168.1.10, ::1) " +
		"or a range (192.168.1.0/24), each with a port if you want only that one (host:8123, [::1]:8080). " +
		"LAN and loopback addresses are reached only through an address or range entry, even when a " +
		"listed name resolves to them, so a public name cannot be turned against your network. " +
		"The node's own ports need an entry with their address and port.")
	help.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Allow", container.NewBorder(nil, nil, nil, t.add, t.entry)),
		widget.NewFormItem("", t.check),
	)
	top := container.NewVBox(help, form, t.msg, t.count, widget.NewSeparator())
	t.view = container.NewBorder(top, nil, nil, nil, container.NewVScroll(t.list))
	t.validate()
	return t
}

// validate says, as the user types, what the entry will allow, or what
// is wrong with it, with the node's own rules.
func (t *egressTab) validate() {
	text := strings.TrimSpace(t.entry.Text)
	if text == "" {
		showPreview(t.check, "Type a host, address or range to allow.", widget.MediumImportance)
		t.add.Disable()
		return
	}
	e, err := shared.ParseEgressEntry(text)
	if err != nil {
		showPreview(t.check, Message(err), widget.DangerImportance)
		t.add.Disable()
		return
	}
	if slices.Contains(t.allow, e.String()) {
		showPreview(t.check, e.String()+" is already allowed.", widget.MediumImportance)
		t.add.Disable()
		return
	}
	showPreview(t.check, "Allows "+describeEgress(e)+".", widget.SuccessImportance)
	t.add.Enable()
}

// describeEgress says in words what an entry lets scripts reach.
func describeEgress(e shared.EgressEntry) string {
	port := "any port"
	if e.Port() != 0 {
		port = fmt.Sprintf("port %d", e.Port())
	}
	switch e.Kind() {
	case shared.EgressWildcard:
		return fmt.Sprintf("every name under %s, %s (public addresses only, unless a range covers what they resolve to)",
			strings.TrimPrefix(e.Host(), "*."), port)
	case shared.EgressIP:
		return fmt.Sprintf("the address %s, %s", e.Prefix().Addr(), port)
	case shared.EgressCIDR:
		p := e.Prefix()
		if p.Addr().Is4() {
			return fmt.Sprintf("the %d addresses of %s, any port", uint64(1)<<(32-p.Bits()), p)
		}
		return fmt.Sprintf("the addresses of %s, any port", p)
	}
	return fmt.Sprintf("%s, %s (public addresses only, unless a range covers what it resolves to)", e.Host(), port)
}

func (t *egressTab) reload() {
	v := t.v
	call(v.tasks, "load egress", func(ctx context.Context) ([]string, error) {
		return v.client.Egress(ctx, v.ref)
	}, t.render, nil)
}

func (t *egressTab) render(allow []string) {
	t.allow = allow
	objs := []fyne.CanvasObject{}
	for _, s := range allow {
		s := s
		label := widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		what := ""
		if e, err := shared.ParseEgressEntry(s); err == nil {
			what = describeEgress(e)
		}
		remove := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { t.remove(s) })
		remove.Importance = widget.LowImportance
		objs = append(objs, container.NewBorder(nil, widget.NewSeparator(), nil, container.NewCenter(remove),
			container.NewVBox(label, widget.NewLabel(what))))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("Nothing is allowed: this app's scripts have no network."))
	}
	t.count.SetText(fmt.Sprintf("%d of %d entries", len(allow), shared.MaxEgressEntries))
	t.list.Objects = objs
	t.list.Refresh()
	t.validate()
}

func (t *egressTab) submit() {
	e, err := shared.ParseEgressEntry(t.entry.Text)
	if err != nil {
		showMsg(t.msg, Message(err), widget.DangerImportance)
		return
	}
	t.put(append(slices.Clone(t.allow), e.String()), "Allowed "+e.String()+".", func() { t.entry.SetText("") })
}

func (t *egressTab) remove(entry string) {
	next := slices.DeleteFunc(slices.Clone(t.allow), func(s string) bool { return s == entry })
	t.put(next, "Removed "+entry+".", nil)
}

// put stores a whole new list; the node answers with what it stored.
func (t *egressTab) put(allow []string, done string, after func()) {
	v := t.v
	call(v.tasks, "save egress", func(ctx context.Context) ([]string, error) {
		return v.client.SetEgress(ctx, v.ref, allow)
	}, func(stored []string) {
		showMsg(t.msg, done, widget.SuccessImportance)
		if after != nil {
			after()
		}
		t.render(stored)
	}, func(err error) bool {
		showMsg(t.msg, Message(err), widget.DangerImportance)
		return true
	})
}
