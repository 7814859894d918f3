package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

// freeAddr is a loopback address nobody listens on, for a node's cluster
// listener a test must know before it binds.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The join's consent rules on real nodes over HTTP (SPEC §12): a join
// token is single use and lives ten minutes; a member refuses a wrong
// token, a node holding data, an address that answers for another node,
// and a malformed request, and forms nothing while refusing.
func TestClusterJoinRefusals(t *testing.T) {
	joinAddr := freeAddr(t)
	member := start(t)
	joiner := wrap(t, nodetest.Start(t, func(c *server.Config) { c.ClusterBind = joinAddr }))

	r := joiner.adminJSON("POST", shared.PathClusterJoinToken, "")
	if r.Status != 200 {
		t.Fatalf("join-token: %d %s", r.Status, r)
	}
	body := r.json(t)
	tok, _ := body["join_token"].(string)
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(body["expires_at"]))
	if tok == "" || err != nil || time.Until(exp) < 9*time.Minute || time.Until(exp) > 10*time.Minute {
		t.Fatalf("join-token answer %s: want a token expiring in 10 minutes", r)
	}
	add := func(nodeID, addr, token string) reply {
		return member.adminJSON("POST", shared.PathClusterMembers,
			fmt.Sprintf(`{"node_id":%q,"address":%q,"join_token":%q}`, nodeID, addr, token))
	}
	id := joiner.n.NodeID()
	for _, tc := range []struct {
		name, nodeID, addr, token string
		status                    int
		code                      string
	}{
		{"wrong token", id, joinAddr, "not-the-token", 403, shared.CodeInvalidJoinToken},
		{"address answers for another node", "AAAAAAAAAAAAAAAAAAAAAAAAAA", joinAddr, tok, 502, shared.CodeJoinFailed},
		{"nobody at the address", id, freeAddr(t), tok, 502, shared.CodeJoinFailed},
		{"no address", id, "", tok, 422, shared.CodeValidationFailed},
		{"no token", id, joinAddr, "", 422, shared.CodeValidationFailed},
		{"itself", member.n.NodeID(), joinAddr, tok, 422, shared.CodeValidationFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			add(tc.nodeID, tc.addr, tc.token).apiError(t, tc.status, tc.code)
		})
	}
	// Every refusal above formed nothing: the member is still alone.
	st := member.adminJSON("GET", shared.PathCluster, "")
	if st.Status != 200 || !strings.Contains(st.String(), `"id":null`) || !strings.Contains(st.String(), `"leader":null`) {
		t.Fatalf("GET /cluster on a node alone: %d %s; want id and leader null", st.Status, st)
	}
	if cl, err := member.c.Cluster(member.ctx); err != nil || len(cl.Members) != 1 || cl.Members[0].NodeID != member.n.NodeID() {
		t.Fatalf("a node alone lists %+v, %v; want itself only", cl, err)
	}
	joiner.createApp("Blog", "blog")
	add(id, joinAddr, tok).apiError(t, 409, shared.CodeNodeNotEmpty)
	member.adminJSON("DELETE", shared.Path(shared.PathClusterMember, id), "").apiError(t, 404, shared.CodeNotFound)

	if _, err := member.c.AddMember(member.ctx, shared.AddMemberRequest{NodeID: id, Address: joinAddr, JoinToken: "x"}); !shared.IsCode(err, shared.CodeInvalidJoinToken) {
		t.Fatalf("typed client AddMember with a wrong token: %v", err)
	}
	if jt, err := joiner.c.NewJoinToken(joiner.ctx); err != nil || jt.JoinToken == "" || jt.JoinToken == tok {
		t.Fatalf("typed client NewJoinToken: %+v, %v; want a fresh token", jt, err)
	}
}

// A node in no cluster answers a cluster page with its own logs, each
// naming it; the page cannot be walked with before (ids are per node).
func TestClusterLogsAlone(t *testing.T) {
	e := start(t)
	e.createApp("Logged", "")
	e.claim("logged", "logs.example.com")
	s := e.script("logged", "talk", `function handle(req) { return "ok"; }`, nil)
	e.route("logged", s.ID, "GET", "/talk", "")
	for range 3 {
		e.get("logs.example.com", "/talk")
	}
	own := nodetest.WaitLogs(t, e.c, "logged", 0, 3)
	logs, unreachable, err := e.c.ClusterLogs(e.ctx, "logged", 0, 2)
	if err != nil || len(logs) != 2 || len(unreachable) != 0 {
		t.Fatalf("cluster page: %d logs, unreachable %v, %v; want 2, none", len(logs), unreachable, err)
	}
	for i, l := range logs {
		if l.NodeID != e.n.NodeID() || l.ID != own[i].ID {
			t.Errorf("log %d: node %q id %d; want node %s id %d", i, l.NodeID, l.ID, e.n.NodeID(), own[i].ID)
		}
	}
	if own[0].NodeID != "" {
		t.Errorf("a node's own page names node %q; want no node_id", own[0].NodeID)
	}
	e.adminJSON("GET", shared.Path(shared.PathLogs, "logged")+"?cluster=true&before=5", "").apiError(t, 422, shared.CodeValidationFailed)
}
