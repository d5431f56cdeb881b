#!/usr/bin/env bash
# The main job, end to end, on this machine only: installs what is missing, builds
# consul-snapshot, starts a throwaway Consul dev agent on loopback (never a cluster you already
# have), writes sample keys, takes a backup into ./consul-snapshots, wipes the keys, restores the
# backup, checks the keys with the consul CLI, and stops the agent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

bash scripts/install-deps.sh
consul="$(bash scripts/build-consul.sh)"
echo "== building consul-snapshot"
cmake --preset default >/dev/null
cmake --build --preset default --target consul-snapshot
tool="$root/build/default/src/cli/consul-snapshot"

work="$(mktemp -d "${TMPDIR:-/tmp}/consul-snapshot-demo.XXXXXX")"
agent_pid=""
cleanup() {
  if [[ -n "$agent_pid" ]] && kill -0 "$agent_pid" 2>/dev/null; then
    kill "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

source "$root/scripts/lib/ports.sh"
pick_port http_port
pick_port server_port
pick_port lan_port
pick_port wan_port

echo "== starting a Consul dev agent on 127.0.0.1:$http_port (log: $work/consul.log)"
"$consul" agent -dev -bind 127.0.0.1 -client 127.0.0.1 -advertise 127.0.0.1 \
  -http-port "$http_port" -server-port "$server_port" -serf-lan-port "$lan_port" \
  -serf-wan-port "$wan_port" -dns-port -1 -grpc-port -1 -grpc-tls-port -1 \
  >"$work/consul.log" 2>&1 &
agent_pid=$!
export CONSUL_HTTP_ADDR="127.0.0.1:$http_port"
deadline=$((SECONDS + 30))
until [[ "$(curl -fsS "http://$CONSUL_HTTP_ADDR/v1/status/leader" 2>/dev/null)" == \"*:*\" ]]; do
  if ((SECONDS > deadline)) || ! kill -0 "$agent_pid" 2>/dev/null; then
    echo "demo: the Consul agent did not become ready; its log:" >&2
    cat "$work/consul.log" >&2
    exit 1
  fi
  sleep 0.2
done

echo "== writing sample keys"
"$consul" kv put app/config/db/host db.internal >/dev/null
"$consul" kv put -flags=42 app/config/db/port 5432 >/dev/null
"$consul" kv put "app/config/feature flags/new ui" true >/dev/null
"$consul" kv put app/empty "" >/dev/null
head -c 4096 /dev/urandom >"$work/blob"
"$consul" kv put app/binary "@$work/blob" >/dev/null
"$consul" kv export >"$work/before.json"
keys=$(grep -c '"key"' "$work/before.json")

echo "== consul-snapshot backup --once"
export LOCAL_DIR="$root/consul-snapshots"
"$tool" backup --once

echo "== wiping the KV store"
"$consul" kv delete -recurse >/dev/null

echo "== consul-snapshot restore latest --yes"
"$tool" restore latest --yes

"$consul" kv export >"$work/after.json"
if ! cmp -s "$work/before.json" "$work/after.json"; then
  echo "demo: the restored KV store differs from the original:" >&2
  diff "$work/before.json" "$work/after.json" >&2 || true
  exit 1
fi
backup=$(find "$LOCAL_DIR" -name '*.consul.snapshot.*' -newer "$work/before.json" | sort | tail -n 1)
echo
echo "Done. Backup: $backup ($(stat -c %s "$backup") bytes)."
echo "The restore wrote back all $keys keys; 'consul kv export' before and after is identical."
echo "The Consul dev agent has been stopped."
