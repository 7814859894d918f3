#!/usr/bin/env bash
# Starts a throwaway node on loopback (mDNS off, plain-HTTP admin, temp data
# dir), seeds a demo app, then runs the real console under xvfb-run in its
# screenshot mode: it adds and pairs the node, opens each main screen and
# writes one PNG per screen into OUT (default ./screenshots).
#
#   scripts/screenshots.sh [OUT]
#
# Needs: go, curl, xvfb-run, and the X11/GL dev packages the console's cgo
# build needs (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(realpath -m "${1:-screenshots}")
token=screenshot-token
work=$(mktemp -d)
node_pid=
cleanup() {
	if [[ -n $node_pid ]]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "building picloud-node and picloud-console…" >&2
go build -o "$work/picloud-node" ./cmd/node
go build -o "$work/picloud-console" ./cmd/console

# Port 0: the kernel picks free ports, so a second run or a busy port
# never collides; the node logs the addresses it got.
PICLOUD_DATA="$work/data" PICLOUD_BIND="127.0.0.1:0" PICLOUD_ADMIN_BIND="127.0.0.1:0" \
PICLOUD_ADMIN_TLS=off PICLOUD_MDNS=off PICLOUD_ADMIN_TOKEN="$token" PICLOUD_NODE_NAME=pi-demo \
	"$work/picloud-node" 2>"$work/node.log" &
node_pid=$!

serving=
for _ in $(seq 300); do
	serving=$(grep -m1 'msg="node serving"' "$work/node.log" || true)
	[[ -n $serving ]] && break
	kill -0 "$node_pid" 2>/dev/null || break
	sleep 0.1
done
admin=$(sed -n 's/.* admin=\(http:[^ ]*\).*/\1/p' <<<"$serving")
data=$(sed -n 's/.* data=\(http:[^ ]*\).*/\1/p' <<<"$serving")
[[ -n $admin && -n $data ]] && curl -fsS "$admin/healthz" >/dev/null ||
	{ cat "$work/node.log" >&2; echo "node did not start" >&2; exit 1; }

# api METHOD PATH [JSON]: an admin call; prints the response body.
api() {
	curl -fsS -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
		${3:+--data-binary "$3"} "$admin$2"
}
id_of() { grep -o '"id":[0-9]*' | head -1 | cut -d: -f2; }

echo "seeding the demo app…" >&2
api POST /api/v1/admin/apps '{"name":"Demo site","slug":"demo-old","description":"Everything the screenshots show."}' >/dev/null
api PATCH /api/v1/admin/apps/demo-old '{"slug":"demo"}' >/dev/null # leaves a redirect in the history
api POST /api/v1/admin/apps '{"name":"Blog","slug":"blog-2019"}' >/dev/null
api PATCH /api/v1/admin/apps/blog-2019 '{"slug":"blog"}' >/dev/null # blog-2019 is now reserved by blog
api POST /api/v1/admin/apps/demo/domains '{"pattern":"demo.localhost"}' >/dev/null
api POST /api/v1/admin/apps/demo/domains '{"pattern":"*.demo.example.com"}' >/dev/null
hello=$(api POST /api/v1/admin/scripts "$(cat <<'JSON'
{"app_id":"demo","name":"hello","source":"// Greets whoever asks.\nfunction handle(req) {\n  const name = req.params.name || req.query.name || \"world\";\n  console.log(\"greeting\", name);\n  return { status: 200, headers: { \"content-type\": \"text/plain\" }, body: \"Hello, \" + name + \"!\" };\n}\n"}
JSON
)" | id_of)
broken=$(api POST /api/v1/admin/scripts '{"app_id":"demo","name":"flaky","source":"function handle(req) { throw new Error(\"database unreachable\") }"}' | id_of)
nightly=$(api POST /api/v1/admin/scripts '{"app_id":"demo","name":"nightly","source":"async function scheduled(event, env) {\n  console.log(\"cleaning up for\", new Date(event.scheduledTime).toISOString());\n}\n"}' | id_of)
sched=$(api POST /api/v1/admin/apps/demo/schedules "{\"script_id\":$nightly,\"cron\":\"0 3 * * *\",\"timezone\":\"Europe/Berlin\"}" | id_of)
api POST "/api/v1/admin/apps/demo/schedules/$sched/run" >/dev/null
api POST /api/v1/admin/apps/demo/schedules "{\"script_id\":$nightly,\"cron\":\"*/15 * * * *\"}" >/dev/null
api PUT /api/v1/admin/apps/demo/env/GREETING '{"value":"Hello"}' >/dev/null
api PUT /api/v1/admin/apps/demo/env/STRIPE_WEBHOOK_SECRET '{"value":"whsec_demo","secret":true}' >/dev/null
api POST /api/v1/admin/apps/demo/routes "{\"script_id\":$hello,\"method\":\"GET\",\"path\":\"/\"}" >/dev/null
api POST /api/v1/admin/apps/demo/routes "{\"script_id\":$hello,\"method\":\"GET\",\"path\":\"/hello/:name\"}" >/dev/null
api POST /api/v1/admin/apps/demo/routes "{\"script_id\":$broken,\"method\":\"ANY\",\"path\":\"/flaky\"}" >/dev/null
kv() { curl -fsS -X PUT -H "Authorization: Bearer $token" ${3:+-H "X-PiCloud-KV-Metadata: $3"} --data-binary "$2" "$admin/api/v1/admin/apps/demo/kv/$1${4:+?expiration_ttl=$4}"; }
kv settings '{"theme":"dark","greeting":"Hello","features":{"beta":true,"maxItems":25}}' '{"by":"console"}'
kv session%2F8f3a2c 'user=ada' '' 3600
for n in ada grace linus ken rob; do kv "hits%2F$n" "$((RANDOM % 500))"; done
kv cache%2Fweather '{"temp":21.5,"unit":"C"}' '' 600
for n in ada grace linus ken rob; do
	curl -sS -o /dev/null -H "Host: demo.localhost" "$data/hello/$n"
done
for _ in 1 2; do curl -sS -o /dev/null -H "Host: demo.localhost" "$data/flaky"; done
curl -sS -o /dev/null -H "Host: demo.localhost" "$data/"

mkdir -p "$out"
echo "running the console under xvfb…" >&2
# llvmpipe reads back a black front buffer under Xvfb; softpipe does not.
GALLIUM_DRIVER=softpipe PICLOUD_SCREENSHOT_TOKEN="$token" xvfb-run -a -s "-screen 0 1400x900x24" \
	"$work/picloud-console" --mdns off --registry "$work/nodes.json" \
	--screenshot-dir "$out" --screenshot-node "${admin#http://}" --screenshot-app demo --screenshot-takeover blog-2019
# The sandbox form at the smallest size it must fit: a window resized
# under Xvfb (no window manager) keeps its old GL drawable, so this shot
# comes from a second console that starts at 1024x640 and stops the tour
# once it has taken it.
echo "running the console at 1024x640 for the sandbox form…" >&2
GALLIUM_DRIVER=softpipe PICLOUD_SCREENSHOT_TOKEN="$token" xvfb-run -a -s "-screen 0 1400x900x24" \
	"$work/picloud-console" --mdns off --registry "$work/nodes-small.json" --window-size 1024x640 \
	--screenshot-dir "$out" --screenshot-node "${admin#http://}" --screenshot-app demo --screenshot-only 08-script-sandbox
ls -1 "$out"/*.png
