// Package cluster is the replicated control plane of SPEC §12: a
// hashicorp/raft node whose log carries the node's writes (admin writes and
// KV batches, as opaque commands) and whose state machine is the member's
// own SQLite store.
//
// Contract (what the network side, join/membership and the node build on):
//
//   - New(Config) opens or creates the Raft state under Config.DataDir
//     (log store, stable store, snapshots). It starts no listener of its
//     own: Config.Transport carries Raft traffic (the pinned TLS stream
//     layer in production, raft.NewTCPTransport on 127.0.0.1 or
//     raft.NewInmemTransport in tests).
//   - Bootstrap makes a fresh node the single voter of a new cluster; it is
//     a no-op error (ErrAlreadyBootstrapped) on a node with Raft state.
//     AddVoter and RemoveServer change membership and must run on the
//     leader (they answer no_quorum otherwise or without a majority).
//   - Apply(ctx, cmd) replicates one command and returns the state
//     machine's answer for it once a majority has committed it and this
//     member has applied it. On a follower the command goes to the leader
//     through Config.Forwarder and the answer comes back the same way; the
//     leader side of that channel calls ServeForward. Without a leader or a
//     majority within Config.ApplyTimeout, Apply returns the contract
//     error 503 no_quorum. An error the state machine returns for a command
//     (a validation result such as route_conflict, decided inside its
//     transaction) comes back as the same *shared.Error on every member and
//     to the proposer.
//   - The state machine (Config.State) is called in log order on every
//     member; it must be deterministic: everything that varies (ids not
//     derived from log order, timestamps, tokens, ciphertext) is decided by
//     the proposer and is inside the command. Snapshot writes a consistent
//     copy of the replicated data; Restore replaces it.
//   - Leader, IsLeader, Members and OnLeadership observe the cluster;
//     OnLeadership callbacks run on one goroutine, in order, each time this
//     member gains or loses leadership (the scheduler's SetPassive).
//   - Shutdown stops Raft and closes the stores; the data stays on disk and
//     a later New with the same DataDir rejoins with state and membership.
package cluster
