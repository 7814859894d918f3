package discovery

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
)

func TestTXTOrderAndValues(t *testing.T) {
	tests := []struct {
		info Info
		want []string
	}{
		{
			Info{Name: "pi", NodeID: "ABC", Version: "1.2.3", Schema: 4, AdminTLS: true, AdminPort: 7070, DataPort: 8080},
			[]string{"txtvers=1", "id=ABC", "v=1.2.3", "schema=4", "admin=https", "data=8080"},
		},
		{
			Info{Name: "pi", NodeID: "XYZ", Version: "dev", Schema: 0, AdminTLS: false, AdminPort: 7070, DataPort: 80},
			[]string{"txtvers=1", "id=XYZ", "v=dev", "schema=0", "admin=http", "data=80"},
		},
	}
	for _, tt := range tests {
		if got := tt.info.TXT(); !slices.Equal(got, tt.want) {
			t.Errorf("TXT() = %q, want %q", got, tt.want)
		}
	}
}

// packName sends a name through miekg/dns wire format and back, as an
// answer travels from a responder to a browser.
func packName(t *testing.T, name string) (string, error) {
	t.Helper()
	m := new(dns.Msg)
	m.Answer = []dns.RR{&dns.PTR{
		Hdr: dns.RR_Header{Name: "_picloud._tcp.local.", Rrtype: dns.TypePTR, Class: dns.ClassINET},
		Ptr: name,
	}}
	buf, err := m.Pack()
	if err != nil {
		return "", err
	}
	var out dns.Msg
	if err := out.Unpack(buf); err != nil {
		return "", err
	}
	return out.Answer[0].(*dns.PTR).Ptr, nil
}

func TestInstanceLabelStaysOneLabel(t *testing.T) {
	tests := []struct{ name, want string }{
		{"pi-4", "pi-4"},
		{"Pi 4.kitchen", `Pi\ 4\.kitchen`},
		{`a\b"c`, `a\\b\"c`},
		{"Küche", `K\195\188che`},
		{"", "picloud"},
		{strings.Repeat("x", 70), strings.Repeat("x", 63)},
		{strings.Repeat("x", 62) + "ü", strings.Repeat("x", 62)}, // never cut inside a rune
	}
	for _, tt := range tests {
		got := InstanceLabel(tt.name)
		if got != tt.want {
			t.Errorf("InstanceLabel(%q) = %q, want %q", tt.name, got, tt.want)
		}
		full := got + "._picloud._tcp.local."
		back, err := packName(t, full)
		if err != nil {
			t.Errorf("%q does not pack: %v", full, err)
			continue
		}
		if back != full {
			t.Errorf("%q came back from the wire as %q", full, back)
		}
		if n := dns.CountLabel(back); n != 4 {
			t.Errorf("%q has %d labels, want 4", back, n)
		}
	}
}

func FuzzInstanceLabel(f *testing.F) {
	for _, s := range []string{"pi", "Pi 4.kitchen", "Küche", `\.`, strings.Repeat("ü", 40), "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		full := InstanceLabel(name) + "._picloud._tcp.local."
		back, err := packName(t, full)
		if err != nil {
			t.Fatalf("%q does not pack: %v", full, err)
		}
		if back != full || dns.CountLabel(back) != 4 {
			t.Fatalf("%q came back as %q", full, back)
		}
		if utf8.ValidString(name) && !utf8.ValidString(unescapeForTest(InstanceLabel(name))) {
			t.Fatalf("label of valid UTF-8 %q is not valid UTF-8", name)
		}
	})
}

// unescapeForTest decodes \X and \DDD; the console has the real one.
func unescapeForTest(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			b = append(b, (s[i+1]-'0')*100+(s[i+2]-'0')*10+(s[i+3]-'0'))
			i += 3
			continue
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func TestSuitableInterfaces(t *testing.T) {
	lo := net.Interface{Index: 1, Name: "lo", Flags: net.FlagUp | net.FlagLoopback}
	eth := net.Interface{Index: 2, Name: "eth0", Flags: net.FlagUp | net.FlagMulticast | net.FlagBroadcast}
	wlanDown := net.Interface{Index: 3, Name: "wlan0", Flags: net.FlagMulticast | net.FlagBroadcast}
	wlanNoAddr := net.Interface{Index: 3, Name: "wlan0", Flags: net.FlagUp | net.FlagMulticast}
	wlan := net.Interface{Index: 3, Name: "wlan0", Flags: net.FlagUp | net.FlagMulticast}
	wg := net.Interface{Index: 4, Name: "wg0", Flags: net.FlagUp | net.FlagPointToPoint}

	addrs := func(noAddr ...string) func(net.Interface) []net.IP {
		return func(i net.Interface) []net.IP {
			if slices.Contains(noAddr, i.Name) {
				return nil
			}
			return []net.IP{net.IPv4(10, 0, 0, byte(i.Index))}
		}
	}
	tests := []struct {
		name   string
		ifaces []net.Interface
		addrs  func(net.Interface) []net.IP
		want   []string
	}{
		{"ethernet, not loopback", []net.Interface{lo, eth}, addrs(), []string{"eth0"}},
		{"ethernet and wifi", []net.Interface{lo, eth, wlan}, addrs(), []string{"eth0", "wlan0"}},
		{"wifi down", []net.Interface{lo, eth, wlanDown}, addrs(), []string{"eth0"}},
		{"wifi up without address yet", []net.Interface{lo, eth, wlanNoAddr}, addrs("wlan0"), []string{"eth0"}},
		{"no multicast tunnel", []net.Interface{lo, eth, wg}, addrs(), []string{"eth0"}},
		{"loopback when it is all there is", []net.Interface{lo, wg, wlanDown}, addrs(), []string{"lo"}},
		{"nothing at all", []net.Interface{wlanDown}, addrs(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := suitable(tt.ifaces, tt.addrs)
			var names []string
			for n := range got {
				names = append(names, n)
			}
			slices.Sort(names)
			if !slices.Equal(names, tt.want) {
				t.Errorf("suitable = %v, want %v", names, tt.want)
			}
		})
	}
}

func TestOrderIPsPutsRoutableLast(t *testing.T) {
	ips := []net.IP{
		net.ParseIP("fd77::5"), net.ParseIP("fe80::1"), net.ParseIP("169.254.3.4"), net.ParseIP("192.168.1.5"),
	}
	orderIPs(ips)
	want := []string{"169.254.3.4", "192.168.1.5", "fe80::1", "fd77::5"}
	for i, ip := range ips {
		if ip.String() != want[i] {
			t.Fatalf("order = %v, want %v", ips, want)
		}
	}
}

func TestHostNameIsUniquePerNode(t *testing.T) {
	a, b := HostName("AAAA"), HostName("BBBB")
	if a == b || !strings.HasSuffix(a, ".local.") || a != strings.ToLower(a) {
		t.Errorf("HostName gave %q and %q", a, b)
	}
}

// A node without an id or port must not announce (and must not open any
// socket): Run logs and returns at once instead of failing the node.
func TestRunRefusesIncompleteInfo(t *testing.T) {
	for _, info := range []Info{{Name: "pi", AdminPort: 7070}, {Name: "pi", NodeID: "ABC"}} {
		done := make(chan struct{})
		go func() {
			New(info, Options{Logger: slog.New(slog.DiscardHandler)}).Run(context.Background())
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Run(%+v) kept running", info)
		}
	}
}
