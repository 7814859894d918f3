package discovery

import (
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	announce "github.com/picloud/picloud/node/discovery"
	"github.com/picloud/picloud/shared"
)

const idA = "AAAAAAAAAAAAAAAAAAAAAAAAAA"
const idB = "BBBBBBBBBBBBBBBBBBBBBBBBBB"

func TestParseTXT(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string
		want    Node
		wantErr bool
	}{
		{"all keys", []string{"txtvers=1", "id=" + idA, "v=1.2.3", "schema=4", "admin=https", "data=8080"},
			Node{ID: idA, Version: "1.2.3", Schema: 4, Admin: "https", DataPort: 8080}, false},
		{"plain http admin", []string{"txtvers=1", "id=" + idA, "admin=http"}, Node{ID: idA, Admin: "http"}, false},
		{"order and case of keys do not matter", []string{"DATA=81", "ID=" + strings.ToLower(idA), "TxtVers=1"},
			Node{ID: idA, Admin: "https", DataPort: 81}, false},
		{"first occurrence wins", []string{"id=" + idA, "id=" + idB, "v=1", "v=2"}, Node{ID: idA, Version: "1", Admin: "https"}, false},
		{"unknown keys ignored", []string{"id=" + idA, "color=blue", "flag", "=x"}, Node{ID: idA, Admin: "https"}, false},
		{"garbage numbers become zero", []string{"id=" + idA, "schema=x", "data=70000", "admin=gopher"},
			Node{ID: idA, Admin: "https"}, false},
		{"no id", []string{"txtvers=1", "v=1"}, Node{}, true},
		{"id of the wrong shape", []string{"id=not-a-node"}, Node{}, true},
		{"future txtvers", []string{"txtvers=2", "id=" + idA}, Node{}, true},
		{"empty", nil, Node{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTXT(tt.fields)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !nodesEqual(got, tt.want) {
				t.Errorf("parseTXT = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func nodesEqual(a, b Node) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Version == b.Version && a.Schema == b.Schema &&
		a.Admin == b.Admin && a.DataPort == b.DataPort && a.Port == b.Port && slices.Equal(a.Addrs, b.Addrs)
}

func FuzzParseTXT(f *testing.F) {
	f.Add("txtvers=1", "id="+idA, "v=1.2.3", "schema=4")
	f.Add("id="+idA, "admin=http", "data=8080", "")
	f.Add("=", "id=", "schema=-1", "data=99999999999999999999")
	f.Fuzz(func(t *testing.T, a, b, c, d string) {
		n, err := parseTXT([]string{a, b, c, d})
		if err != nil {
			return
		}
		if !validNodeID(n.ID) || (n.Admin != "https" && n.Admin != "http") || n.Schema < 0 || n.DataPort < 0 || n.DataPort > 65535 {
			t.Fatalf("parseTXT accepted %q as %+v", []string{a, b, c, d}, n)
		}
	})
}

func TestInstanceName(t *testing.T) {
	tests := []struct {
		full, want string
		wantErr    bool
	}{
		{"pi-4._picloud._tcp.local.", "pi-4", false},
		{`Pi\ 4\.kitchen._picloud._tcp.local.`, "Pi 4.kitchen", false},
		{`K\195\188che._picloud._tcp.local.`, "Küche", false},
		{"pi._PICLOUD._TCP.LOCAL.", "pi", false},
		{"pi._http._tcp.local.", "", true},
		{"a.b._picloud._tcp.local.", "", true},
		{"._picloud._tcp.local.", "", true},
		{`dot\.._picloud._tcp.local.`, "dot.", false},
		{`x\\._picloud._tcp.local.`, `x\`, false},
		{`escaped\._picloud._tcp.local.`, "", true}, // labels: "escaped._picloud", "_tcp", "local"
		{`bad\999._picloud._tcp.local.`, "", true},
		{`trailing\`, "", true},
	}
	for _, tt := range tests {
		got, err := instanceName(tt.full)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("instanceName(%q) = %q, %v; want %q, err %v", tt.full, got, err, tt.want, tt.wantErr)
		}
	}
}

// The node's escaping and the console's unescaping agree: a node name
// comes out exactly as typed (cut to 63 bytes).
func FuzzInstanceNameRoundTrip(f *testing.F) {
	for _, s := range []string{"pi", "Pi 4.kitchen", "Küche (Pi 5)", `a\b`, "@;'\"()", "\x01\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" || !utf8.ValidString(name) || len(name) > 63 {
			return
		}
		got, err := instanceName(announce.InstanceLabel(name) + "._picloud._tcp.local.")
		if err != nil || got != name {
			t.Fatalf("name %q came back as %q, %v", name, got, err)
		}
	})
}

func entry(name, id string, v4 string, port int) instance {
	return instance{
		name:  announce.InstanceLabel(name) + "._picloud._tcp.local.",
		addrs: []netip.Addr{netip.MustParseAddr(v4)},
		port:  port,
		txt:   []string{"txtvers=1", "id=" + id, "v=1.0.0", "schema=2", "admin=https", "data=8080"},
	}
}

func newTestBrowser() *Browser {
	return NewBrowser(Config{Interval: time.Second, TTL: 10 * time.Second, Logger: slog.New(slog.DiscardHandler), ManualOnly: true})
}

func notified(b *Browser) bool {
	select {
	case <-b.Changes():
		return true
	default:
		return false
	}
}

func TestObserveAndExpire(t *testing.T) {
	b := newTestBrowser()
	t0 := time.Now()
	b.observe(answer{inst: entry("pi one", idA, "10.0.0.1", 7070)}, t0)
	if !notified(b) {
		t.Error("a new node did not notify")
	}
	nodes := b.Nodes()
	if len(nodes) != 1 || nodes[0].Name != "pi one" || nodes[0].ID != idA || !nodes[0].Discovered ||
		!slices.Equal(nodes[0].Addrs, []netip.Addr{netip.MustParseAddr("10.0.0.1")}) {
		t.Fatalf("Nodes() = %+v", nodes)
	}
	if got := nodes[0].AdminURL(); got != "https://10.0.0.1:7070" {
		t.Errorf("AdminURL = %q", got)
	}

	// The same answer again only moves LastSeen: no notification.
	b.observe(answer{inst: entry("pi one", idA, "10.0.0.1", 7070)}, t0.Add(time.Second))
	if notified(b) {
		t.Error("an unchanged answer notified")
	}
	// The node moved to a new address (DHCP): both are listed until the old
	// one ages out.
	b.observe(answer{inst: entry("pi one", idA, "10.0.0.9", 7070)}, t0.Add(5*time.Second))
	if !notified(b) {
		t.Error("a new address did not notify")
	}
	b.observe(answer{inst: entry("pi two", idB, "10.0.0.2", 7070)}, t0.Add(5*time.Second))
	<-b.Changes()

	b.expire(t0.Add(10 * time.Second))
	if got := b.Nodes(); len(got) != 2 || len(got[0].Addrs) != 2 {
		t.Fatalf("expired too early: %+v", got)
	}
	b.expire(t0.Add(12 * time.Second))
	got := b.Nodes()
	if len(got) != 2 || !slices.Equal(got[0].Addrs, []netip.Addr{netip.MustParseAddr("10.0.0.9")}) {
		t.Fatalf("old address not aged out: %+v", got)
	}
	if !notified(b) {
		t.Error("an address ageing out did not notify")
	}
	b.expire(t0.Add(16 * time.Second))
	if got := b.Nodes(); len(got) != 0 {
		t.Fatalf("silent nodes still listed: %+v", got)
	}
	if !notified(b) {
		t.Error("nodes expiring did not notify")
	}
}

func TestObserveIgnoresForeignAnswers(t *testing.T) {
	b := newTestBrowser()
	other := entry("printer", idA, "10.0.0.1", 631)
	other.name = "printer._ipp._tcp.local."
	b.observe(answer{inst: other}, time.Now())
	noID := entry("pi", idA, "10.0.0.1", 7070)
	noID.txt = []string{"txtvers=1"}
	b.observe(answer{inst: noID}, time.Now())
	if got := b.Nodes(); len(got) != 0 {
		t.Errorf("foreign answers listed: %+v", got)
	}
}

func TestNodesMergesManualEntryOfDiscoveredNode(t *testing.T) {
	b := newTestBrowser()
	b.observe(answer{inst: entry("pi", idA, "10.0.0.1", 7070)}, time.Now())
	mismatch := &shared.IdentityMismatchError{Expected: idA, Got: idB}
	b.manual["pi.lan:7070"] = &manual{node: Node{ID: idA, Name: "pi", Manual: "pi.lan:7070", Err: mismatch}}
	b.manual["10.9.9.9:7070"] = &manual{node: Node{Manual: "10.9.9.9:7070", Err: errors.New("refused")}}
	nodes := b.Nodes()
	if len(nodes) != 2 {
		t.Fatalf("Nodes() = %+v, want the merged node and the unknown manual entry", nodes)
	}
	var merged Node
	for _, n := range nodes {
		if n.ID == idA {
			merged = n
		}
	}
	if merged.Manual != "pi.lan:7070" || !merged.Discovered || !errors.Is(merged.Err, mismatch) {
		t.Errorf("merged node = %+v", merged)
	}
	if got := merged.AdminAddrs(); !slices.Equal(got, []string{"pi.lan:7070", "10.0.0.1:7070"}) {
		t.Errorf("AdminAddrs = %v, manual address first", got)
	}
}

func TestAnswerSourceComesFirst(t *testing.T) {
	b := newTestBrowser()
	in := entry("pi", idA, "10.0.3.1", 7070) // lxcbr0, unreachable from here
	in.addrs = append(in.addrs, netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fd00::9"))
	in.src = netip.MustParseAddr("192.168.1.20")
	b.observe(answer{inst: in}, time.Now())
	want := []netip.Addr{
		netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("10.0.3.1"),
		netip.MustParseAddr("fd00::9"), netip.MustParseAddr("fe80::1%eth0"),
	}
	if got := b.Nodes()[0].Addrs; !slices.Equal(got, want) {
		t.Errorf("Addrs = %v, want %v", got, want)
	}
}
