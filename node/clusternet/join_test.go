package clusternet

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// joiner records what a join handed over.
type joiner struct {
	mu       sync.Mutex
	notEmpty bool
	offers   []JoinOffer
	from     []string
}

func (j *joiner) Check(context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.notEmpty {
		return ErrNodeNotEmpty
	}
	return nil
}

func (j *joiner) Accept(_ context.Context, from string, o JoinOffer) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.offers, j.from = append(j.offers, o), append(j.from, from)
	return nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func offer(t *testing.T, from, to *Net, o JoinOffer) error {
	t.Helper()
	s, err := from.DialJoin(context.Background(), to.NodeID(), to.ListenAddr().String())
	if err != nil {
		t.Fatalf("dial join: %v", err)
	}
	defer s.Close()
	if s.LocalHost() != "127.0.0.1" {
		t.Errorf("local host on the join connection = %q, want 127.0.0.1", s.LocalHost())
	}
	return s.Offer(context.Background(), o)
}

func code(err error) string {
	var je *JoinError
	if errors.As(err, &je) {
		return je.Code
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestJoinConsent(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)}
	tokens := NewJoinTokens(clk.now)
	j := &joiner{}
	target, member := newNet(t, nil), newNet(t, nil)
	target.HandleJoin(tokens, j)
	key := []byte("0123456789abcdef0123456789abcdef")
	good, exp, err := tokens.New()
	if err != nil || !exp.Equal(clk.now().Add(10*time.Minute)) {
		t.Fatalf("token expiry %v, %v", exp, err)
	}
	stale, _, _ := tokens.New()
	clk.add(9 * time.Minute)
	late, _, _ := tokens.New()
	clk.add(time.Minute) // stale and good now expired, late not

	base := JoinOffer{ClusterID: "C1", Address: "10.0.0.9:7071", SecretsKey: key,
		Members: []PeerMember{{NodeID: member.NodeID(), Address: member.Advertise()}}}
	for _, tc := range []struct {
		name, token, want string
		notEmpty          bool
	}{
		{"wrong token", "nope", CodeInvalidJoinToken, false},
		{"expired token", stale, CodeInvalidJoinToken, false},
		{"expired at exactly ten minutes", good, CodeInvalidJoinToken, false},
		{"node not empty keeps the token", late, CodeNodeNotEmpty, true},
		{"accepted", late, "", false},
		{"used token", late, CodeInvalidJoinToken, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j.mu.Lock()
			j.notEmpty = tc.notEmpty
			j.mu.Unlock()
			o := base
			o.JoinToken = tc.token
			if got := code(offer(t, member, target, o)); got != tc.want {
				t.Fatalf("join answered %q, want %q", got, tc.want)
			}
		})
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.offers) != 1 || string(j.offers[0].SecretsKey) != string(key) || j.from[0] != member.NodeID() {
		t.Fatalf("accepted offers %+v from %v; want one with the key from the member", j.offers, j.from)
	}
	if target.Advertise() != "10.0.0.9:7071" {
		t.Errorf("joined node advertises %q, want the address it was added with", target.Advertise())
	}
	if !target.allowed(member.NodeID()) {
		t.Error("the members named in the offer may not reach the joined node")
	}
}

// A node that takes no joins says so instead of hanging.
func TestJoinWithoutHandler(t *testing.T) {
	target, member := newNet(t, nil), newNet(t, nil)
	if got := code(offer(t, member, target, JoinOffer{JoinToken: "x"})); got != CodeJoinFailed {
		t.Fatalf("join answered %q, want %q", got, CodeJoinFailed)
	}
}
