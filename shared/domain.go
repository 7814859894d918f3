package shared

import (
	"net"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// maxDomainLen is the longest host name DNS can carry.
const maxDomainLen = 253

// hostProfile maps a host the way a resolver would before a lookup (UTS 46:
// lower case, width and compatibility mappings, IDNA to punycode) and
// rejects what DNS cannot carry. Profiles are immutable, so sharing one is
// safe.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.CheckHyphens(true),
	idna.CheckJoiners(true),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// NormalizeDomain checks and normalises a claim pattern (SPEC §3): an exact
// host (DNS name, IPv4 or IPv6 literal, the latter with or without
// brackets) or a wildcard whose whole leftmost label is "*". The result is
// lower case, without trailing dot, with IDNA labels in punycode and IP
// literals in canonical form. shapeKey is what two claims of the same hosts
// share, so a unique index on it stops two apps claiming the same thing
// however they spell it. Failures are 422 invalid_domain with field
// "pattern".
func NormalizeDomain(pattern string) (norm, shapeKey string, err error) {
	norm, err = normalizePattern(strings.TrimSpace(pattern))
	if err != nil {
		return "", "", err
	}
	return norm, norm, nil
}

func normalizePattern(p string) (string, error) {
	bad := func(format string, args ...any) error {
		return Errorf(CodeInvalidDomain, format, args...).With("field", "pattern")
	}
	if p == "" {
		return "", bad("domain pattern must not be empty")
	}
	if strings.Contains(p, "://") {
		return "", bad("%q has a scheme; give only the host, e.g. api.example.com", p)
	}
	if i := strings.IndexAny(p, "/?#@\\"); i >= 0 {
		return "", bad("%q contains %q; give only the host, without path or user", p, p[i])
	}
	for _, r := range p {
		if r <= ' ' || r == 0x7f {
			return "", bad("%q contains a space or control character", p)
		}
	}
	// IP literals first: they contain ':' which would otherwise read as a port.
	if ip, ok := parseIPLiteral(p); ok {
		return ip, nil
	}
	if strings.HasPrefix(p, "[") || strings.Count(p, ":") > 1 {
		return "", bad("%q is not a valid IPv6 literal (ports and zones are not allowed)", p)
	}
	if strings.Contains(p, ":") {
		return "", bad("%q has a port; claims cover every port, give only the host", p)
	}
	wildcard := false
	rest := p
	if strings.HasPrefix(p, "*.") {
		wildcard, rest = true, p[2:]
	}
	if strings.Contains(rest, "*") {
		return "", bad("%q: '*' is only allowed as the whole leftmost label, as in *.example.com", p)
	}
	host, err := normalizeDNSName(rest)
	if err != nil {
		return "", bad("%q is not a valid host name: %s", p, err.Error())
	}
	if wildcard {
		if _, ok := parseIPLiteral(host); ok {
			return "", bad("%q: an IP address cannot have a wildcard", p)
		}
		return "*." + host, nil
	}
	return host, nil
}

// parseIPLiteral accepts "1.2.3.4", "::1" and "[::1]" and returns the
// canonical form without brackets; IPv4-mapped IPv6 becomes IPv4, so both
// spellings claim the same host.
func parseIPLiteral(s string) (string, bool) {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
		if !strings.Contains(s, ":") {
			return "", false // [1.2.3.4] is not a literal a Host header carries
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", false
	}
	return a.Unmap().String(), true
}

// dnsError is a reason a DNS name was refused, for the message.
type dnsError string

func (e dnsError) Error() string { return string(e) }

// normalizeDNSName normalises one exact DNS name: trailing dot dropped, IDNA
// mapping and punycode, labels checked.
// toASCII is the IDNA step of normalizeDNSName. Plain LDH names, which are
// nearly every Host header, skip the IDNA tables: for them the mapping is
// only lower-casing (this is on the data plane's request path).
func toASCII(s string) (string, error) {
	if plainLDH(s) {
		return strings.ToLower(s), nil
	}
	return idnaToASCII(s)
}

func idnaToASCII(s string) (string, error) {
	a, err := hostProfile.ToASCII(s)
	if err != nil {
		return "", dnsError("not a valid internationalised name")
	}
	a = strings.ToLower(a)
	// The punycode form must read back as itself, or a stored claim would
	// stop matching the hosts it was made for.
	if again, err := hostProfile.ToASCII(a); err != nil || again != a {
		return "", dnsError("not a valid internationalised name")
	}
	return a, nil
}

// plainLDH reports whether s holds only ASCII letters, digits, '-' and '.'
// and no label that IDNA treats specially ("xn--" punycode, or any "??--").
func plainLDH(s string) bool {
	label := 0 // position within the current label
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			label = 0
			continue
		case c == '-':
			if label == 2 || label == 3 {
				return false
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			return false
		}
		label++
	}
	return true
}

