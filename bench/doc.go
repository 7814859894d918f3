// Package bench measures a PiCloud node side by side with what a user would
// run instead (a bare Go httprouter server and a plain Node.js http server),
// and puts it under sustained load and crashes.
//
// Everything here talks to loopback only and runs for a bounded time. The
// node is always a separate picloud-node process (built once per run), so
// its RSS is its own and kill -9 is a real crash.
package bench
