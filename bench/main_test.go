package bench

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the bare Go baseline process.
func TestMain(m *testing.M) {
	if addr := os.Getenv(BareAddrEnv); addr != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		if err := ServeBare(ctx, addr); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		return
	}
	code := m.Run()
	if nodeBuild.dir != "" {
		os.RemoveAll(nodeBuild.dir)
	}
	os.Exit(code)
}

// The baselines must do the same work as the node's hello world: same
// status, content type and body, each in its own process.
func TestBaselinesAnswerTheSameBytes(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("Node.js not installed")
	}
	ctx := context.Background()
	bare, err := StartBare(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Stop(5 * time.Second)
	js, err := StartNodeJS()
	if err != nil {
		t.Fatal(err)
	}
	defer js.Stop(5 * time.Second)
	for _, p := range []*Proc{bare, js} {
		if err := p.WaitReady(ctx, "http://"+p.Addr+"/", "localhost", 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := SameAnswers(ctx, []*Proc{bare, js}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Proc{bare, js} {
		res, err := Load{Addr: p.Addr, Host: "localhost", Concurrency: 4, Requests: 500, Expect: []byte(HelloBody)}.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK != 500 {
			t.Errorf("%s: %v (first error %q)", p.Name, res, res.FirstError)
		}
		m, err := p.Mem()
		if err != nil || m.Peak <= 0 {
			t.Errorf("%s: memory %+v, %v", p.Name, m, err)
		}
	}
	for _, p := range []*Proc{bare, js} {
		if err := p.Stop(5 * time.Second); err != nil {
			t.Errorf("%s did not stop cleanly on SIGTERM: %v", p.Name, err)
		}
	}
}
