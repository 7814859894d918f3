package clusternet

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
)

// JoinTokenTTL is how long a join token stays valid (SPEC §12).
const JoinTokenTTL = 10 * time.Minute

// JoinTokens holds the joining node's one-time join tokens. They live in
// memory only: a restart voids them, and a new one is a click away.
type JoinTokens struct {
	now    func() time.Time
	mu     sync.Mutex
	tokens map[string]time.Time // token → expiry
	joinMu sync.Mutex           // serialises joins (join.go)
}

// NewJoinTokens returns an empty token set; now is the clock (nil: time.Now).
func NewJoinTokens(now func() time.Time) *JoinTokens {
	if now == nil {
		now = time.Now
	}
	return &JoinTokens{now: now, tokens: map[string]time.Time{}}
}

// New makes a token valid for JoinTokenTTL and returns it with its expiry.
func (t *JoinTokens) New() (string, time.Time, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", time.Time{}, fmt.Errorf("join token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	exp := t.now().Add(JoinTokenTTL).UTC().Truncate(time.Second)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.prune()
	t.tokens[tok] = exp
	return tok, exp, nil
}

// Valid reports whether tok is a live token, without spending it.
func (t *JoinTokens) Valid(tok string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.find(tok)
	return ok
}

// Spend uses tok up; it reports false if it was not a live token.
func (t *JoinTokens) Spend(tok string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.find(tok)
	if ok {
		delete(t.tokens, k)
	}
	return ok
}

// find compares in constant time so a wrong guess learns nothing from timing.
func (t *JoinTokens) find(tok string) (string, bool) {
	t.prune()
	for k := range t.tokens {
		if subtle.ConstantTimeCompare([]byte(k), []byte(tok)) == 1 {
			return k, true
		}
	}
	return "", false
}

func (t *JoinTokens) prune() {
	now := t.now()
	for k, exp := range t.tokens {
		if !now.Before(exp) {
			delete(t.tokens, k)
		}
	}
}
