package clustertest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/picloud/picloud/shared"
)

// kvInput is one client call: a put of value, or a get.
type kvInput struct {
	put   bool
	key   string
	value string
}

// kvOutput is a get's answer ("" with found false for a missing key).
type kvOutput struct {
	value string
	found bool
}

// registerModel is a KV store partitioned by key: each key a register
// that starts absent.
var registerModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Input.(kvInput).key
			by[k] = append(by[k], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range by {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return kvOutput{} },
	Step: func(state, input, output any) (bool, any) {
		in, st := input.(kvInput), state.(kvOutput)
		if in.put {
			return true, kvOutput{value: in.value, found: true}
		}
		return output.(kvOutput) == st, st
	},
	DescribeOperation: func(input, output any) string {
		in := input.(kvInput)
		if in.put {
			return fmt.Sprintf("put(%s, %s)", in.key, in.value)
		}
		o := output.(kvOutput)
		return fmt.Sprintf("get(%s) -> %q %v", in.key, o.value, o.found)
	},
}

// history collects the operations of every client.
type history struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

func (h *history) now() int64 { return time.Since(h.start).Nanoseconds() }

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op)
}

// client runs puts and gets against one member until stop: an answered
// call is recorded as it happened; a put without an answer may have
// happened at any time after its call, so it is recorded with no return;
// a get without an answer changed nothing and is left out.
func client(h *history, id int, nd *node, stop <-chan struct{}) {
	r := rand.New(rand.NewPCG(uint64(id), 7))
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		in := kvInput{key: fmt.Sprintf("k%d", r.IntN(2))}
		if r.IntN(2) == 0 {
			in.put, in.value = true, fmt.Sprintf("c%d-%d", id, seq)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		call := h.now()
		if in.put {
			err := nd.c.KVPut(ctx, "shop", in.key, []byte(in.value), shared.KVPutOptions{})
			ret := h.now()
			if err != nil {
				ret = math.MaxInt64
			}
			h.add(porcupine.Operation{ClientId: id, Input: in, Call: call, Output: kvOutput{}, Return: ret})
		} else {
			v, err := nd.c.KVGet(ctx, "shop", in.key)
			ret := h.now()
			switch {
			case err == nil:
				h.add(porcupine.Operation{ClientId: id, Input: in, Call: call, Output: kvOutput{value: string(v.Value), found: true}, Return: ret})
			case shared.IsCode(err, shared.CodeNotFound):
				h.add(porcupine.Operation{ClientId: id, Input: in, Call: call, Output: kvOutput{}, Return: ret})
			}
		}
		cancel()
		select {
		case <-nd.done:
			time.Sleep(200 * time.Millisecond) // a dead member: do not spin
		default:
		}
	}
}

// clients runs one client per member until the returned stop, which
// checks the history with porcupine: it must be linearizable.
func clients(t *testing.T, nodes []*node) (stop func()) {
	h := &history{start: time.Now()}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, nd := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); client(h, i, nd, done) }()
	}
	return func() {
		t.Helper()
		close(done)
		wg.Wait()
		checkLinearizable(t, h)
	}
}

func checkLinearizable(t *testing.T, h *history) {
	t.Helper()
	answered := 0
	for _, op := range h.ops {
		if op.Return != math.MaxInt64 {
			answered++
		}
	}
	t.Logf("KV history: %d operations, %d answered", len(h.ops), answered)
	if answered < 20 {
		t.Fatalf("only %d answered operations: too few to say anything", answered)
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, h.ops, time.Minute)
	if res != porcupine.Ok {
		file := t.TempDir() + "/history.html"
		if err := porcupine.VisualizePath(registerModel, info, file); err == nil {
			t.Logf("visualization: %s", file)
		}
		t.Fatalf("the KV history is not linearizable (%v)", res)
	}
}

// The model tells a stale read from a fresh one, so the check above can
// fail: after put(x, b) returned, a get that still sees a is refused.
func TestRegisterModelRefusesStaleRead(t *testing.T) {
	op := func(client int, in kvInput, out kvOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
	}
	base := []porcupine.Operation{
		op(0, kvInput{put: true, key: "x", value: "a"}, kvOutput{}, 0, 10),
		op(0, kvInput{put: true, key: "x", value: "b"}, kvOutput{}, 20, 30),
	}
	for _, tc := range []struct {
		name string
		get  kvOutput
		want porcupine.CheckResult
	}{
		{"fresh", kvOutput{value: "b", found: true}, porcupine.Ok},
		{"stale", kvOutput{value: "a", found: true}, porcupine.Illegal},
		{"missing", kvOutput{}, porcupine.Illegal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := append(append([]porcupine.Operation(nil), base...), op(1, kvInput{key: "x"}, tc.get, 40, 50))
			if got := porcupine.CheckOperationsTimeout(registerModel, h, 10*time.Second); got != tc.want {
				t.Fatalf("check = %v, want %v", got, tc.want)
			}
		})
	}
}
