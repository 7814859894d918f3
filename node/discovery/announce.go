// Package discovery announces a node on the LAN over mDNS/DNS-SD (SPEC §6),
// so consoles find it without typing addresses.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

// ServiceType is the DNS-SD service nodes announce, in Domain.
const (
	ServiceType = "_picloud._tcp"
	Domain      = "local."
)

// DefaultRecheck is how often the announcer looks for interfaces that came
// up or went away (a Pi's Wi-Fi often joins well after boot).
const DefaultRecheck = 10 * time.Second

// Info is what a node announces.
type Info struct {
	Name      string // instance name, shown in the console
	NodeID    string
	Version   string // product version
	Schema    int    // database schema version
	AdminTLS  bool   // admin API over https (false: http)
	AdminPort int
	DataPort  int
}

// TXT returns the TXT record strings in the order SPEC §6 fixes
// (txtvers first, so readers can tell the format before anything else).
func (i Info) TXT() []string {
	admin := "http"
	if i.AdminTLS {
		admin = "https"
	}
	return []string{
		"txtvers=1",
		"id=" + i.NodeID,
		"v=" + i.Version,
		"schema=" + strconv.Itoa(i.Schema),
		"admin=" + admin,
		"data=" + strconv.Itoa(i.DataPort),
	}
}

func (i Info) validate() error {
	switch {
	case i.NodeID == "":
		return errors.New("announce: no node id")
	case i.AdminPort <= 0 || i.AdminPort > 65535:
		return fmt.Errorf("announce: admin port %d out of range", i.AdminPort)
	}
	return nil
}

// Options tune an Announcer; the zero value is fine.
type Options struct {
	Logger  *slog.Logger  // default slog.Default()
	Recheck time.Duration // interface re-check period, default DefaultRecheck
}

// Announcer runs one mDNS responder per suitable interface: up,
// multicast-capable, with an address, and not loopback unless loopback is
// all there is. hashicorp/mdns joins the multicast group on one interface
// per server (Config.Iface), hence one server each.
type Announcer struct {
	info    Info
	log     *slog.Logger
	recheck time.Duration

	// Touched only by Run's goroutine.
	responders map[string]*responder // by interface name
	failing    map[string]string     // interface → last error logged, to log each failure once
}

type responder struct {
	index  int
	ips    []net.IP
	zone   *zone
	server *mdns.Server
}

// New returns an Announcer for info. Nothing is sent until Run.
func New(info Info, opts Options) *Announcer {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Recheck <= 0 {
		opts.Recheck = DefaultRecheck
	}
	return &Announcer{
		info:       info,
		log:        opts.Logger,
		recheck:    opts.Recheck,
		responders: make(map[string]*responder),
		failing:    make(map[string]string),
	}
}

// Announce runs an announcer for info until ctx is done. Errors are logged,
// never fatal: a node without mDNS is still reachable by address.
func Announce(ctx context.Context, info Info, log *slog.Logger) {
	New(info, Options{Logger: log}).Run(ctx)
}

