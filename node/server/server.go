package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/picloud/picloud/node/egress"
	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/httpjson"
	"github.com/picloud/picloud/node/kv"
	"github.com/picloud/picloud/node/manager"
	"github.com/picloud/picloud/node/orchestrator"
	"github.com/picloud/picloud/node/replicate"
	"github.com/picloud/picloud/node/scheduler"
	"github.com/picloud/picloud/node/secrets"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// HTTP timeouts. The write timeout must outlast the longest script the
// ceiling allows (timeout_ms up to 30 s by default) plus the time to send
// its answer. The data plane enforces them with a connWatch, the admin API
// with net/http's deadlines (see httpServer).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	writeSlack        = 10 * time.Second
	shutdownGrace     = 30 * time.Second
	watchTick         = 500 * time.Millisecond
)

// Node is a running PiCloud node.
type Node struct {
	cfg      Config
	log      *slog.Logger
	identity *Identity
	store    *store.Store
	orch     *orchestrator.Orchestrator
	sched    *scheduler.Scheduler
	// stopSched stops the scheduler and waits for its runs; set by Serve.
	stopSched  func()
	kv         *kv.Service
	stopKV     func()       // stops the KV writer, started by New
	clusterNet *clusterSide // cluster listener and membership (cluster.go)
	api        *manager.API
	repl       *replicated        // the write paths a cluster takes over (replicate.go)
	secrets    *secrets.Swappable // the key secrets are sealed under
	state      *replicate.State   // the store as the cluster's state machine
	// factsCtx ends at shutdown: it bounds the recording of cluster facts.
	factsCtx  context.Context
	stopFacts context.CancelFunc

	dataSrv, adminSrv *http.Server
	dataLn, adminLn   net.Listener
	watch             *connWatch                // the data plane's connection timeouts
	announce          func(ctx context.Context) // nil when mDNS is off
}

// New opens the data directory and the database, builds every component and
// binds both listeners, so that when New returns the node's addresses are
// known. Call Serve to answer requests.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (n *Node, err error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := secureDataDir(cfg.DataDir, logger); err != nil {
		return nil, err
	}
	id, err := LoadIdentity(cfg.DataDir, cfg.Name, cfg.AdminToken)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, dbFile), logger.With("component", "store"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	secretsKey, err := useSecrets(ctx, cfg.DataDir, st, logger.With("component", "secrets"))
	if err != nil {
		return nil, err
	}

	defaults := shared.DefaultLimits().Min(cfg.Ceiling)
	exec := executor.New(executor.Options{Logger: logger.With("component", "executor")})
	// Scripts' fetches never reach the node's own listeners unless an app
	// lists them by address and port (SPEC §10). They are bound below,
	// before anything runs.
	var self func() []netip.AddrPort
	fetcher := egress.New(egress.Config{Self: func() []netip.AddrPort { return self() }})
	repl := &replicated{Store: st}
	kvs, stopKV := startKV(repl, cfg, logger.With("component", "kv"))
	defer func() {
		if err != nil {
			stopKV()
		}
	}()
	orch := orchestrator.New(orchestrator.Config{
		Store:        st,
		Executor:     exec,
		Defaults:     defaults,
		Ceiling:      cfg.Ceiling,
		LogRetention: cfg.LogRetention,
		Egress:       fetcher,
		KV:           kvs,
		Logger:       logger.With("component", "orchestrator"),
	})
	if err := orch.Rebuild(ctx); err != nil {
		return nil, fmt.Errorf("build routing table: %w", err)
	}
	sched := scheduler.New(scheduler.Config{Store: repl, Executor: orch, Logger: logger.With("component", "scheduler")})
	ownLogs := func(ctx context.Context, appID, scriptID int64, limit int) ([]shared.Log, error) {
		if err := orch.FlushLogs(ctx); err != nil {
			return nil, err
		}
		return st.Logs(ctx, appID, scriptID, limit, 0)
	}
	cs, err := newClusterSide(cfg, id, st, secretsKey, ownLogs, logger.With("component", "cluster"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cs.close()
		}
	}()
	n = &Node{cfg: cfg, log: logger, identity: id, store: st, orch: orch, sched: sched,
		kv: kvs, stopKV: stopKV, clusterNet: cs, repl: repl, secrets: secretsKey,
		state: replicate.NewState(st, secretsKey, cfg.DataDir)}
	n.factsCtx, n.stopFacts = context.WithCancel(context.Background())

	adminAPI := manager.NewAPI(manager.Config{
		Store:     st,
		Compiler:  exec,
		Data:      orch,
		Schedules: sched,
		KV:        kvs,
		Tails:     orch,
		Members:   cs.membership,
		Cluster:   n,
		Token:     id.Tokens.Token,
		Defaults:  defaults,
		Ceiling:   cfg.Ceiling,
		Logger:    logger.With("component", "manager"),
	})
	n.api = adminAPI
	n.state.SetApplier(adminAPI)
	cs.startMember = n.startMember
	n.servers(orch, adminAPI)
	if err := n.listen(id.Cert); err != nil {
		return nil, err
	}
	// The Raft member is started by the Node (StartCluster, node/cluster's
	// side) once a form or join needs it, or now if the node was in a
	// cluster when it stopped.
	if err := cs.resume(); err != nil {
		n.dataLn.Close()
		n.adminLn.Close()
		return nil, err
	}
	self = n.listenerAddrs
	return n, nil
}

