package shared

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxEgressEntries bounds an app's egress allowlist (SPEC §10).
const MaxEgressEntries = 64

// Egress is an app's egress allowlist, the body of GET and PUT
// /apps/{app}/egress. An empty list (the default) closes the network.
type Egress struct {
	Allow []string `json:"allow"`
}

// EgressKind is what an allowlist entry names.
type EgressKind uint8

const (
	EgressHost     EgressKind = iota // api.github.com
	EgressWildcard                   // *.example.com: every name below it
	EgressIP                         // 192.168.1.10, ::1
	EgressCIDR                       // 192.168.1.0/24
)

// EgressEntry is one parsed allowlist entry. Port 0 means every port.
type EgressEntry struct {
	kind   EgressKind
	host   string       // EgressHost: the name; EgressWildcard: ".example.com"
	prefix netip.Prefix // EgressIP (a single address) and EgressCIDR
	port   uint16
}

// Kind says what the entry names.
func (e EgressEntry) Kind() EgressKind { return e.kind }

// Host is the name of a host entry, or *.suffix of a wildcard.
func (e EgressEntry) Host() string {
	if e.kind == EgressWildcard {
		return "*" + e.host
	}
	return e.host
}

// Prefix is the address (a single-address prefix) or range of an IP or
// CIDR entry.
func (e EgressEntry) Prefix() netip.Prefix { return e.prefix }

// Port is the one port the entry allows, 0 for every port.
func (e EgressEntry) Port() uint16 { return e.port }

// String is the entry's canonical spelling, the one stored.
func (e EgressEntry) String() string {
	var h string
	switch e.kind {
	case EgressHost:
		h = e.host
	case EgressWildcard:
		h = "*" + e.host
	case EgressCIDR:
		return e.prefix.String()
	case EgressIP:
		h = e.prefix.Addr().String()
		if e.port != 0 && e.prefix.Addr().Is6() {
			h = "[" + h + "]"
		}
	}
	if e.port != 0 {
		h += ":" + strconv.Itoa(int(e.port))
	}
	return h
}

// ParseEgressEntry checks and normalises one allowlist entry: an exact host
// or wildcard (normalised like a domain claim), an IP literal, each with
// an optional port (host:8123, [::1]:8080), or a CIDR without port.
// Failures are 422 validation_failed on field "allow".
func ParseEgressEntry(s string) (EgressEntry, error) {
	s = strings.TrimSpace(s)
	bad := func(format string, args ...any) (EgressEntry, error) {
		return EgressEntry{}, Validation("allow", format, args...).With("entry", s)
	}
	if s == "" {
		return bad("an egress entry must not be empty")
	}
	if strings.Contains(s, "://") {
		return bad("%q has a scheme; give only the host, e.g. api.example.com or 192.168.1.10:8123", s)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			return bad("%q is not a CIDR range such as 192.168.1.0/24 (paths are not allowed)", s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return EgressEntry{kind: EgressCIDR, prefix: p.Masked()}, nil
	}
	host, port, err := splitEgressPort(s)
	if err != nil {
		return bad("%q: %s", s, err.Error())
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return bad("%q: IPv6 zones are not allowed", s)
		}
		a = a.Unmap()
		return EgressEntry{kind: EgressIP, prefix: netip.PrefixFrom(a, a.BitLen()), port: port}, nil
	}
	if strings.HasPrefix(host, "[") || strings.Contains(host, ":") {
		return bad("%q is not a valid IPv6 literal; write it as ::1 or [::1]:8080", s)
	}
	norm, err := normalizePattern(host)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return bad("%s", e.Message)
		}
		return bad("%q is not a valid host", s)
	}
	if w, ok := strings.CutPrefix(norm, "*"); ok {
		return EgressEntry{kind: EgressWildcard, host: w, port: port}, nil
	}
	return EgressEntry{kind: EgressHost, host: norm, port: port}, nil
}

// splitEgressPort splits an optional :port off an entry. A bare IPv6
// literal (more than one colon, no brackets) has none.
func splitEgressPort(s string) (host string, port uint16, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", 0, errors.New("missing ']'")
		}
		host, rest := s[1:end], s[end+1:]
		if !strings.Contains(host, ":") {
			return "", 0, errors.New("brackets are only for IPv6 literals")
		}
		if rest == "" {
			return host, 0, nil
		}
		p, ok := strings.CutPrefix(rest, ":")
		if !ok {
			return "", 0, errors.New("unexpected text after ']'")
		}
		port, err := parseEgressPort(p)
		return host, port, err
	}
	if strings.Count(s, ":") != 1 {
		return s, 0, nil
	}
	h, p, _ := strings.Cut(s, ":")
	port, err = parseEgressPort(p)
	return h, port, err
}

