package clusternet

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The join channel takes offers from any node with a certificate, and the
// frame reader reads whatever a peer sends: neither may panic, and no
// offer without the live token is ever accepted.
func FuzzJoinOffer(f *testing.F) {
	good, _ := json.Marshal(JoinOffer{JoinToken: "t", Address: "10.0.0.2:7071", SecretsKey: make([]byte, 32),
		Members: []PeerMember{{NodeID: "A", Address: "10.0.0.1:7071"}}})
	f.Add(good)
	f.Add([]byte(`{"join_token":null,"members":[{}]}`))
	f.Add([]byte("\x00\x00\x00\x05hello"))
	n, err := New(Config{Bind: "127.0.0.1:0", Cert: newCert(f)})
	if err != nil {
		f.Fatal(err)
	}
	defer n.Close()
	tokens := NewJoinTokens(nil)
	live, _, err := tokens.New()
	if err != nil {
		f.Fatal(err)
	}
	j := &joiner{}
	n.HandleJoin(tokens, j)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = readFrame(bytes.NewReader(b))
		var o JoinOffer
		tokenIsLive := json.Unmarshal(b, &o) == nil && o.JoinToken == live
		ans := n.answerJoin("PEER", b)
		if ans.Code == "" && !tokenIsLive {
			t.Fatalf("an offer without the live token was accepted: %q", b)
		}
		if ans.Code == "" { // spent: make a new one for the next input
			live, _, _ = tokens.New()
		}
	})
}
