package nodes

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/shared"
	"github.com/picloud/picloud/shared/discovery"
)

// lan is a node announced over mDNS at addr (a loopback address: nothing
// here dials).
func lan(id, admin, addr string) discovery.Node {
	return discovery.Node{ID: id, Name: "pi", Admin: admin, Port: 7070, Version: "1.2.0", DataPort: 8081,
		Addrs: []netip.Addr{netip.MustParseAddr(addr)}, Discovered: true}
}

func TestMerge(t *testing.T) {
	paired := []registry.Node{{ID: "NODEA", Name: "pi", Address: "127.0.0.2:7070", Scheme: "https"}}
	pairedHTTP := []registry.Node{{ID: "NODEA", Name: "pi", Address: "127.0.0.2:7070", Scheme: "http"}}
	refused := discovery.Node{Manual: "127.0.0.9:7070", Err: syscall.ECONNREFUSED}
	mismatch := discovery.Node{ID: "NODEA", Manual: "127.0.0.2:7070",
		Err: &shared.IdentityMismatchError{Expected: "NODEA", Got: "NODEB"}}

	type want struct {
		key, scheme, address string
		online, paired       bool
		mismatch, err        bool
		moved                []Moved
	}
	for _, tc := range []struct {
		name   string
		paired []registry.Node
		found  []discovery.Node
		want   want
	}{
		{"paired https node follows a pinned https announcement", paired,
			[]discovery.Node{lan("NODEA", "https", "127.0.0.3")},
			want{key: "NODEA", scheme: "https", address: "127.0.0.3:7070", online: true, paired: true,
				moved: []Moved{{ID: "NODEA", Name: "pi", Address: "127.0.0.3:7070"}}}},
		{"paired https node ignores an announcement saying admin=http", paired,
			[]discovery.Node{lan("NODEA", "http", "127.0.0.66")},
			want{key: "NODEA", scheme: "https", address: "127.0.0.2:7070", online: true, paired: true}},
		{"paired http node keeps its address: nothing pins who answers", pairedHTTP,
			[]discovery.Node{lan("NODEA", "http", "127.0.0.66")},
			want{key: "NODEA", scheme: "http", address: "127.0.0.2:7070", online: true, paired: true}},
		{"paired node at the same address is no move", paired,
			[]discovery.Node{lan("NODEA", "https", "127.0.0.2")},
			want{key: "NODEA", scheme: "https", address: "127.0.0.2:7070", online: true, paired: true}},
		{"unpaired node takes the announced scheme and address", nil,
			[]discovery.Node{lan("NODEB", "http", "127.0.0.4")},
			want{key: "NODEB", scheme: "http", address: "127.0.0.4:7070", online: true}},
		{"unpaired node without a scheme defaults to https", nil,
			[]discovery.Node{lan("NODEB", "", "127.0.0.4")},
			want{key: "NODEB", scheme: "https", address: "127.0.0.4:7070", online: true}},
		{"manual address that never answered is keyed by address, offline", nil,
			[]discovery.Node{refused},
			want{key: "addr:127.0.0.9:7070", scheme: "https", address: "127.0.0.9:7070", err: true}},
		{"paired node answering as another is marked, not moved", paired,
			[]discovery.Node{mismatch},
			want{key: "NODEA", scheme: "https", address: "127.0.0.2:7070", paired: true, mismatch: true}},
		{"paired node the browser no longer lists stays", paired, nil,
			want{key: "NODEA", scheme: "https", address: "127.0.0.2:7070", paired: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := New(tc.paired)
			moved := l.Merge(tc.found)
			e, ok := l.Get(tc.want.key)
			if !ok {
				t.Fatalf("no entry %q; have %v", tc.want.key, keys(l))
			}
			got := want{key: e.Key, scheme: e.Scheme, address: e.Address, online: e.Online, paired: e.Paired,
				mismatch: e.Mismatch != "", err: e.Err != nil, moved: moved}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("entry = %+v\nwant    %+v", got, tc.want)
			}
		})
	}
}

func keys(l *List) []string {
	var out []string
	for _, e := range l.Sorted() {
		out = append(out, e.Key)
	}
	return out
}

