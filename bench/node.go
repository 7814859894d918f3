package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/picloud/picloud/shared"
)

// NodePackage is the import path of the node command.
const NodePackage = "github.com/picloud/picloud/cmd/node"

// BuildNode builds picloud-node into dir, static (CGO_ENABLED=0) and
// without symbol tables, as shipped. No -trimpath: it would miss the build
// cache that go vet and go test have filled and recompile every dependency.
func BuildNode(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "picloud-node")
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-s -w", "-o", bin, NodePackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build picloud-node: %w\n%s", err, out)
	}
	return bin, nil
}

// BenchToken is the fixed admin token of every node started here.
const BenchToken = "bench-token-0123456789abcdefghijklmnopqrstuv"

// Node is a picloud-node process on loopback with plain-HTTP admin and mDNS
// off.
type Node struct {
	*Proc
	Bin, DataDir string
	AdminAddr    string
	Admin        *Admin
}

// StartNode starts bin on dataDir with fresh loopback ports and waits until
// both listeners answer. extraEnv adds or overrides settings. A node that
// exits before it is ready (e.g. another process took a port between
// FreePort and its bind) is started again on new ports, twice at most.
func StartNode(ctx context.Context, bin, dataDir string, extraEnv ...string) (*Node, error) {
	var err error
	for range 3 {
		var n *Node
		if n, err = startNode(ctx, bin, dataDir, extraEnv); err == nil || !errors.Is(err, errExitedEarly) {
			return n, err
		}
	}
	return nil, err
}

func startNode(ctx context.Context, bin, dataDir string, extraEnv []string) (*Node, error) {
	data, err := FreePort()
	if err != nil {
		return nil, err
	}
	admin, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PICLOUD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"PICLOUD_DATA="+dataDir,
		"PICLOUD_BIND="+data,
		"PICLOUD_ADMIN_BIND="+admin,
		"PICLOUD_ADMIN_TLS=off",
		"PICLOUD_MDNS=off",
		"PICLOUD_ADMIN_TOKEN="+BenchToken,
		"PICLOUD_NODE_NAME=bench",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	p, err := Start("PiCloud", data, cmd)
	if err != nil {
		return nil, err
	}
	n := &Node{Proc: p, Bin: bin, DataDir: dataDir, AdminAddr: admin, Admin: NewAdmin("http://"+admin, BenchToken)}
	for _, u := range []string{"http://" + data + "/healthz", "http://" + admin + "/healthz"} {
		if err := p.WaitReady(ctx, u, "", 60*time.Second); err != nil {
			p.Kill()
			return nil, err
		}
	}
	return n, nil
}

// Restart starts the same binary on the same data directory again.
func (n *Node) Restart(ctx context.Context, extraEnv ...string) (*Node, error) {
	return StartNode(ctx, n.Bin, n.DataDir, extraEnv...)
}

// DBPath is the node's SQLite file.
func (n *Node) DBPath() string { return filepath.Join(n.DataDir, "picloud.db") }

// Admin is a minimal admin API client: raw JSON over HTTP, so that it
// depends on nothing but the wire contract.
type Admin struct {
	URL   string
	Token string
	HTTP  *http.Client
}

// NewAdmin returns a client for the admin API at base.
func NewAdmin(base, token string) *Admin {
	return &Admin{URL: base, Token: token, HTTP: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Do sends in (JSON, unless nil) and decodes a 2xx answer into out (unless
// nil). A non-2xx answer is returned as *shared.Error with Status set; a
// transport failure as a plain error.
func (a *Admin) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var env struct {
			Error *shared.Error `json:"error"`
		}
		if json.Unmarshal(b, &env) != nil || env.Error == nil {
			env.Error = &shared.Error{Code: "unexpected", Message: strings.TrimSpace(string(b))}
		}
		env.Error.Status = resp.StatusCode
		return env.Error
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode %q: %w", method, path, b, err)
		}
	}
	return nil
}

// Get fetches url from the data plane with Host set, returning the status
// and body.
func Get(ctx context.Context, c *http.Client, url, host string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Host = host
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
