package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// The browser sends its own queries instead of hashicorp/mdns's client:
// that client merges answers by instance name into one entry it keeps
// writing to after handing it out, so two nodes with the same name (every
// Pi is "raspberrypi" out of the box) came out as one, with a data race
// and the odd address of the other node. Here every answer packet is read
// on its own, keyed by who sent it.
//
// Queries go out from an ephemeral port, which makes them "legacy unicast"
// queries (RFC 6762 §6.7): responders answer by unicast to that port
// (hashicorp/mdns responders always do), so no socket has to join the
// multicast group or bind 5353.

// mdnsGroup is the mDNS multicast address: 224.0.0.251:5353, or
// [ff02::fb%zone]:5353 (link-scoped, so it needs the interface).
func mdnsGroup(v6 bool, zone string) *net.UDPAddr {
	if v6 {
		return &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: 5353, Zone: zone}
	}
	return &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
}

// instance is one service instance as one responder described it.
type instance struct {
	name  string // full instance name, presentation format
	port  int
	txt   []string
	addrs []netip.Addr // as announced
	src   netip.Addr   // where the answer came from: reachable from here
}

// query asks for ServiceType on ifc (nil: the system default) and calls
// found for every complete instance answered within timeout. It fails only
// when no query could be sent.
func query(ctx context.Context, ifc *net.Interface, useV6 bool, timeout time.Duration, found func(instance)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var conns []*net.UDPConn
	var errs []error
	if c, err := open4(ifc); err != nil {
		errs = append(errs, err)
	} else {
		conns = append(conns, c)
	}
	if useV6 {
		if c, err := open6(ifc); err != nil {
			errs = append(errs, err)
		} else {
			conns = append(conns, c)
		}
	}
	if len(conns) == 0 {
		return errors.Join(errs...)
	}
	context.AfterFunc(ctx, func() {
		for _, c := range conns {
			c.Close()
		}
	})

	q := newQuerier(ifc, conns, found)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { q.read(c) })
	}
	ptr := new(dns.Msg)
	ptr.SetQuestion(dns.Fqdn(ServiceType+".local"), dns.TypePTR)
	ptr.RecursionDesired = false
	if err := q.send(ptr); err != nil {
		cancel()
		wg.Wait()
		return err
	}
	wg.Wait()
	return nil
}

func open4(ifc *net.Interface) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		return nil, fmt.Errorf("udp4 socket: %w", err)
	}
	if ifc != nil {
		if err := ipv4.NewPacketConn(c).SetMulticastInterface(ifc); err != nil {
			c.Close()
			return nil, fmt.Errorf("udp4 multicast on %s: %w", ifc.Name, err)
		}
	}
	return c, nil
}

func open6(ifc *net.Interface) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		return nil, fmt.Errorf("udp6 socket: %w", err)
	}
	if ifc != nil {
		if err := ipv6.NewPacketConn(c).SetMulticastInterface(ifc); err != nil {
			c.Close()
			return nil, fmt.Errorf("udp6 multicast on %s: %w", ifc.Name, err)
		}
	}
	return c, nil
}

// querier collects the answers of one query round on one interface.
type querier struct {
	ifc   *net.Interface
	conns []*net.UDPConn
	found func(instance)

	mu sync.Mutex
	// What each responder (by source address) said so far; answers that
	// do not fit in one packet are completed from earlier ones.
	srv   map[srcName]*dns.SRV
	txt   map[srcName][]string
	addrs map[srcName][]netip.Addr
	asked map[string]bool // follow-up questions sent
	done  map[srcName]bool
}

type srcName struct{ src, name string }

func newQuerier(ifc *net.Interface, conns []*net.UDPConn, found func(instance)) *querier {
	return &querier{
		ifc: ifc, conns: conns, found: found,
		srv:   make(map[srcName]*dns.SRV),
		txt:   make(map[srcName][]string),
		addrs: make(map[srcName][]netip.Addr),
		asked: make(map[string]bool),
		done:  make(map[srcName]bool),
	}
}

func (q *querier) read(uc *net.UDPConn) {
	buf := make([]byte, 9000)
	for {
		n, from, err := uc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed at the deadline
		}
		var m dns.Msg
		if m.Unpack(buf[:n]) != nil || !m.Response || m.Opcode != dns.OpcodeQuery || m.Rcode != dns.RcodeSuccess {
			continue
		}
		q.handle(&m, from)
	}
}