func parseEgressPort(p string) (uint16, error) {
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 || strings.HasPrefix(p, "+") {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	return uint16(n), nil
}

// NormalizeEgress checks a whole allowlist and returns it in canonical
// spelling, duplicates dropped, order kept. A bad entry is 422
// validation_failed on field "allow" with its index.
func NormalizeEgress(allow []string) ([]string, error) {
	out := make([]string, 0, len(allow))
	seen := make(map[string]bool, len(allow))
	for i, s := range allow {
		e, err := ParseEgressEntry(s)
		if err != nil {
			var ve *Error
			if errors.As(err, &ve) {
				return nil, ve.With("index", i)
			}
			return nil, err
		}
		if c := e.String(); !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) > MaxEgressEntries {
		return nil, Validation("allow", "an app may list at most %d egress entries, not %d", MaxEgressEntries, len(out))
	}
	return out, nil
}

// EgressDeniedError is a request the egress allowlist refused: its URL,
// or the address its host resolved to. Scripts see a TypeError with this
// message.
type EgressDeniedError struct {
	Host string
}

func (e *EgressDeniedError) Error() string { return "egress not allowed: " + e.Host }

// EgressPolicy decides an app's outbound requests (SPEC §10). It is built
// once per rebuild from the stored entries and only read afterwards, so
// every run of the app may share it. The zero policy (and nil) allows
// nothing.
type EgressPolicy struct {
	entries []EgressEntry
}

// NewEgressPolicy builds the policy of a stored allowlist.
func NewEgressPolicy(allow []string) (*EgressPolicy, error) {
	p := &EgressPolicy{entries: make([]EgressEntry, 0, len(allow))}
	for _, s := range allow {
		e, err := ParseEgressEntry(s)
		if err != nil {
			return nil, err
		}
		p.entries = append(p.entries, e)
	}
	return p, nil
}

// Empty reports whether the policy allows nothing.
func (p *EgressPolicy) Empty() bool { return p == nil || len(p.entries) == 0 }

// AllowsURL reports whether a URL's host and port (the scheme's default
// when the URL names none) may be requested: a host or wildcard entry
// matches the name, or, for an IP literal, an IP or CIDR entry covers it.
// A name entry never matches an IP literal, nor an IP entry a name.
func (p *EgressPolicy) AllowsURL(host string, port uint16) bool {
	if p == nil {
		return false
	}
	if a, ok := parseIPLiteral(host); ok {
		addr, _ := netip.ParseAddr(a)
		return p.coversAddr(netip.AddrPortFrom(addr, port))
	}
	name, err := normalizeDNSName(host)
	if err != nil {
		return false
	}
	for _, e := range p.entries {
		if e.port != 0 && e.port != port {
			continue
		}
		switch e.kind {
		case EgressHost:
			if name == e.host {
				return true
			}
		case EgressWildcard:
			if strings.HasSuffix(name, e.host) {
				return true
			}
		}
	}
	return false
}

// AllowsDial reports whether the address a request is about to connect to
// (after DNS, for every hop) may be dialled. A public address passed the
// URL check already. A non-public one (IsPublicAddr) is dialled only when
// an IP or CIDR entry covers it, so a listed name cannot be rebound to the
// LAN. self says the address is one of the node's own listeners: it is
// dialled only when an IP entry names both its address and its port.
func (p *EgressPolicy) AllowsDial(ap netip.AddrPort, self bool) bool {
	if p == nil {
		return false
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	if self {
		for _, e := range p.entries {
			if e.kind == EgressIP && e.port == ap.Port() && e.prefix.Addr() == ap.Addr() {
				return true
			}
		}
		return false
	}
	return IsPublicAddr(ap.Addr()) || p.coversAddr(ap)
}

// coversAddr reports whether an IP or CIDR entry covers ap.
func (p *EgressPolicy) coversAddr(ap netip.AddrPort) bool {
	for _, e := range p.entries {
		if e.kind != EgressIP && e.kind != EgressCIDR {
			continue
		}
		if e.port != 0 && e.port != ap.Port() {
			continue
		}
		if e.prefix.Contains(ap.Addr()) {
			return true
		}
	}
	return false
}

// nonPublic are the ranges beyond netip's own predicates that never lead
// to the Internet: CGNAT, "this network", reserved and benchmarking
// ranges, IETF protocol assignments, and deprecated IPv6 site-local.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("fec0::/10"),
}

// nat64 embeds an IPv4 address in its last 32 bits (RFC 6052): it is as
// public as that address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// IsPublicAddr reports whether a is an address on the Internet: not
// loopback, private (RFC 1918, unique-local fc00::/7), link-local, CGNAT,
// unspecified, multicast or otherwise reserved. IPv4-mapped and NAT64
// addresses are judged by the IPv4 address they carry.
func IsPublicAddr(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
