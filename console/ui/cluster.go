package ui

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/shared"
)

// clusterAdmin is what the Cluster view needs (SPEC §12).
type clusterAdmin interface {
	Cluster(ctx context.Context) (shared.Cluster, error)
	NewJoinToken(ctx context.Context) (shared.JoinToken, error)
	AddMember(ctx context.Context, req shared.AddMemberRequest) (shared.ClusterMember, error)
	RemoveMember(ctx context.Context, nodeID string) error
}

// addMemberTimeout: an add answers once the new member has caught up,
// which on a Pi with many apps takes longer than an ordinary call.
const addMemberTimeout = 3 * time.Minute

// defaultClusterPort is --cluster-bind's default port, for the address of
// a paired node picked in the Add member dialog.
const defaultClusterPort = "7071"

// clusterView shows the node's cluster: members with state, leader and
// last contact; add and remove members.
type clusterView struct {
	env
	nv      *nodeView
	summary *widget.Label
	list    *fyne.Container
	msg     *widget.Label
	last    shared.Cluster
	// the open Add member dialog, for tests
	addDialog *formDialog
	addForm   *addForm
}

// clusterButton opens the node's Cluster view (on the apps list).
func clusterButton(nv *nodeView) *widget.Button {
	return widget.NewButtonWithIcon("Cluster", theme.ComputerIcon(), nv.showCluster)
}

func (nv *nodeView) showCluster() {
	if nv.app != nil {
		nv.app.close()
		nv.app = nil
	}
	v := &clusterView{env: nv.env, nv: nv, summary: widget.NewLabel(""), list: container.NewVBox(), msg: newMsg()}
	v.summary.Wrapping = fyne.TextWrapWord
	add := widget.NewButtonWithIcon("Add member…", theme.ContentAddIcon(), v.askAdd)
	add.Importance = widget.HighImportance
	refresh := widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), v.reload)
	header := container.NewGridWithColumns(6, bold("Name"), bold("Node id"), bold("Address"), bold("State"), bold("Last contact"), bold(""))
	top := container.NewVBox(v.summary, container.NewHBox(add, refresh), v.msg, widget.NewSeparator(), header)
	nv.c.setContent(container.NewBorder(top, nil, nil, nil, container.NewVScroll(v.list)),
		nv.crumb(), crumb{label: "Cluster"})
	nv.cluster = v
	v.reload()
}

func (v *clusterView) reload() {
	call(v.tasks, "load cluster", v.client.Cluster, v.render, func(err error) bool {
		showMsg(v.msg, "Cannot read the cluster: "+err.Error(), widget.DangerImportance)
		return true
	})
}

// memberName is a member's name as the node gives it, else as paired.
func (v *clusterView) memberName(m shared.ClusterMember) string {
	if m.Name != "" {
		return m.Name
	}
	for _, n := range v.nv.c.reg.Nodes() {
		if shared.SameNodeID(n.ID, m.NodeID) && n.Name != "" {
			return n.Name
		}
	}
	return "—"
}

func (v *clusterView) render(cl shared.Cluster) {
	v.last = cl
	v.summary.SetText(clusterSummary(cl, v.memberName))
	rows := make([]fyne.CanvasObject, 0, len(cl.Members))
	for _, m := range cl.Members {
		var remove fyne.CanvasObject = widget.NewLabel("")
		if cl.ID != nil {
			b := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() { v.askRemove(m) })
			b.Importance = widget.DangerImportance
			remove = b
		}
		rows = append(rows, container.NewGridWithColumns(6,
			widget.NewLabel(v.memberName(m)),
			widget.NewLabelWithStyle(m.NodeID, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}),
			widget.NewLabel(m.Address), widget.NewLabel(m.State), widget.NewLabel(lastContact(m)), remove))
	}
	v.list.Objects = rows
	v.list.Refresh()
}

// clusterSummary is the line above the members.
func clusterSummary(cl shared.Cluster, name func(shared.ClusterMember) string) string {
	if cl.ID == nil {
		return "This node is in no cluster. Add a member to form one: the node you add must hold nothing but its default app, and it takes this node's apps."
	}
	s := fmt.Sprintf("Cluster %s: %s.", *cl.ID, plural(len(cl.Members), "member"))
	if cl.Leader == nil {
		return s + " No leader: without a majority the cluster takes no writes (no_quorum), but every member keeps serving its apps."
	}
	for _, m := range cl.Members {
		if m.NodeID == *cl.Leader {
			return s + " Leader: " + name(m) + "."
		}
	}
	return s + " Leader: " + *cl.Leader + "."
}

func lastContact(m shared.ClusterMember) string {
	if m.State == "leader" || m.LastContactMS <= 0 {
		return "—"
	}
	return (time.Duration(m.LastContactMS) * time.Millisecond).Round(time.Millisecond).String() + " ago"
}