// send multicasts m on every socket; it fails only if no socket could.
func (q *querier) send(m *dns.Msg) error {
	buf, err := m.Pack()
	if err != nil {
		return err
	}
	var errs []error
	sent := false
	for _, c := range q.conns {
		zone := ""
		if q.ifc != nil {
			zone = q.ifc.Name
		}
		to := mdnsGroup(c.LocalAddr().(*net.UDPAddr).IP.To4() == nil, zone)
		if _, err := c.WriteToUDP(buf, to); err != nil {
			errs = append(errs, fmt.Errorf("send query to %v: %w", to, err))
			continue
		}
		sent = true
	}
	if !sent {
		return errors.Join(append(errs, errors.New("no query sent"))...)
	}
	return nil
}

func (q *querier) handle(m *dns.Msg, from netip.AddrPort) {
	service := dns.Fqdn(ServiceType + ".local")
	src := from.Addr().String()
	var names []string
	var follow []dns.Question

	q.mu.Lock()
	for _, rr := range append(m.Answer, m.Extra...) {
		owner := strings.ToLower(rr.Header().Name)
		key := srcName{src, owner}
		switch rr := rr.(type) {
		case *dns.PTR:
			if strings.EqualFold(rr.Hdr.Name, service) {
				names = append(names, rr.Ptr)
			}
		case *dns.SRV:
			q.srv[key] = rr
			names = append(names, rr.Hdr.Name)
		case *dns.TXT:
			q.txt[key] = rr.Txt
		case *dns.A:
			if ip, ok := netip.AddrFromSlice(rr.A.To4()); ok && !containsAddr(q.addrs[key], ip) {
				q.addrs[key] = append(q.addrs[key], ip)
			}
		case *dns.AAAA:
			if ip, ok := netip.AddrFromSlice(rr.AAAA); ok {
				if ip.IsLinkLocalUnicast() {
					// The zone is local knowledge: the link we asked on.
					zone := from.Addr().Zone()
					if zone == "" && q.ifc != nil {
						zone = q.ifc.Name
					}
					ip = ip.WithZone(zone)
				}
				if !containsAddr(q.addrs[key], ip) {
					q.addrs[key] = append(q.addrs[key], ip)
				}
			}
		}
	}
	var complete []instance
	for _, name := range names {
		key := srcName{src, strings.ToLower(name)}
		if q.done[key] {
			continue
		}
		srv, txt := q.srv[key], q.txt[key]
		if srv == nil || txt == nil {
			follow = q.ask(follow, name, dns.TypeANY)
			continue
		}
		addrs := q.addrs[srcName{src, strings.ToLower(srv.Target)}]
		if len(addrs) == 0 {
			follow = q.ask(follow, srv.Target, dns.TypeA, dns.TypeAAAA)
			continue
		}
		q.done[key] = true
		complete = append(complete, instance{name: name, port: int(srv.Port), txt: txt, addrs: addrs, src: q.source(from)})
	}
	q.mu.Unlock()

	for _, in := range complete {
		q.found(in)
	}
	if len(follow) > 0 {
		// The answer did not fit: ask for the rest, as a browser should.
		m := new(dns.Msg)
		m.RecursionDesired = false
		m.Question = follow
		_ = q.send(m)
	}
}

// source is the address an answer came from, with the zone of the link we
// asked on when it is link-local.
func (q *querier) source(from netip.AddrPort) netip.Addr {
	ip := from.Addr().Unmap()
	if ip.IsLinkLocalUnicast() && ip.Zone() == "" && q.ifc != nil {
		ip = ip.WithZone(q.ifc.Name)
	}
	return ip
}

// ask adds questions for name to the follow-ups unless it was asked
// already. An instance is asked with ANY (SRV and TXT); hashicorp/mdns
// responders answer a host name only for A and AAAA. Called with q.mu held.
func (q *querier) ask(follow []dns.Question, name string, types ...uint16) []dns.Question {
	if q.asked[strings.ToLower(name)] {
		return follow
	}
	q.asked[strings.ToLower(name)] = true
	for _, t := range types {
		follow = append(follow, dns.Question{Name: name, Qtype: t, Qclass: dns.ClassINET})
	}
	return follow
}

func containsAddr(list []netip.Addr, ip netip.Addr) bool {
	for _, a := range list {
		if a == ip {
			return true
		}
	}
	return false
}