func TestMergeDropsWhatTheBrowserNoLongerLists(t *testing.T) {
	l := New([]registry.Node{{ID: "NODEA", Name: "pi", Address: "127.0.0.2:7070"}})
	l.Merge([]discovery.Node{lan("NODEA", "https", "127.0.0.2"), lan("NODEB", "https", "127.0.0.4")})
	l.Merge(nil)
	if _, ok := l.Get("NODEB"); ok {
		t.Error("an unpaired node gone from the LAN is still listed")
	}
	e, ok := l.Get("NODEA")
	if !ok || e.Discovered || e.Manual != "" {
		t.Errorf("paired node after it left the LAN: %+v (listed %v)", e, ok)
	}
}

func TestMergeKeepsNameVersionAndPortOfSilentFields(t *testing.T) {
	l := New(nil)
	l.Merge([]discovery.Node{lan("NODEB", "https", "127.0.0.4")})
	bare := discovery.Node{ID: "NODEB", Admin: "https", Port: 7070, Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.4")}, Discovered: true}
	l.Merge([]discovery.Node{bare})
	e, _ := l.Get("NODEB")
	if e.Name != "pi" || e.Version != "1.2.0" || e.DataPort != 8081 {
		t.Errorf("a record without name/version/port erased them: %+v", e)
	}
}

func TestSortedPairedFirstThenByTitle(t *testing.T) {
	l := New([]registry.Node{{ID: "Z", Name: "zeta"}, {ID: "Y", Name: "yak"}})
	b, a := lan("B", "https", "127.0.0.5"), lan("A", "https", "127.0.0.6")
	b.Name, a.Name = "beta", "alpha"
	l.Merge([]discovery.Node{b, a})
	var titles []string
	for _, e := range l.Sorted() {
		titles = append(titles, e.Title())
	}
	if want := []string{"yak", "zeta", "alpha", "beta"}; !reflect.DeepEqual(titles, want) {
		t.Errorf("order = %q, want %q", titles, want)
	}
}

func TestProbeResults(t *testing.T) {
	l := New([]registry.Node{{ID: "NODEA", Name: "old", Address: "127.0.0.2:7070"}})
	e, _ := l.Get("NODEA")

	e.Unreachable(syscall.ECONNREFUSED)
	if e.Online || !e.Probed || !errors.Is(e.Err, syscall.ECONNREFUSED) {
		t.Errorf("after a refused probe: %+v", e)
	}
	e.Unreachable(&shared.IdentityMismatchError{Expected: "NODEA", Got: "NODEB"})
	if !strings.Contains(e.Mismatch, "NODEB") || !strings.Contains(e.Mismatch, "forget it and pair again") {
		t.Errorf("mismatch text = %q", e.Mismatch)
	}
	e.Reached(discovery.Node{Name: "pi", Version: "1.3.0"})
	if !e.Online || e.Err != nil || e.Mismatch != "" || e.Name != "pi" || e.Version != "1.3.0" {
		t.Errorf("after a good probe: %+v", e)
	}
}

func TestForget(t *testing.T) {
	l := New([]registry.Node{{ID: "NODEA", Address: "127.0.0.2:7070"}, {ID: "NODEB", Address: "127.0.0.4:7070"}})
	l.Merge([]discovery.Node{lan("NODEB", "https", "127.0.0.4")})
	l.Forget("NODEA")
	l.Forget("NODEB")
	if _, ok := l.Get("NODEA"); ok {
		t.Error("a forgotten node nobody else lists is still shown")
	}
	if e, ok := l.Get("NODEB"); !ok || e.Paired {
		t.Errorf("a forgotten node still on the LAN: %+v (listed %v), want it shown unpaired", e, ok)
	}
}

func TestDataHostPort(t *testing.T) {
	for _, tc := range []struct {
		port int
		want string
	}{{0, ":8080"}, {80, ""}, {8081, ":8081"}} {
		if got := (&Entry{DataPort: tc.port}).DataHostPort(); got != tc.want {
			t.Errorf("DataHostPort(%d) = %q, want %q", tc.port, got, tc.want)
		}
	}
}