func normalizeDNSName(s string) (string, error) {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", dnsError("empty name")
	}
	if !utf8.ValidString(s) {
		return "", dnsError("not valid UTF-8")
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" {
			return "", dnsError("empty label")
		}
	}
	a, err := toASCII(s)
	if err != nil {
		return "", err
	}
	if len(a) > maxDomainLen {
		return "", dnsError("longer than 253 characters")
	}
	labels := strings.Split(a, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "", dnsError("empty label")
		case len(l) > 63:
			return "", dnsError("a label is longer than 63 characters")
		case l[0] == '-' || l[len(l)-1] == '-':
			return "", dnsError("a label starts or ends with '-'")
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return "", dnsError("only letters, digits and '-' are allowed")
			}
		}
	}
	// A name whose last label is all digits is a mistyped IPv4 address
	// (1.2.3, 256.1.1.1, 01.2.3.4); no top-level domain is numeric.
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return "", dnsError("looks like an IP address but is not a valid one")
	}
	return a, nil
}

// NormalizeHost normalises a request's Host header (or a host typed into
// resolve) the way claims are normalised, so it can be compared with them:
// port stripped, brackets of IPv6 literals removed, lower case, trailing dot
// dropped, IDNA to punycode. Wildcards are not hosts. Failures are 422
// invalid_domain with field "host".
func NormalizeHost(host string) (string, error) {
	if h, ok := normalHost(host); ok {
		return h, nil
	}
	return normalizeHost(host)
}

// normalHost recognises, without allocating, the Host header nearly every
// request carries: a name already in normal form, with or without a port.
// That is lower-case LDH labels of 1 to 63 characters that IDNA leaves
// alone (no label starting "??--", as punycode's "xn--"), without a trailing dot, and whose last label is
// not all digits (numeric names and IP literals take the full path).
func normalHost(s string) (string, bool) {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if !validPort(s[i+1:]) {
			return "", false
		}
		s = s[:i]
	}
	if s == "" || len(s) > maxDomainLen {
		return "", false
	}
	label, digits := 0, true // position in the current label; all digits so far
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if label == 0 || s[i-1] == '-' {
				return "", false
			}
			label, digits = 0, true
			continue
		case 'a' <= c && c <= 'z':
			digits = false
		case '0' <= c && c <= '9':
		case c == '-':
			if label == 0 || label == 3 && s[i-1] == '-' { // "??--" is IDNA's
				return "", false
			}
			digits = false
		default:
			return "", false
		}
		if label++; label > 63 {
			return "", false
		}
	}
	if label == 0 || s[len(s)-1] == '-' || digits {
		return "", false
	}
	return s, true
}

func normalizeHost(host string) (string, error) {
	bad := func(format string, args ...any) error {
		return Errorf(CodeInvalidDomain, format, args...).With("field", "host")
	}
	h := strings.TrimSpace(host)
	if h == "" {
		return "", bad("host must not be empty")
	}
	if ip, ok := parseIPLiteral(h); ok {
		return ip, nil // "::1" or "[::1]" without a port
	}
	if strings.Contains(h, ":") {
		hp, port, err := net.SplitHostPort(h)
		if err != nil || !validPort(port) {
			return "", bad("%q is not a valid host[:port]", host)
		}
		if ip, ok := parseIPLiteral(hp); ok {
			return ip, nil
		}
		if strings.Contains(hp, ":") || strings.HasPrefix(h, "[") {
			return "", bad("%q is not a valid host[:port]", host)
		}
		h = hp
	}
	if strings.ContainsAny(h, "*[]/?#@\\") {
		return "", bad("%q is not a host name", host)
	}
	n, err := normalizeDNSName(h)
	if err != nil {
		return "", bad("%q is not a valid host name: %s", host, err.Error())
	}
	return n, nil
}

// validPort accepts the empty port of "host:" (RFC 3986 allows it) and 0–65535.
func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// DomainCovers reports whether a normalised claim pattern covers a
// normalised host: an exact pattern covers only itself, "*.example.com"
// covers every name below example.com at any depth but not example.com
// itself (Cloudflare's semantics, not Caddy's one-label "*").
func DomainCovers(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return len(host) > len(suffix)+1 && strings.HasSuffix(host, suffix) && host[len(host)-len(suffix)-1] == '.'
	}
	return pattern == host
}

// IsWildcard reports whether a normalised pattern is a wildcard claim.
func IsWildcard(pattern string) bool { return strings.HasPrefix(pattern, "*.") }
