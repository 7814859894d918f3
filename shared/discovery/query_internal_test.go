package discovery

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// answerFor builds the packet a hashicorp/mdns responder sends for a PTR
// query: PTR, SRV, A/AAAA of the host, TXT, all in the answer section.
func answerFor(instanceName, host string, port uint16, txt []string, ips ...string) *dns.Msg {
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 120}
	}
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}}
	m.Answer = append(m.Answer,
		&dns.PTR{Hdr: hdr("_picloud._tcp.local.", dns.TypePTR), Ptr: instanceName},
		&dns.SRV{Hdr: hdr(instanceName, dns.TypeSRV), Port: port, Target: host})
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip.To4() != nil {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(host, dns.TypeA), A: ip})
		} else {
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(host, dns.TypeAAAA), AAAA: ip})
		}
	}
	m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(instanceName, dns.TypeTXT), Txt: txt})
	return m
}

func collect(ifc *net.Interface) (*querier, *[]instance) {
	var got []instance
	return newQuerier(ifc, nil, func(in instance) { got = append(got, in) }), &got
}

// Two Pis both called raspberrypi answer with the same instance name: they
// stay two instances, each with its own addresses and TXT.
func TestHandleSameNameFromTwoResponders(t *testing.T) {
	q, got := collect(nil)
	q.handle(answerFor("raspberrypi._picloud._tcp.local.", "picloud-a.local.", 7070, []string{"id=" + idA}, "10.0.0.1"),
		netip.MustParseAddrPort("10.0.0.1:5353"))
	q.handle(answerFor("raspberrypi._picloud._tcp.local.", "picloud-b.local.", 7071, []string{"id=" + idB}, "10.0.0.2"),
		netip.MustParseAddrPort("10.0.0.2:5353"))
	if len(*got) != 2 {
		t.Fatalf("found %d instances, want 2: %+v", len(*got), *got)
	}
	a, b := (*got)[0], (*got)[1]
	if a.txt[0] != "id="+idA || a.port != 7070 || !slices.Equal(a.addrs, []netip.Addr{netip.MustParseAddr("10.0.0.1")}) {
		t.Errorf("first = %+v", a)
	}
	if b.txt[0] != "id="+idB || b.port != 7071 || !slices.Equal(b.addrs, []netip.Addr{netip.MustParseAddr("10.0.0.2")}) {
		t.Errorf("second = %+v", b)
	}
}

func TestHandleKeepsEveryAddress(t *testing.T) {
	q, got := collect(&net.Interface{Name: "eth0"})
	q.handle(answerFor("pi._picloud._tcp.local.", "picloud-a.local.", 7070, []string{"id=" + idA},
		"10.0.0.1", "192.168.1.9", "fe80::1", "fd00::1"), netip.MustParseAddrPort("10.0.0.1:5353"))
	if len(*got) != 1 {
		t.Fatalf("found %+v", *got)
	}
	want := []netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.168.1.9"),
		netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fd00::1"),
	}
	if !slices.Equal((*got)[0].addrs, want) {
		t.Errorf("addrs = %v, want %v (link-local with the queried interface as zone)", (*got)[0].addrs, want)
	}
}

// An answer split over packets (PTR first, the rest later) completes once
// everything from that responder is there, and only once.
func TestHandleSplitAnswer(t *testing.T) {
	q, got := collect(nil)
	full := answerFor("pi._picloud._tcp.local.", "picloud-a.local.", 7070, []string{"id=" + idA}, "10.0.0.1")
	src := netip.MustParseAddrPort("10.0.0.1:5353")
	q.handle(&dns.Msg{MsgHdr: full.MsgHdr, Answer: full.Answer[:1]}, src) // PTR only
	if len(*got) != 0 {
		t.Fatalf("incomplete answer reported: %+v", *got)
	}
	q.handle(&dns.Msg{MsgHdr: full.MsgHdr, Answer: full.Answer[1:2]}, src) // SRV
	q.handle(&dns.Msg{MsgHdr: full.MsgHdr, Answer: full.Answer[3:]}, src)  // TXT
	if len(*got) != 0 {
		t.Fatalf("answer without address reported: %+v", *got)
	}
	q.handle(&dns.Msg{MsgHdr: full.MsgHdr, Answer: full.Answer[2:3]}, src) // A
	q.handle(&dns.Msg{MsgHdr: full.MsgHdr, Answer: full.Answer[1:2]}, src) // SRV again: a duplicate
	if len(*got) != 1 || (*got)[0].port != 7070 {
		t.Fatalf("found %+v, want the instance once", *got)
	}
}

func FuzzHandlePacket(f *testing.F) {
	seed, _ := answerFor("pi._picloud._tcp.local.", "h.local.", 7070, []string{"id=" + idA}, "10.0.0.1", "fe80::1").Pack()
	f.Add(seed)
	f.Add([]byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		var m dns.Msg
		if m.Unpack(pkt) != nil {
			return
		}
		q, got := collect(&net.Interface{Name: "eth0"})
		q.handle(&m, netip.MustParseAddrPort("10.0.0.1:5353"))
		for _, in := range *got {
			if len(in.addrs) == 0 || in.txt == nil {
				t.Fatalf("incomplete instance reported: %+v", in)
			}
			_, _ = parseEntry(in)
		}
	})
}
