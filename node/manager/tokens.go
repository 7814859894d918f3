package manager

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// maxConfirmTokens bounds the tokens held at once; expired ones go first,
// then the oldest. Only an authenticated admin can mint them, so this only
// guards against a runaway client.
const maxConfirmTokens = 10_000

// confirmTokens are the single-use tokens of a slug takeover (SPEC §3): a
// slug:check answering "reserved" mints one bound to the app and the slug,
// and the create or rename that takes the slug spends it. They live in
// memory only: a restart simply means checking again.
type confirmTokens struct {
	mu     sync.Mutex
	now    func() time.Time
	ttl    time.Duration
	tokens map[string]confirm
}

type confirm struct {
	appID   int64 // 0: an app not created yet
	slug    string
	expires time.Time
}

func newConfirmTokens(now func() time.Time, ttl time.Duration) *confirmTokens {
	return &confirmTokens{now: now, ttl: ttl, tokens: make(map[string]confirm)}
}

// issue mints a token for taking slug into app appID.
func (c *confirmTokens) issue(appID int64, slug string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	tok := base64.RawURLEncoding.EncodeToString(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.tokens) >= maxConfirmTokens {
		c.pruneLocked(now)
	}
	c.tokens[tok] = confirm{appID: appID, slug: slug, expires: now.Add(c.ttl)}
	return tok
}

// take spends tok if it is valid for appID and slug; a wrong app or slug
// leaves it unspent. It returns a function that gives the token back, for
// when the write it was spent on fails.
func (c *confirmTokens) take(tok string, appID int64, slug string) (ok bool, giveBack func()) {
	if tok == "" {
		return false, func() {}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, found := c.tokens[tok]
	if !found || t.appID != appID || t.slug != slug {
		return false, func() {}
	}
	delete(c.tokens, tok)
	if !c.now().Before(t.expires) {
		return false, func() {}
	}
	return true, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.tokens[tok] = t
	}
}

// pruneLocked drops expired tokens and, if still full, the oldest.
func (c *confirmTokens) pruneLocked(now time.Time) {
	var oldest string
	for k, t := range c.tokens {
		if !now.Before(t.expires) {
			delete(c.tokens, k)
		} else if oldest == "" || t.expires.Before(c.tokens[oldest].expires) {
			oldest = k
		}
	}
	if len(c.tokens) >= maxConfirmTokens && oldest != "" {
		delete(c.tokens, oldest)
	}
}