// servers makes the data plane's and the admin API's HTTP servers with
// their time limits.
func (n *Node) servers(data, admin http.Handler) {
	writeTimeout := time.Duration(n.cfg.Ceiling.TimeoutMS)*time.Millisecond + writeSlack
	n.watch = newConnWatch(connLimits{header: readHeaderTimeout, idle: idleTimeout, active: writeTimeout}, watchTick)
	n.dataSrv = n.httpServer(closeAfterTransferEncoding(n.withNodeEndpoints(data)))
	n.dataSrv.ConnState = n.watch.connState
	n.adminSrv = n.httpServer(closeAfterTransferEncoding(n.withNodeEndpoints(admin)))
	n.adminSrv.ReadHeaderTimeout = readHeaderTimeout
	n.adminSrv.ReadTimeout = readTimeout
	n.adminSrv.WriteTimeout = writeTimeout
	n.adminSrv.IdleTimeout = idleTimeout
	n.adminSrv.RegisterOnShutdown(n.orch.EndTails) // open tails would hold Shutdown for its whole grace
}

// listen binds both listeners, the admin one behind TLS with cert when the
// configuration asks for it.
func (n *Node) listen(cert tls.Certificate) error {
	var err error
	if n.dataLn, err = net.Listen("tcp", n.cfg.Bind); err != nil {
		return fmt.Errorf("data plane listener %s: %w", n.cfg.Bind, err)
	}
	if n.adminLn, err = net.Listen("tcp", n.cfg.AdminBind); err != nil {
		n.dataLn.Close()
		return fmt.Errorf("admin listener %s: %w", n.cfg.AdminBind, err)
	}
	if n.cfg.AdminTLS {
		n.adminLn = tls.NewListener(n.adminLn, &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		})
	}
	return nil
}

// startKV runs the KV service (its group-commit writer) until the
// returned stop, which waits for it to finish.
func startKV(st kv.Storage, cfg Config, logger *slog.Logger) (*kv.Service, func()) {
	kvs := kv.NewService(kv.ServiceConfig{Store: st, MaxValue: cfg.KVMaxValue, QuotaBytes: cfg.KVMaxAppBytes, Logger: logger})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); kvs.Run(ctx) }()
	return kvs, func() { cancel(); <-done }
}

// listenerAddrs are the addresses the node's listeners are bound to.
func (n *Node) listenerAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, ln := range []net.Listener{n.dataLn, n.adminLn} {
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
			out = append(out, ap)
		}
	}
	return out
}

// httpServer is a server for h without time limits: the caller sets them.
// The data plane's come from a connWatch, which the admin API cannot use:
// behind TLS, net/http's ConnState hook sees the TLS connection, not the
// watched one. The admin API's traffic is light, so its deadlines cost
// nothing that matters.
func (n *Node) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:        h,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
}

// SetAnnouncer installs the mDNS announcement, run for the life of Serve.
func (n *Node) SetAnnouncer(run func(ctx context.Context)) { n.announce = run }

// NodeID is the id derived from the node's TLS key.
func (n *Node) NodeID() string { return n.identity.NodeID }

