package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/shared"
	"github.com/picloud/picloud/shared/discovery"
)

func TestPreviewURLsOnePerClaim(t *testing.T) {
	host := "api.example.com"
	domains := []shared.Domain{{Pattern: "example.com"}, {Pattern: "*.example.com"}, {Pattern: "::1"}}
	routes := []shared.Route{
		{Method: "GET", Path: "/users/:id"},
		{Method: "POST", Path: "/hook", Host: &host},
	}
	got := previewURLs(routes, domains, ":8080")
	want := []string{
		"GET http://example.com:8080/users/:id",
		"GET http://*.example.com:8080/users/:id",
		"GET http://[::1]:8080/users/:id",
		"POST http://api.example.com:8080/hook",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("previewURLs =\n%q\nwant\n%q", got, want)
	}
	if got := previewURLs(routes[:1], nil, ""); len(got) != 0 {
		t.Errorf("no claims: %q, want none", got)
	}
}

func TestBucketLogs(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	logs := []shared.Log{
		{StartedAt: now.Add(-time.Minute), Status: 200},
		{StartedAt: now.Add(-2 * time.Minute), Status: 500, Error: "boom"},
		{StartedAt: now.Add(-50 * time.Minute), Status: 507},
	}
	b := bucketLogs(logs, 12, now)
	total, errs := 0, 0
	for _, x := range b {
		total += x.Total
		errs += x.Errors
	}
	if len(b) != 12 || total != 3 || errs != 2 {
		t.Fatalf("buckets: %d, total %d, errors %d", len(b), total, errs)
	}
	if b[11].Total != 2 || b[11].Errors != 1 {
		t.Errorf("last bucket = %+v, want the two recent runs", b[11])
	}
	// An old log widens the span instead of being dropped.
	b = bucketLogs(append(logs, shared.Log{StartedAt: now.Add(-5 * time.Hour)}), 12, now)
	if !b[0].Start.Equal(now.Add(-6 * time.Hour)) {
		t.Errorf("span starts %v, want 6h back", b[0].Start)
	}
}

func TestSlugStatusText(t *testing.T) {
	for _, tc := range []struct {
		sc   shared.SlugCheck
		want string
	}{
		{shared.SlugCheck{Slug: "x", Status: shared.SlugAvailable}, "available"},
		{shared.SlugCheck{Slug: "x", Status: shared.SlugOwnHistory}, "old slug of this app"},
		{shared.SlugCheck{Slug: "x", Status: shared.SlugReserved, HeldBy: "blog"}, "app blog"},
		{shared.SlugCheck{Slug: "x", Status: shared.SlugTaken, HeldBy: "shop"}, "current slug of app shop"},
		{shared.SlugCheck{Slug: "X", Status: shared.SlugInvalid, Message: "upper case"}, "invalid: upper case"},
		{shared.SlugCheck{Slug: "x", Status: shared.SlugCurrent}, "current slug"},
	} {
		if got := slugStatusText(tc.sc, false); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q in it", tc.sc.Status, got, tc.want)
		}
	}
}

func TestMessage(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{}}
	refused.Err = syscall.ECONNREFUSED
	for _, tc := range []struct {
		err  error
		want string
	}{
		{shared.Errorf(shared.CodeUnauthorized, "bad token"), "refused the admin token"},
		{shared.Errorf(shared.CodeDomainClaimed, "api.example.com is claimed"), "api.example.com is claimed"},
		{fmt.Errorf("list apps: %w", refused), "offline"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "did not answer in time"},
		{fmt.Errorf("x: %w", &shared.IdentityMismatchError{Expected: "A", Got: "B"}), "identity changed"},
		{errors.New("plain"), "plain"},
	} {
		if got := Message(tc.err); !strings.Contains(got, tc.want) {
			t.Errorf("Message(%v) = %q, want %q in it", tc.err, got, tc.want)
		}
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 10000000: "10,000,000", 1048576: "1,048,576"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAnnouncementCannotDowngradeAPairedNode(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	reg, err := registry.Open(filepath.Join(t.TempDir(), "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Put(registry.Node{ID: "NODEA", Name: "pi", Token: "secret", Address: "127.0.0.2:7070", Scheme: "https"}); err != nil {
		t.Fatal(err)
	}
	c := New(a, test.NewWindow(nil), Options{Registry: reg, Probe: -1, Post: func(func()) {}})
	defer c.Close()

	// Someone on the LAN (loopback addresses here: tests dial nothing else) announces the paired id with plain-HTTP admin elsewhere.
	c.nodes.merge([]discovery.Node{{ID: "NODEA", Name: "pi", Admin: "http", Port: 7070,
		Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.66")}, Discovered: true}})
	e, _ := c.nodes.list.Get("NODEA")
	if e.Scheme != "https" || e.Address != "127.0.0.2:7070" {
		t.Errorf("paired node now at %s://%s, want https://127.0.0.2:7070", e.Scheme, e.Address)
	}
	// Over https (pinned) it may move.
	c.nodes.merge([]discovery.Node{{ID: "NODEA", Name: "pi", Admin: "https", Port: 7070,
		Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.3")}, Discovered: true}})
	if e.Address != "127.0.0.3:7070" {
		t.Errorf("paired https node did not follow its new address: %s", e.Address)
	}
	if n, _ := reg.Get("NODEA"); n.Address != "127.0.0.3:7070" {
		t.Errorf("registry address = %s", n.Address)
	}
}
