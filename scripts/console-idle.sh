#!/usr/bin/env bash
# Measures the console's idle CPU: a throwaway node on loopback (mDNS off,
# plain-HTTP admin), the real console under xvfb-run with that node paired
# and open, then utime+stime from /proc over SECONDS (default 60) of idle.
#
#   scripts/console-idle.sh [SECONDS]
#
# Needs what scripts/screenshots.sh needs. Prints % of one core and the
# load average (the machine's load inflates the figure).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
admin_port=${PICLOUD_IDLE_ADMIN_PORT:-17371}
data_port=${PICLOUD_IDLE_DATA_PORT:-18381}
work=$(mktemp -d)
node_pid= xvfb_pid= pid=
cleanup() {
	# xvfb-run stops its Xvfb when the console exits; killing xvfb-run
	# itself would leave the Xvfb behind.
	[[ -n $pid ]] && { kill "$pid" 2>/dev/null || true; }
	[[ -n $xvfb_pid ]] && { wait "$xvfb_pid" 2>/dev/null || true; }
	[[ -n $node_pid ]] && { kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; }
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/picloud-node" ./cmd/node
go build -o "$work/picloud-console" ./cmd/console
PICLOUD_DATA="$work/data" PICLOUD_BIND="127.0.0.1:$data_port" PICLOUD_ADMIN_BIND="127.0.0.1:$admin_port" \
PICLOUD_ADMIN_TLS=off PICLOUD_MDNS=off PICLOUD_ADMIN_TOKEN=idle-token PICLOUD_NODE_NAME=pi-idle \
	"$work/picloud-node" 2>"$work/node.log" &
node_pid=$!
admin="http://127.0.0.1:$admin_port"
for _ in $(seq 100); do curl -fsS "$admin/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
id=$(curl -fsS "$admin/version" | grep -o '"node_id":"[^"]*"' | cut -d'"' -f4)
curl -fsS -X POST -H "Authorization: Bearer idle-token" -H 'Content-Type: application/json' \
	--data '{"name":"Demo","slug":"demo"}' "$admin/api/v1/admin/apps" >/dev/null
cat >"$work/nodes.json" <<JSON
{"nodes":[{"id":"$id","name":"pi-idle","token":"idle-token","address":"127.0.0.1:$admin_port","scheme":"http","paired":"2026-01-01T00:00:00Z"}]}
JSON
GALLIUM_DRIVER=softpipe xvfb-run -a -s "-screen 0 1400x900x24" \
	"$work/picloud-console" --mdns off --registry "$work/nodes.json" --open "$id" 2>"$work/console.log" &
xvfb_pid=$!
for _ in $(seq 100); do pid=$(pgrep -f "^$work/picloud-console" | head -1 || true); [[ -n $pid ]] && break; sleep 0.1; done
[[ -n $pid ]] || { cat "$work/console.log" >&2; echo "console did not start" >&2; exit 1; }
sleep 10 # started, paired node opened, first probe done
ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
t0=$(ticks) s0=$(date +%s.%N)
sleep "$secs"
t1=$(ticks) s1=$(date +%s.%N)
awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v s0="$s0" -v s1="$s1" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" \
	'BEGIN { printf "console idle: %.2f%% of a core over %.0f s (%d ticks); load %s\n", 100*t/hz/(s1-s0), s1-s0, t, load }'
