// Package nodes is the console's list of nodes without its widgets: paired
// nodes from the registry, nodes seen on the LAN and addresses typed by
// hand, folded into one entry per node, and the rules for what each source
// may change. console/ui renders it; everything here is tested without Fyne.
package nodes

import (
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/shared"
	"github.com/picloud/picloud/shared/discovery"
)

// Entry is one node as the sidebar shows it: paired, seen on the LAN,
// added by hand, or several of these at once. Entries are keyed by node
// id; a manual address that never answered is keyed "addr:" + address.
type Entry struct {
	Key      string
	ID       string
	Name     string
	Version  string
	Address  string // admin host:port
	Scheme   string // "https" or "http"
	DataPort int    // data-plane port from the announcement, 0 when unknown

	Paired     bool
	Discovered bool   // answering over mDNS
	Manual     string // host:port typed by the user
	Online     bool
	Probed     bool   // state known: a probe finished or the LAN answered
	Mismatch   string // identity warning; the node is not used while set
	Err        error  // why the node could not be reached, while offline
}

// Title is the entry's name, else its address.
func (e *Entry) Title() string {
	switch {
	case e.Name != "":
		return e.Name
	case e.Address != "":
		return e.Address
	}
	return e.Manual
}

// DataHostPort is ":port" for URLs on the node's data plane, "" for :80.
// Without an announced port it is the default 8080.
func (e *Entry) DataHostPort() string {
	p := e.DataPort
	if p == 0 {
		p = 8080
	}
	if p == 80 {
		return ""
	}
	return ":" + strconv.Itoa(p)
}

// List is the set of entries. It is not safe for concurrent use: the
// console keeps it on its UI goroutine.
type List struct {
	entries map[string]*Entry
}

// New returns a list of the paired nodes, not yet probed.
func New(paired []registry.Node) *List {
	l := &List{entries: make(map[string]*Entry, len(paired))}
	for _, n := range paired {
		l.entries[n.ID] = &Entry{Key: n.ID, ID: n.ID, Name: n.Name, Address: n.Address, Scheme: SchemeOr(n.Scheme), Paired: true}
	}
	return l
}

// SchemeOr is s, or "https" when s is empty (registry entries and
// announcements that predate the field).
func SchemeOr(s string) string {
	if s == "" {
		return "https"
	}
	return s
}

// Get returns the entry under key (a node id, or "addr:" + address).
func (l *List) Get(key string) (*Entry, bool) {
	e, ok := l.entries[key]
	return e, ok
}

// Sorted returns the entries: paired first, then by title.
func (l *List) Sorted() []*Entry {
	out := make([]*Entry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Paired != out[j].Paired {
			return out[i].Paired
		}
		if out[i].Title() != out[j].Title() {
			return out[i].Title() < out[j].Title()
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Moved is a paired node the LAN now finds at another address, for the
// registry to remember.
type Moved struct{ ID, Name, Address string }

// Merge folds the browser's current list into the entries. Entries the
// browser no longer lists lose their LAN and manual state, and unpaired
// ones go. It returns the paired nodes whose address moved.
func (l *List) Merge(found []discovery.Node) []Moved {
	var moved []Moved
	now := make(map[string]bool, len(found))
	for _, n := range found {
		key := n.ID
		if key == "" {
			key = "addr:" + n.Manual
		}
		now[key] = true
		e, ok := l.entries[key]
		if !ok {
			e = &Entry{Key: key, ID: n.ID}
			l.entries[key] = e
		}
		if m, ok := e.fold(n); ok {
			moved = append(moved, m)
		}
	}
	for key, e := range l.entries {
		if now[key] {
			continue
		}
		e.Discovered, e.Manual = false, ""
		if !e.Paired {
			delete(l.entries, key)
		}
	}
	return moved
}

// fold applies one browser record to e, reporting a paired node's move.
func (e *Entry) fold(n discovery.Node) (Moved, bool) {
	e.Discovered, e.Manual = n.Discovered, n.Manual
	if n.Name != "" {
		e.Name = n.Name
	}
	if n.Version != "" {
		e.Version = n.Version
	}
	if n.DataPort != 0 {
		e.DataPort = n.DataPort
	}
	var moved Moved
	var didMove bool
	// A paired node keeps the scheme it was paired over: an announcement
	// saying admin=http must not make the console send the token in the
	// clear. Its address may move only while TLS pins its identity.
	addrs := n.AdminAddrs()
	switch {
	case len(addrs) == 0 || (n.Err != nil && e.Address != ""):
	case e.Paired && e.Scheme == "https" && n.Admin == "https":
		if e.Address != addrs[0] {
			moved, didMove = Moved{ID: e.ID, Name: e.Name, Address: addrs[0]}, true
		}
		e.Address = addrs[0]
	case !e.Paired:
		e.Address = addrs[0]
		if n.Admin != "" {
			e.Scheme = n.Admin
		}
	}
	e.Scheme = SchemeOr(e.Scheme)
	e.Probed = true
	e.Online = n.Discovered || (n.Manual != "" && n.Err == nil && n.ID != "")
	var mm *shared.IdentityMismatchError
	switch {
	case errors.As(n.Err, &mm):
		e.Mismatch = MismatchText(mm.Expected, mm.Got)
	case n.Err != nil:
		e.Err = n.Err
	default:
		e.Err = nil
		if !e.Paired { // a paired node's identity is its probe's to judge
			e.Mismatch = ""
		}
	}
	return moved, didMove
}

// Reached records a successful, pinned probe of a paired node.
func (e *Entry) Reached(n discovery.Node) {
	e.Probed, e.Online, e.Err, e.Mismatch = true, true, nil, ""
	e.Name, e.Version = n.Name, n.Version
}

// Unreachable records a failed probe: offline, or answering as another node.
func (e *Entry) Unreachable(err error) {
	e.Probed, e.Online = true, false
	var mm *shared.IdentityMismatchError
	if errors.As(err, &mm) {
		e.Mismatch = MismatchText(mm.Expected, mm.Got)
		return
	}
	e.Err = err
}

// PairedWith records a pairing the node accepted.
func (e *Entry) PairedWith(v shared.Version) {
	e.Paired, e.Name, e.Version, e.Mismatch, e.Online, e.Probed = true, v.Name, v.Version, "", true, true
}

// Forget unpairs key; the entry stays while the LAN or a manual address
// still lists it.
func (l *List) Forget(key string) {
	e, ok := l.entries[key]
	if !ok {
		return
	}
	e.Paired = false
	if !e.Discovered && e.Manual == "" {
		delete(l.entries, key)
	}
}

// MismatchText explains a node that answers with another identity.
func MismatchText(want, got string) string {
	return fmt.Sprintf("Identity mismatch: this address now answers as node %s, not %s as paired. "+
		"The node is not used. If it was reinstalled, forget it and pair again.", got, want)
}
