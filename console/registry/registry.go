// Package registry remembers the nodes a console has paired with: node id,
// name, admin token and the last address it was reached at. It is a small
// JSON file in the user's config directory, readable only by its owner
// because it holds admin tokens.
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/picloud/picloud/shared"
)

// Node is one paired node.
type Node struct {
	ID      string    `json:"id"`   // node id (SPEC §1), the key
	Name    string    `json:"name"` // as last reported by the node
	Token   string    `json:"token"`
	Address string    `json:"address"`          // last host:port the admin API answered on
	Scheme  string    `json:"scheme,omitempty"` // "https" (default) or "http"
	Paired  time.Time `json:"paired"`
}

// BaseURL is the node's admin base URL at its last address.
func (n Node) BaseURL() string {
	scheme := n.Scheme
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + n.Address
}

// DefaultPath is where the console keeps its registry:
// <user config dir>/picloud/nodes.json.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("registry: %w", err)
	}
	return filepath.Join(dir, "picloud", "nodes.json"), nil
}

// Registry is the set of paired nodes backed by one file. It is safe for
// concurrent use; every change is written through at once.
type Registry struct {
	path string

	mu    sync.Mutex
	nodes map[string]Node
}

type file struct {
	Nodes []Node `json:"nodes"`
}

// Open loads the registry at path. A missing file is an empty registry.
func Open(path string) (*Registry, error) {
	r := &Registry{path: path, nodes: make(map[string]Node)}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("registry %s: %w", path, err)
	}
	for _, n := range f.Nodes {
		if n.ID != "" {
			r.nodes[n.ID] = n
		}
	}
	return r, nil
}

// Path is the file the registry is stored in.
func (r *Registry) Path() string { return r.path }

// Nodes returns the paired nodes sorted by name, then id.
func (r *Registry) Nodes() []Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Node, 0, len(r.nodes))
	for _, n := range r.nodes {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Get returns the paired node with id.
func (r *Registry) Get(id string) (Node, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.nodes[id]
	return n, ok
}

// Put adds or replaces a node and saves the registry.
func (r *Registry) Put(n Node) error {
	if n.ID == "" {
		return errors.New("registry: node without id")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, had := r.nodes[n.ID]
	r.nodes[n.ID] = n
	if err := r.saveLocked(); err != nil {
		if had {
			r.nodes[n.ID] = old
		} else {
			delete(r.nodes, n.ID)
		}
		return err
	}
	return nil
}

// SetAddress records where a paired node was last reached (and its current
// name); unknown ids are ignored.
func (r *Registry) SetAddress(id, name, address string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.nodes[id]
	if !ok || (n.Address == address && (name == "" || n.Name == name)) {
		return nil
	}
	n.Address = address
	if name != "" {
		n.Name = name
	}
	r.nodes[id] = n
	return r.saveLocked()
}

// Remove forgets a node.
func (r *Registry) Remove(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.nodes[id]; !ok {
		return nil
	}
	delete(r.nodes, id)
	return r.saveLocked()
}

// saveLocked writes the file atomically (temp file + rename) with 0600, in a
// 0700 directory: the file holds admin tokens.
func (r *Registry) saveLocked() error {
	f := file{Nodes: make([]Node, 0, len(r.nodes))}
	for _, n := range r.nodes {
		f.Nodes = append(f.Nodes, n)
	}
	sort.Slice(f.Nodes, func(i, j int) bool { return f.Nodes[i].ID < f.Nodes[j].ID })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	dir := filepath.Dir(r.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := shared.WriteFileAtomic(r.path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}
