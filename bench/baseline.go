package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/julienschmidt/httprouter"
)

// HelloBody is what the seeded hello-world script answers, and what both
// baselines answer byte for byte.
const HelloBody = "Hello, World!"

// HelloContentType is the content type a script's string return gets.
const HelloContentType = "text/plain; charset=utf-8"

// BareHandler is the baseline a Go programmer would write by hand: an
// httprouter with one route answering the hello-world bytes.
func BareHandler() http.Handler {
	r := httprouter.New()
	body := []byte(HelloBody)
	r.GET("/", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		w.Header().Set("Content-Type", HelloContentType)
		w.Write(body)
	})
	return r
}

// ServeBare runs the bare Go baseline on addr until ctx is done, with the
// same server timeouts a PiCloud node uses.
func ServeBare(ctx context.Context, addr string) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           BareHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// nodeJSServer is the plain Node.js baseline: the http module, one handler,
// the same bytes and content type.
const nodeJSServer = `
const http = require("http");
const body = Buffer.from(process.env.BODY);
const type = process.env.CONTENT_TYPE;
const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/") {
    res.writeHead(200, {"Content-Type": type, "Content-Length": body.length});
    res.end(body);
  } else {
    res.writeHead(404);
    res.end();
  }
});
server.keepAliveTimeout = 120000;
server.listen(Number(process.env.PORT), process.env.HOST);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`

// BareAddrEnv tells a binary started by StartBare to run ServeBare on the
// address it holds.
const BareAddrEnv = "PICLOUD_BENCH_BARE_ADDR"

// StartBare starts the bare Go baseline as its own process: argv is a
// command that runs ServeBare on the address in BareAddrEnv.
func StartBare(argv ...string) (*Proc, error) {
	addr, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), BareAddrEnv+"="+addr)
	return Start("bare Go", addr, cmd)
}

// StartNodeJS starts the Node.js baseline with the `node` on PATH.
func StartNodeJS() (*Proc, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node.js baseline: %w", err)
	}
	addr, err := FreePort()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(nodeBin, "-e", nodeJSServer)
	cmd.Env = append(os.Environ(), "HOST="+host, "PORT="+port, "BODY="+HelloBody, "CONTENT_TYPE="+HelloContentType)
	return Start("Node.js", addr, cmd)
}