// Run announces until ctx is done, then closes every responder.
func (a *Announcer) Run(ctx context.Context) {
	if err := a.info.validate(); err != nil {
		a.log.Error("mDNS announcement disabled", "err", err)
		return
	}
	defer a.closeAll()
	t := time.NewTicker(a.recheck)
	defer t.Stop()
	for {
		a.sync()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sync brings the responders in line with the interfaces present now.
func (a *Announcer) sync() {
	ifaces, err := net.Interfaces()
	if err != nil {
		a.log.Warn("mDNS: listing network interfaces", "err", err)
		return
	}
	want := suitable(ifaces, addrsOf)

	for name, r := range a.responders {
		c, ok := want[name]
		if ok && c.iface.Index == r.index {
			continue
		}
		r.server.Shutdown()
		delete(a.responders, name)
		a.log.Info("mDNS: stopped announcing", "iface", name)
	}

	for name, c := range want {
		if r, ok := a.responders[name]; ok {
			if !slices.EqualFunc(r.ips, c.ips, net.IP.Equal) {
				svc, err := a.service(c.ips)
				if err != nil {
					a.fail(name, err)
					continue
				}
				r.ips = c.ips
				r.zone.svc.Store(svc)
				a.log.Info("mDNS: addresses changed", "iface", name, "addrs", c.ips)
			}
			continue
		}
		svc, err := a.service(c.ips)
		if err != nil {
			a.fail(name, err)
			continue
		}
		z := &zone{}
		z.svc.Store(svc)
		iface := c.iface
		srv, err := mdns.NewServer(&mdns.Config{
			Zone:   z,
			Iface:  &iface,
			Logger: slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		})
		if err != nil {
			a.fail(name, err)
			continue
		}
		delete(a.failing, name)
		a.responders[name] = &responder{index: iface.Index, ips: c.ips, zone: z, server: srv}
		a.log.Info("mDNS: announcing", "iface", name, "addrs", c.ips,
			"service", ServiceType, "name", a.info.Name, "port", a.info.AdminPort)
	}
}

// fail logs a responder failure once per distinct error, at warn level, and
// leaves the retry to the next sync.
func (a *Announcer) fail(iface string, err error) {
	if a.failing[iface] == err.Error() {
		a.log.Debug("mDNS: still cannot announce", "iface", iface, "err", err)
		return
	}
	a.failing[iface] = err.Error()
	a.log.Warn("mDNS: cannot announce on interface; will retry", "iface", iface, "err", err)
}

func (a *Announcer) closeAll() {
	for name, r := range a.responders {
		r.server.Shutdown()
		delete(a.responders, name)
	}
	a.log.Debug("mDNS: announcement stopped")
}

func (a *Announcer) service(ips []net.IP) (*mdns.MDNSService, error) {
	svc, err := mdns.NewMDNSService(InstanceLabel(a.info.Name), ServiceType, Domain,
		HostName(a.info.NodeID), a.info.AdminPort, ips, a.info.TXT())
	if err != nil {
		return nil, fmt.Errorf("mDNS service: %w", err)
	}
	return svc, nil
}

// zone lets a running responder switch to new addresses without reopening
// its sockets.
type zone struct {
	svc atomic.Pointer[mdns.MDNSService]
}

func (z *zone) Records(q dns.Question) []dns.RR { return z.svc.Load().Records(q) }

type candidate struct {
	iface net.Interface
	ips   []net.IP
}

func addrsOf(iface net.Interface) []net.IP {
	addrs, err := iface.Addrs()
	if err != nil {
		return nil
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	orderIPs(ips)
	return ips
}

// orderIPs puts IPv4 before IPv6 and, within a family, link-local addresses
// first. hashicorp/mdns clients keep only the last A and the last AAAA
// record of an answer, so the most useful address of each family goes last.
func orderIPs(ips []net.IP) {
	rank := func(ip net.IP) int {
		r := 0
		if ip.To4() == nil {
			r = 2
		}
		if !ip.IsLinkLocalUnicast() {
			r++
		}
		return r
	}
	slices.SortStableFunc(ips, func(a, b net.IP) int { return rank(a) - rank(b) })
}

// suitable picks the interfaces to announce on, by name: up, multicast and
// with an address; loopback only when nothing else qualifies (a node alone
// on a box can still be found by a console on the same box).
func suitable(ifaces []net.Interface, addrs func(net.Interface) []net.IP) map[string]candidate {
	out := make(map[string]candidate)
	var loop []candidate
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		ips := addrs(ifc)
		if len(ips) == 0 {
			continue // no address yet (Wi-Fi still associating): next sync
		}
		if ifc.Flags&net.FlagLoopback != 0 {
			loop = append(loop, candidate{ifc, ips})
			continue
		}
		if ifc.Flags&net.FlagMulticast == 0 {
			continue // point-to-point tunnels and the like
		}
		out[ifc.Name] = candidate{ifc, ips}
	}
	if len(out) == 0 {
		for _, c := range loop {
			out[c.iface.Name] = c
		}
	}
	return out
}

// HostName is the mDNS host name a node's SRV record points to. It comes
// from the node id so two nodes never claim the same name, and it does not
// collide with the host's own name.local that avahi may announce.
func HostName(nodeID string) string {
	return "picloud-" + strings.ToLower(nodeID) + "." + Domain
}

// InstanceLabel turns a node name into a DNS-SD instance label in the
// presentation format of miekg/dns: at most 63 bytes (cut at a rune
// boundary), with dots, spaces and other special bytes escaped, so a name
// like "Pi 4.kitchen" stays one label.
func InstanceLabel(name string) string {
	if name == "" {
		name = "picloud"
	}
	for len(name) > 63 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.' || c == ' ' || c == '\'' || c == '@' || c == ';' || c == '(' || c == ')' || c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