// Token is the admin token in force.
func (n *Node) Token() string { return n.identity.Tokens.Token() }

// FirstStart reports whether this start created the node's identity.
func (n *Node) FirstStart() bool { return n.identity.Created }

// Config returns the node's settings.
func (n *Node) Config() Config { return n.cfg }

// Store gives tests and tools read access to the node's database.
func (n *Node) Store() *store.Store { return n.store }

// DataAddr and AdminAddr are the bound listener addresses.
// OpenTails is how many live tails the node holds open: a tail whose
// client went away is released.
func (n *Node) OpenTails() int { return n.orch.OpenTails() }

func (n *Node) DataAddr() net.Addr  { return n.dataLn.Addr() }
func (n *Node) AdminAddr() net.Addr { return n.adminLn.Addr() }

// AdminURL is the base URL of the admin API, using "localhost" for a
// wildcard bind so that it can be pasted into a browser or the console.
func (n *Node) AdminURL() string {
	scheme := "http"
	if n.cfg.AdminTLS {
		scheme = "https"
	}
	return scheme + "://" + displayHostPort(n.AdminAddr())
}

// DataURL is the base URL of the data plane.
func (n *Node) DataURL() string { return "http://" + displayHostPort(n.DataAddr()) }

func displayHostPort(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// Version is what /version reports.
func (n *Node) Version() shared.Version {
	return shared.Version{
		Product: shared.Product,
		Version: n.cfg.Version,
		Commit:  n.cfg.Commit,
		Schema:  n.store.SchemaVersion(),
		NodeID:  n.identity.NodeID,
		Name:    n.cfg.Name,

		DataPort: n.DataAddr().(*net.TCPAddr).Port,
	}
}

// withNodeEndpoints answers /healthz and /version on a listener, without
// auth, and hands everything else to h.
func (n *Node) withNodeEndpoints(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case shared.PathHealth:
			_ = httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
		case shared.PathVersion:
			_ = httpjson.Write(w, http.StatusOK, n.Version())
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// Serve answers on both listeners until ctx is done, then shuts down
// gracefully: listeners close, in-flight requests finish (up to a grace
// period), pending execution logs are written and the database is closed.
func (n *Node) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	serve := func(srv *http.Server, ln net.Listener, what string) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("%s listener: %w", what, err)
		}
	}
	// The watch runs until the node has shut down, so that connections
	// that stall during the shutdown are closed too.
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go n.watch.run(watchCtx)
	go returnMemory(watchCtx, quietTick)
	go serve(n.dataSrv, n.watch.listen(n.dataLn), "data plane")
	go serve(n.adminSrv, n.adminLn, "admin")
	schedCtx, stopSched := context.WithCancel(context.Background())
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); n.sched.Run(schedCtx) }()
	n.stopSched = func() { stopSched(); <-schedDone }

	annCtx, stopAnnounce := context.WithCancel(context.Background())
	var annDone sync.WaitGroup
	if n.announce != nil {
		annDone.Add(1)
		go func() { defer annDone.Done(); n.announce(annCtx) }()
	}
	n.log.Info("node serving", "name", n.cfg.Name, "node_id", n.identity.NodeID,
		"data", n.DataURL(), "admin", n.AdminURL())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopAnnounce()
	annDone.Wait()
	return errors.Join(serveErr, n.shutdown())
}

func (n *Node) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, srv := range []*http.Server{n.dataSrv, n.adminSrv} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = srv.Shutdown(ctx) }()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if n.stopSched != nil { // before the log writer closes: the runs it stops are logged
		n.stopSched()
	}
	n.stopKV() // every run has ended: no write is waiting
	n.stopFacts()
	if e := n.clusterNet.close(); e != nil {
		err = errors.Join(err, fmt.Errorf("stop cluster member: %w", e))
	}
	if e := n.orch.Close(ctx); e != nil {
		err = errors.Join(err, fmt.Errorf("flush execution logs: %w", e))
	}
	if e := n.store.Close(); e != nil {
		err = errors.Join(err, fmt.Errorf("close database: %w", e))
	}
	n.log.Info("node stopped")
	return err
}

// Close releases a node that was created but never served.
func (n *Node) Close() error {
	n.dataLn.Close()
	n.adminLn.Close()
	return n.shutdown()
}
