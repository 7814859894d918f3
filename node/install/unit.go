// Package install puts picloud-node on a systemd machine (a Raspberry Pi, a
// homelab box) as a hardened service, and takes it off again. It backs the
// `picloud-node install` and `uninstall` subcommands.
package install

import (
	"bytes"
	_ "embed"
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"unicode"
)

// ServiceName is the systemd unit the node runs as.
const ServiceName = "picloud-node.service"

// unitTemplate is the single source of the unit: `install` renders it, and
// assets/picloud-node.service (for people who install by hand) is its
// rendering with DefaultUnit, kept identical by TestAssetIsDefaultUnit.
//
//go:embed picloud-node.service.tmpl
var unitTemplate string

// Unit holds what varies between installations of the service.
type Unit struct {
	Binary  string // absolute path of the installed picloud-node
	User    string // system user the node runs as; also its group
	DataDir string // PICLOUD_DATA, owned by User, mode 0700

	// Optional node settings written into the unit; empty keeps the node's
	// own default (hostname, :8080, :7070).
	Name      string
	Bind      string
	AdminBind string
}

// DefaultUnit is the standard installation.
func DefaultUnit() Unit {
	return Unit{
		Binary:  "/usr/local/bin/picloud-node",
		User:    "picloud",
		DataDir: "/var/lib/picloud",
	}
}

// Node defaults the unit falls back to when Bind/AdminBind are empty
// (SPEC §1); only their ports matter here, to decide on capabilities.
const (
	defaultBind      = ":8080"
	defaultAdminBind = ":7070"
)

var (
	safePath = regexp.MustCompile(`^/[A-Za-z0-9._/+-]*$`)
	userName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

// Validate rejects values that would not survive being written into a unit
// file or handed to useradd: relative or unclean paths, characters systemd
// would interpret, control characters that could inject directives.
func (u Unit) Validate() error {
	for _, p := range []struct{ what, val string }{{"binary path", u.Binary}, {"data directory", u.DataDir}} {
		if !safePath.MatchString(p.val) || path.Clean(p.val) != p.val || p.val == "/" {
			return fmt.Errorf("invalid %s %q: want an absolute, clean path of letters, digits and ._+-", p.what, p.val)
		}
	}
	// ProtectHome= and PrivateTmp= hide these from the service.
	for _, hidden := range []string{"/home", "/root", "/run/user", "/tmp", "/var/tmp"} {
		for _, p := range []struct{ what, val, instead string }{
			{"data directory", u.DataDir, "/var/lib/picloud"}, {"binary path", u.Binary, "/usr/local/bin/picloud-node"},
		} {
			if p.val == hidden || strings.HasPrefix(p.val, hidden+"/") {
				return fmt.Errorf("invalid %s %s: the service cannot see %s; use e.g. %s", p.what, p.val, hidden, p.instead)
			}
		}
	}
	if !userName.MatchString(u.User) {
		return fmt.Errorf("invalid user name %q: want a lower-case system user name such as picloud", u.User)
	}
	if strings.TrimSpace(u.Name) != u.Name || strings.IndexFunc(u.Name, unicode.IsControl) >= 0 {
		return fmt.Errorf("invalid node name %q: no control characters or surrounding spaces", u.Name)
	}
	for _, b := range []struct{ flag, val string }{{"bind", u.Bind}, {"admin-bind", u.AdminBind}} {
		if b.val == "" {
			continue
		}
		odd := strings.IndexFunc(b.val, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"\%`, r)
		})
		if _, err := listenPort(b.val); err != nil || odd >= 0 {
			return fmt.Errorf("invalid listen address (--%s) %q: want host:port such as :8080", b.flag, b.val)
		}
	}
	return nil
}

// LowPort reports whether the node listens below port 1024, the only reason
// the service gets a capability (CAP_NET_BIND_SERVICE).
func (u Unit) LowPort() bool {
	for _, addr := range []string{or(u.Bind, defaultBind), or(u.AdminBind, defaultAdminBind)} {
		if p, err := listenPort(addr); err == nil && p < 1024 {
			return true
		}
	}
	return false
}

// StateDirectory is the name systemd's StateDirectory= takes when the data
// directory sits directly in /var/lib, so that systemd creates it for people
// who install by hand; "" otherwise.
func (u Unit) StateDirectory() string {
	if dir, name := path.Split(u.DataDir); dir == "/var/lib/" {
		return name
	}
	return ""
}

// Render returns the unit file.
func (u Unit) Render() ([]byte, error) {
	if err := u.Validate(); err != nil {
		return nil, err
	}
	return u.render()
}

func (u Unit) render() ([]byte, error) {
	t, err := template.New(ServiceName).Option("missingkey=error").
		Funcs(template.FuncMap{"env": envAssignment}).Parse(unitTemplate)
	if err != nil {
		return nil, fmt.Errorf("unit template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, u); err != nil {
		return nil, fmt.Errorf("render unit: %w", err)
	}
	return b.Bytes(), nil
}

// envAssignment is the value of an Environment= line: NAME=value, quoted
// when the value holds anything but plain characters. Inside quotes systemd
// takes C escapes, and % starts a specifier everywhere, so it is doubled.
func envAssignment(name, value string) string {
	plain := strings.IndexFunc(value, func(r rune) bool {
		return !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._/:+-[]", r)))
	}) < 0
	if plain {
		return name + "=" + value
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`)
	return `"` + name + "=" + r.Replace(value) + `"`
}

func listenPort(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", p)
	}
	return n, nil
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}