func (v *clusterView) askRemove(m shared.ClusterMember) {
	msg := fmt.Sprintf("Remove %s (%s) from the cluster?\n\nIt stops taking part: its copy of the apps is no longer updated.", v.memberName(m), m.NodeID)
	v.confirm("Remove member?", msg, func() {
		call(v.tasks, "remove member", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, v.client.RemoveMember(ctx, m.NodeID)
		}, func(struct{}) {
			showMsg(v.msg, "Removed "+v.memberName(m)+".", widget.SuccessImportance)
			v.reload()
		}, nil)
	})
}

// addForm is the Add member dialog's fields.
type addForm struct {
	pick          *widget.Select
	id, addr, tok *keyEntry
	paired        []registry.Node
}

// askAdd asks for the node to add: its id, cluster address and join token,
// or a paired node, whose token the console fetches itself.
func (v *clusterView) askAdd() {
	f := &addForm{id: newKeyEntry(false), addr: newKeyEntry(false), tok: newKeyEntry(false), paired: v.otherPaired()}
	f.addr.SetPlaceHolder("pi2.lan:" + defaultClusterPort)
	f.tok.SetPlaceHolder("POST /api/v1/admin/cluster/join-token on that node")
	names := make([]string, len(f.paired))
	for i, n := range f.paired {
		names[i] = n.Name + " (" + n.Address + ")"
	}
	note := widget.NewLabel("The node to add gives its consent with a one-time join token. Pick a paired node and the console asks it for one.")
	note.Wrapping = fyne.TextWrapWord
	var dlg *formDialog
	f.pick = widget.NewSelect(names, func(string) { v.fillFromPaired(f, dlg) })
	f.pick.PlaceHolder = "(type the fields below)"
	items := []*widget.FormItem{
		widget.NewFormItem("Paired node", f.pick),
		widget.NewFormItem("Node id", f.id),
		widget.NewFormItem("Cluster address", f.addr),
		widget.NewFormItem("Join token", f.tok),
	}
	dlg = v.nv.c.askForm("Add member", "Add", note, items, []*keyEntry{f.id, f.addr, f.tok}, func(done func(string)) {
		v.submitAdd(f, done)
	})
	v.addDialog, v.addForm = dlg, f
}

func (v *clusterView) otherPaired() []registry.Node {
	var out []registry.Node
	for _, n := range v.nv.c.reg.Nodes() {
		if n.ID != v.nv.entry.ID && n.Token != "" {
			out = append(out, n)
		}
	}
	return out
}

// fillFromPaired fills the fields for the picked paired node and asks it
// for a join token.
func (v *clusterView) fillFromPaired(f *addForm, dlg *formDialog) {
	i := f.pick.SelectedIndex()
	if i < 0 {
		return
	}
	n := f.paired[i]
	f.id.SetText(n.ID)
	host, _, err := net.SplitHostPort(n.Address)
	if err != nil {
		host = n.Address
	}
	f.addr.SetText(net.JoinHostPort(host, defaultClusterPort))
	joiner := newClient(n.Scheme, n.Address, n.Token, n.ID)
	call(v.tasks, "join token", joiner.NewJoinToken, func(jt shared.JoinToken) { f.tok.SetText(jt.JoinToken) },
		func(err error) bool {
			if dlg != nil {
				showMsg(dlg.err, n.Name+" gave no join token: "+err.Error(), widget.DangerImportance)
			}
			return true
		})
}

func (v *clusterView) submitAdd(f *addForm, done func(string)) {
	req := shared.AddMemberRequest{NodeID: strings.TrimSpace(f.id.Text), Address: strings.TrimSpace(f.addr.Text), JoinToken: strings.TrimSpace(f.tok.Text)}
	callWithin(v.tasks, addMemberTimeout, "add member", func(ctx context.Context) (shared.ClusterMember, error) {
		return v.client.AddMember(ctx, req)
	}, func(m shared.ClusterMember) {
		done("")
		showMsg(v.msg, "Added "+m.NodeID+".", widget.SuccessImportance)
		v.reload()
	}, func(err error) bool {
		done(addMemberError(err))
		return true
	})
}

// addMemberError says what to do about a refused add.
func addMemberError(err error) string {
	e, ok := shared.AsError(err)
	if !ok {
		return err.Error()
	}
	switch e.Code {
	case shared.CodeInvalidJoinToken:
		return "The join token is wrong, expired or used: make a new one on the node to add."
	case shared.CodeNodeNotEmpty:
		return "That node holds apps or data of its own: export its apps and delete them there first."
	case shared.CodeJoinFailed:
		return "Could not add it: " + e.Message
	case shared.CodeNoQuorum:
		return "The cluster has no majority right now: " + e.Message
	}
	return e.Error()
}
