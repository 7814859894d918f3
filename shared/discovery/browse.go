// Package discovery finds PiCloud nodes on the LAN: continuous mDNS
// browsing for _picloud._tcp (SPEC §6) plus addresses typed by the user.
// The console's sidebar and `picloud-node discover` both use it; the
// node's own announcement is node/discovery.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServiceType is the DNS-SD service nodes announce in the local. domain.
const ServiceType = "_picloud._tcp"

// DefaultAdminPort is assumed for a manual address without a port.
const DefaultAdminPort = 7070

// Defaults of Config.
const (
	DefaultInterval     = 10 * time.Second
	DefaultQueryTimeout = 2 * time.Second
	DefaultProbeTimeout = 5 * time.Second
)

// Node is a node as the console lists it.
type Node struct {
	ID         string       `json:"id"`                  // node id; "" for a manual entry that never answered
	Name       string       `json:"name"`                // node name
	Addrs      []netip.Addr `json:"addrs"`               // addresses announced over mDNS, IPv4 first
	Port       int          `json:"port"`                // admin port
	Version    string       `json:"version"`             // product version
	Schema     int          `json:"schema"`              // database schema version
	Admin      string       `json:"admin"`               // "https" or "http"
	DataPort   int          `json:"data_port,omitempty"` // data-plane port (TXT data=, or /version for manual entries); 0 when unknown
	LastSeen   time.Time    `json:"last_seen"`           // last mDNS answer or successful probe
	Discovered bool         `json:"discovered"`          // answering over mDNS
	Manual     string       `json:"manual,omitempty"`    // host:port typed by the user, "" if none
	Err        error        `json:"-"`                   // why the last probe of the manual address failed, e.g. *shared.IdentityMismatchError
}

