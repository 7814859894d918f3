// Package server wires a PiCloud node together: settings, identity (token,
// TLS certificate, node id), the store, executor, orchestrator and manager,
// the two listeners and their graceful shutdown.
package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/shared"
)

// Config holds every setting of SPEC §1.
type Config struct {
	DataDir     string
	Bind        string // data plane
	AdminBind   string
	ClusterBind string // Raft and membership traffic, pinned TLS (SPEC §12)
	// ClusterRaft tunes Raft (tests: quick elections, small snapshot
	// thresholds); nil is cluster.LANConfig(). No flag sets it.
	ClusterRaft  *raft.Config
	AdminTLS     bool
	AdminToken   string // PICLOUD_ADMIN_TOKEN: fixes the token instead of the stored one
	Name         string
	MDNS         bool
	LogRetention int
	Ceiling      shared.Limits
	// KV limits (SPEC §7): the largest value and an app's quota, in bytes.
	KVMaxValue    int64
	KVMaxAppBytes int64

	// Stamped at build time; shown by `version` and /version.
	Version string
	Commit  string
}

// Defaults are the settings a node uses when nothing is set.
func Defaults() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "picloud"
	}
	return Config{
		DataDir:       "./picloud-data",
		Bind:          ":8080",
		AdminBind:     ":7070",
		ClusterBind:   ":7071",
		AdminTLS:      true,
		Name:          host,
		MDNS:          true,
		LogRetention:  10000,
		Ceiling:       shared.BuiltinCeiling(),
		KVMaxValue:    shared.DefaultKVMaxValue,
		KVMaxAppBytes: shared.DefaultKVMaxAppBytes,
		Version:       "dev",
	}
}

// ParseConfig reads settings from args and the environment; a flag wins over
// its variable. Invalid values are an error naming the setting, except the
// sandbox ceilings, which are skipped with a warning (SPEC §1).
func ParseConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, []string, error) {
	c := Defaults()
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.DataDir, "data", env("PICLOUD_DATA", c.DataDir), "data directory (SQLite db, TLS key, token) [PICLOUD_DATA]")
	fs.StringVar(&c.Bind, "bind", env("PICLOUD_BIND", c.Bind), "data plane listen address: the apps' HTTP traffic [PICLOUD_BIND]")
	fs.StringVar(&c.AdminBind, "admin-bind", env("PICLOUD_ADMIN_BIND", c.AdminBind), "admin API listen address [PICLOUD_ADMIN_BIND]")
	fs.StringVar(&c.ClusterBind, "cluster-bind", env("PICLOUD_CLUSTER_BIND", c.ClusterBind), "cluster listen address: Raft traffic between members, TLS pinned by node id; bound only once the node forms or joins a cluster [PICLOUD_CLUSTER_BIND]")
	adminTLS := fs.String("admin-tls", env("PICLOUD_ADMIN_TLS", "on"), "on|off: off serves the admin API over plain HTTP (tests, dev) [PICLOUD_ADMIN_TLS]")
	fs.StringVar(&c.Name, "name", env("PICLOUD_NODE_NAME", c.Name), "node name shown in the console and mDNS [PICLOUD_NODE_NAME]")
	mdns := fs.String("mdns", env("PICLOUD_MDNS", "on"), "on|off: off disables the mDNS announcement [PICLOUD_MDNS]")
	retention := fs.String("log-retention", env("PICLOUD_LOG_RETENTION", strconv.Itoa(c.LogRetention)), "execution logs kept per app, oldest pruned [PICLOUD_LOG_RETENTION]")
	kvMaxValue := fs.String("kv-max-value", env("PICLOUD_KV_MAX_VALUE", strconv.FormatInt(c.KVMaxValue, 10)), "largest KV value in bytes [PICLOUD_KV_MAX_VALUE]")
	kvMaxApp := fs.String("kv-max-app-bytes", env("PICLOUD_KV_MAX_APP_BYTES", strconv.FormatInt(c.KVMaxAppBytes, 10)), "KV quota of one app in bytes [PICLOUD_KV_MAX_APP_BYTES]")
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	var err error
	if c.AdminTLS, err = onOff("admin-tls", "PICLOUD_ADMIN_TLS", *adminTLS); err != nil {
		return c, nil, err
	}
	if c.MDNS, err = onOff("mdns", "PICLOUD_MDNS", *mdns); err != nil {
		return c, nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(*retention))
	if err != nil || n < 1 {
		return c, nil, fmt.Errorf("invalid log retention (--log-retention / PICLOUD_LOG_RETENTION) %q: want an integer >= 1", *retention)
	}
	c.LogRetention = n
	for _, kv := range []struct {
		flag, env, val string
		to             *int64
	}{
		{"kv-max-value", "PICLOUD_KV_MAX_VALUE", *kvMaxValue, &c.KVMaxValue},
		{"kv-max-app-bytes", "PICLOUD_KV_MAX_APP_BYTES", *kvMaxApp, &c.KVMaxAppBytes},
	} {
		n, err := strconv.ParseInt(strings.TrimSpace(kv.val), 10, 64)
		if err != nil || n < 1 {
			return c, nil, fmt.Errorf("invalid --%s / %s %q: want a number of bytes >= 1", kv.flag, kv.env, kv.val)
		}
		*kv.to = n
	}
	for _, b := range []struct{ flag, env, val string }{
		{"bind", "PICLOUD_BIND", c.Bind},
		{"admin-bind", "PICLOUD_ADMIN_BIND", c.AdminBind},
		{"cluster-bind", "PICLOUD_CLUSTER_BIND", c.ClusterBind},
	} {
		if _, port, err := net.SplitHostPort(b.val); err != nil || !validPort(port) {
			return c, nil, fmt.Errorf("invalid listen address (--%s / %s) %q: want host:port such as :8080", b.flag, b.env, b.val)
		}
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return c, nil, errors.New("invalid data directory (--data / PICLOUD_DATA): empty")
	}
	if strings.TrimSpace(c.Name) == "" {
		return c, nil, errors.New("invalid node name (--name / PICLOUD_NODE_NAME): empty")
	}
	c.AdminToken = getenv("PICLOUD_ADMIN_TOKEN")
	var warnings []string
	c.Ceiling, warnings = shared.CeilingFromEnv(getenv)
	return c, warnings, nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

func onOff(flagName, envName, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("invalid --%s / %s %q: want on or off", flagName, envName, v)
}

// NewFlagSet returns a flag set that reports errors instead of exiting.
func NewFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}