// AdminAddrs lists the host:port addresses to reach the admin API at, the
// manual one first. Link-local IPv6 addresses carry their zone.
func (n Node) AdminAddrs() []string {
	var out []string
	if n.Manual != "" {
		out = append(out, n.Manual)
	}
	for _, a := range n.Addrs {
		hp := netip.AddrPortFrom(a, uint16(n.Port)).String()
		if !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	return out
}

// AdminURL is the base URL of the node's admin API at its first address,
// or "" when it has none.
func (n Node) AdminURL() string {
	addrs := n.AdminAddrs()
	if len(addrs) == 0 {
		return ""
	}
	scheme := n.Admin
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + addrs[0]
}

// Config tunes a Browser; the zero value gives the defaults.
type Config struct {
	Interval     time.Duration // between query rounds
	QueryTimeout time.Duration // how long each round listens for answers
	TTL          time.Duration // forget a node (or address) after this long without an answer; default 3×Interval
	ProbeTimeout time.Duration // for a manual address
	DisableIPv6  bool          // query over IPv4 only (answers may still carry IPv6 addresses)
	ManualOnly   bool          // no mDNS at all: only manual entries (PICLOUD_MDNS=off, tests)
	Logger       *slog.Logger
}

// Browser keeps the list of nodes: those answering mDNS queries, keyed by
// node id, and the addresses the user typed in. Nodes (hashicorp/mdns
// responders) only answer queries and never say goodbye, so Run asks again
// every Interval and drops what stopped answering for TTL.
type Browser struct {
	cfg     Config
	log     *slog.Logger
	changes chan struct{}

	mu     sync.Mutex
	found  map[string]*found  // by node id
	manual map[string]*manual // by host:port
	failed string             // last query error logged, to log it once
}

type found struct {
	node  Node
	addrs map[netip.Addr]time.Time // last seen, per address
	srcs  map[netip.Addr]time.Time // addresses answers came from, last seen
}

type manual struct {
	scheme string // "https", "http" or "" (try https, then http)
	node   Node   // last probe result; node.ID is the pin once learned
}

// NewBrowser returns a browser; call Run to start it.
func NewBrowser(cfg Config) *Browser {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	if cfg.QueryTimeout > cfg.Interval {
		cfg.QueryTimeout = cfg.Interval
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 3 * cfg.Interval
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Browser{
		cfg:     cfg,
		log:     cfg.Logger,
		changes: make(chan struct{}, 1),
		found:   make(map[string]*found),
		manual:  make(map[string]*manual),
	}
}

// Changes receives a value after the list changed (a node came, went or
// changed; a manual entry was probed). Notifications coalesce: read
// Nodes after each one. LastSeen alone moving on does not notify.
func (b *Browser) Changes() <-chan struct{} { return b.changes }

func (b *Browser) notify() {
	select {
	case b.changes <- struct{}{}:
	default:
	}
}

// Run browses until ctx is done: a query round every Interval, manual
// entries re-probed, silent nodes expired. It returns ctx.Err().
func (b *Browser) Run(ctx context.Context) error {
	t := time.NewTicker(b.cfg.Interval)
	defer t.Stop()
	for {
		b.Refresh(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Refresh runs one round now: queries, probes the manual entries and
// expires silent nodes. Errors are logged.
func (b *Browser) Refresh(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		if b.cfg.ManualOnly {
			return
		}
		err := b.Query(ctx)
		b.mu.Lock()
		defer b.mu.Unlock()
		switch {
		case err == nil:
			b.failed = ""
		case ctx.Err() != nil:
		case err.Error() != b.failed:
			b.failed = err.Error()
			b.log.Warn("mDNS browse failed; will retry", "err", err)
		default:
			b.log.Debug("mDNS browse still failing", "err", err)
		}
	})
	b.mu.Lock()
	addrs := make([]string, 0, len(b.manual))
	for a := range b.manual {
		addrs = append(addrs, a)
	}
	b.mu.Unlock()
	for _, a := range addrs {
		wg.Go(func() { _, _ = b.probeManual(ctx, a) })
	}
	wg.Wait()
	b.expire(time.Now())
}

// Query sends one round of mDNS queries, one per suitable interface, and
// records the answers that arrive within QueryTimeout. It fails only when
// no query could be sent at all.
func (b *Browser) Query(ctx context.Context) error {
	ifaces := queryInterfaces()
	entries := make(chan answer, 64)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for a := range entries {
			b.observe(a, time.Now())
		}
	}()

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, ifc := range ifaces {
		wg.Go(func() {
			err := query(ctx, ifc, !b.cfg.DisableIPv6, b.cfg.QueryTimeout, func(in instance) {
				entries <- answer{in, ifc}
			})
			if err != nil {
				name := "default"
				if ifc != nil {
					name = ifc.Name
				}
				mu.Lock()
				errs = append(errs, fmt.Errorf("query on %s: %w", name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(entries)
	<-collected
	if len(errs) == len(ifaces) {
		return errors.Join(errs...)
	}
	return nil
}

type answer struct {
	inst  instance
	iface *net.Interface // the interface queried on; nil for the default
}

// queryInterfaces returns the interfaces to query on: up, multicast, not
// loopback; loopback when nothing else is up; nil (the system default)
// when listing fails.
func queryInterfaces() []*net.Interface {
	ifaces, err := net.Interfaces()
	if err != nil {
		return []*net.Interface{nil}
	}
	var out, loop []*net.Interface
	for i := range ifaces {
		ifc := &ifaces[i]
		switch {
		case ifc.Flags&net.FlagUp == 0:
		case ifc.Flags&net.FlagLoopback != 0:
			loop = append(loop, ifc)
		case ifc.Flags&net.FlagMulticast != 0 && hasRoutableAddr(ifc):
			out = append(out, ifc)
		}
	}
	if len(out) == 0 {
		out = loop
	}
	if len(out) == 0 {
		out = []*net.Interface{nil}
	}
	return out
}

// hasRoutableAddr reports whether ifc has an address other than an IPv6
// link-local one. Bridge ports and links still waiting for DHCP have none,
// and answers heard there would carry the wrong zone.
func hasRoutableAddr(ifc *net.Interface) bool {
	addrs, err := ifc.Addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

// observe records one mDNS answer.
func (b *Browser) observe(a answer, now time.Time) {
	n, err := parseEntry(a.inst)
	if err != nil {
		b.log.Debug("mDNS: ignoring answer", "name", a.inst.name, "err", err)
		return
	}
	// The source of the answer goes first: a node also announces
	// addresses of links the console is not on (docker0, lxcbr0, a second
	// LAN), but it answered from one the console can reach.
	addrs := a.inst.addrs
	if a.inst.src.IsValid() && !slices.Contains(addrs, a.inst.src) {
		addrs = append(slices.Clone(addrs), a.inst.src)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.found[n.ID]
	if !ok {
		f = &found{addrs: make(map[netip.Addr]time.Time), srcs: make(map[netip.Addr]time.Time)}
		b.found[n.ID] = f
	}
	changed := !ok
	for _, ip := range addrs {
		if _, seen := f.addrs[ip]; !seen {
			changed = true
		}
		f.addrs[ip] = now
	}
	old := f.node
	if src := a.inst.src; src.IsValid() {
		if _, seen := f.srcs[src]; !seen {
			changed = true
		}
		f.srcs[src] = now
	}
	n.Addrs = sortedAddrs(f.addrs, f.srcs)
	n.LastSeen = now
	n.Discovered = true
	f.node = n
	if changed || old.Name != n.Name || old.Port != n.Port || old.Version != n.Version ||
		old.Schema != n.Schema || old.Admin != n.Admin || old.DataPort != n.DataPort {
		b.notify()
	}
}

// expire drops addresses and nodes that have not answered for TTL.
func (b *Browser) expire(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := false
	for id, f := range b.found {
		for ip, seen := range f.addrs {
			if now.Sub(seen) > b.cfg.TTL {
				delete(f.addrs, ip)
				changed = true
			}
		}
		for ip, seen := range f.srcs {
			if now.Sub(seen) > b.cfg.TTL {
				delete(f.srcs, ip)
			}
		}
		if now.Sub(f.node.LastSeen) > b.cfg.TTL || len(f.addrs) == 0 {
			delete(b.found, id)
			b.log.Debug("mDNS: node stopped answering", "id", id, "name", f.node.Name)
			changed = true
			continue
		}
		f.node.Addrs = sortedAddrs(f.addrs, f.srcs)
	}
	if changed {
		b.notify()
	}
}

// sortedAddrs orders a node's addresses for trying them in turn. Those
// answers came from (reachable from here) go first, IPv4 before IPv6 and
// routable before link-local within each group.
func sortedAddrs(m, srcs map[netip.Addr]time.Time) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for ip := range m {
		out = append(out, ip)
	}
	rank := func(ip netip.Addr) int {
		r := 0
		switch {
		case ip.Is4():
		case !ip.IsLinkLocalUnicast():
			r = 1
		default:
			r = 2
		}
		if _, ok := srcs[ip]; !ok {
			r += 3
		}
		return r
	}
	slices.SortFunc(out, func(x, y netip.Addr) int {
		if c := rank(x) - rank(y); c != 0 {
			return c
		}
		return x.Compare(y)
	})
	return out
}

// Nodes returns a snapshot of the list, sorted by name then id. A manual
// entry whose node also answers mDNS is merged into that node.
func (b *Browser) Nodes() []Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	byID := make(map[string]int)
	var out []Node
	for id, f := range b.found {
		n := f.node
		n.Addrs = slices.Clone(n.Addrs)
		byID[id] = len(out)
		out = append(out, n)
	}
	for addr, m := range b.manual {
		if i, ok := byID[m.node.ID]; ok && m.node.ID != "" {
			out[i].Manual = addr
			out[i].Err = m.node.Err
			continue
		}
		n := m.node
		n.Addrs = slices.Clone(n.Addrs)
		out = append(out, n)
	}
	slices.SortFunc(out, func(x, y Node) int {
		if c := strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)); c != 0 {
			return c
		}
		if c := strings.Compare(x.ID, y.ID); c != 0 {
			return c
		}
		return strings.Compare(x.Manual, y.Manual)
	})
	return out
}

// parseEntry reads a node from an mDNS answer: the instance name and the
// TXT record of SPEC §6. Answers for other services are refused.
func parseEntry(in instance) (Node, error) {
	name, err := instanceName(in.name)
	if err != nil {
		return Node{}, err
	}
	n, err := parseTXT(in.txt)
	if err != nil {
		return Node{}, err
	}
	if in.port <= 0 || in.port > 65535 {
		return Node{}, fmt.Errorf("port %d out of range", in.port)
	}
	n.Name = name
	n.Port = in.port
	return n, nil
}

// instanceName returns the instance label of a service instance name such
// as `Pi\ 4._picloud._tcp.local.`, unescaped (miekg/dns presentation
// format: \X and \DDD).
func instanceName(full string) (string, error) {
	suffix := "." + ServiceType + ".local."
	if len(full) <= len(suffix) || !strings.EqualFold(full[len(full)-len(suffix):], suffix) {
		return "", fmt.Errorf("%q is not a %s instance", full, ServiceType)
	}
	label := full[:len(full)-len(suffix)]
	var b strings.Builder
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case c == '.':
			return "", fmt.Errorf("%q is not a %s instance", full, ServiceType)
		case c != '\\':
			b.WriteByte(c)
		case i+3 < len(label) && isDigit(label[i+1]) && isDigit(label[i+2]) && isDigit(label[i+3]):
			v, _ := strconv.Atoi(label[i+1 : i+4])
			if v > 255 {
				return "", fmt.Errorf("bad escape in %q", full)
			}
			b.WriteByte(byte(v))
			i += 3
		case i+1 < len(label):
			b.WriteByte(label[i+1])
			i++
		default:
			return "", fmt.Errorf("bad escape in %q", full)
		}
	}
	return b.String(), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseTXT reads the TXT keys of SPEC §6. Keys are case-insensitive, the
// first occurrence wins (RFC 6763 §6.4), unknown keys are ignored; id is
// required and must look like a node id.
func parseTXT(fields []string) (Node, error) {
	kv := make(map[string]string)
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		k = strings.ToLower(k)
		if _, dup := kv[k]; !dup && k != "" {
			kv[k] = v
		}
	}
	if v, ok := kv["txtvers"]; ok && v != "1" {
		return Node{}, fmt.Errorf("unsupported txtvers %q", v)
	}
	id := strings.ToUpper(kv["id"])
	if !validNodeID(id) {
		return Node{}, fmt.Errorf("bad node id %q", kv["id"])
	}
	n := Node{ID: id, Version: kv["v"], Admin: "https"}
	if kv["admin"] == "http" {
		n.Admin = "http"
	}
	if s, err := strconv.Atoi(kv["schema"]); err == nil && s >= 0 {
		n.Schema = s
	}
	if p, err := strconv.Atoi(kv["data"]); err == nil && p > 0 && p <= 65535 {
		n.DataPort = p
	}
	return n, nil
}

// validNodeID: 16 bytes in base32 without padding (SPEC §1).
func validNodeID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
