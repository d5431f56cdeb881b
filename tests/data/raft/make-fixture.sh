#!/usr/bin/env bash
# Writes consul-1.16.3.snap (see ABOUT.md): a throwaway Consul dev agent on free loopback ports,
# ACLs on, Connect off (its CA certificates would only add bytes), a few KV entries with binary
# values, flags and odd names, a session holding a lock, an ACL policy, role, token, auth method
# and binding rule, a prepared query and a service-defaults config entry; then
# `consul snapshot save` and `consul snapshot inspect -format json` of it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
consul="${CONSUL:-$(bash "$root/scripts/build-consul.sh")}"
work="$(mktemp -d)"
agent_pid=""
cleanup() {
  if [[ -n "$agent_pid" ]]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

source "$root/scripts/lib/ports.sh"
pick_port http_port
pick_port server_port
pick_port lan_port
pick_port wan_port

cat >"$work/agent.hcl" <<HCL
acl {
  enabled = true
  default_policy = "deny"
  tokens { initial_management = "00000000-0000-4000-8000-00000000cafe" }
}
connect { enabled = false }
HCL
"$consul" agent -dev -node fixture -bind 127.0.0.1 -client 127.0.0.1 -advertise 127.0.0.1 \
  -http-port "$http_port" -server-port "$server_port" -serf-lan-port "$lan_port" \
  -serf-wan-port "$wan_port" -dns-port -1 -grpc-port -1 -grpc-tls-port -1 \
  -config-file "$work/agent.hcl" >"$work/consul.log" 2>&1 &
agent_pid=$!
export CONSUL_HTTP_ADDR="127.0.0.1:$http_port" CONSUL_HTTP_TOKEN="00000000-0000-4000-8000-00000000cafe"
for _ in $(seq 1 60); do
  curl -fsS -H "X-Consul-Token: $CONSUL_HTTP_TOKEN" "http://$CONSUL_HTTP_ADDR/v1/acl/token/self" >/dev/null 2>&1 && break
  sleep 0.5
done
api() { curl -fsS -H "X-Consul-Token: $CONSUL_HTTP_TOKEN" "$@"; }
url="http://$CONSUL_HTTP_ADDR"

# KV: plain, empty, folder, binary (every byte value), flags up to 2^64-1, odd names.
api -X PUT --data-binary 'hello' "$url/v1/kv/app/config" >/dev/null
api -X PUT --data-binary '' "$url/v1/kv/app/empty" >/dev/null
api -X PUT --data-binary '' "$url/v1/kv/app/folder/" >/dev/null
head -c 256 /dev/zero | python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' >"$work/binary"
api -X PUT --data-binary @"$work/binary" "$url/v1/kv/bin/all-bytes?flags=42" >/dev/null
api -X PUT --data-binary 'max' "$url/v1/kv/flags/max?flags=18446744073709551615" >/dev/null
api -X PUT --data-binary 'space' "$url/v1/kv/odd/with%20space%20%25%3F%23" >/dev/null
api -X PUT --data-binary 'unicode' "$url/v1/kv/odd/%C3%A9t%C3%A9/%E2%9C%93" >/dev/null
# A key with a TAB and a newline, which only /v1/txn can write.
api -X PUT --data '[{"KV":{"Verb":"set","Key":"odd/tab\tnewline\n","Value":"dHhu","Flags":7}}]' "$url/v1/txn" >/dev/null
# A lock held by a session.
session="$(api -X PUT --data '{"Name":"fixture-lock","TTL":"86400s"}' "$url/v1/session/create" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')"
api -X PUT --data-binary 'locked' "$url/v1/kv/locks/leader?acquire=$session" >/dev/null
# A deleted key leaves a tombstone.
api -X PUT --data-binary 'gone' "$url/v1/kv/deleted" >/dev/null
api -X DELETE "$url/v1/kv/deleted" >/dev/null

# ACLs.
api -X PUT --data '{"Name":"kv-read","Description":"reads app/","Rules":"key_prefix \"app/\" { policy = \"read\" }"}' "$url/v1/acl/policy" >/dev/null
api -X PUT --data '{"Name":"app-role","Policies":[{"Name":"kv-read"}]}' "$url/v1/acl/role" >/dev/null
api -X PUT --data '{"AccessorID":"11111111-1111-4111-8111-111111111111","SecretID":"22222222-2222-4222-8222-222222222222","Description":"fixture token","Roles":[{"Name":"app-role"}]}' "$url/v1/acl/token" >/dev/null
openssl genpkey -algorithm ed25519 -out "$work/jwt.key" 2>/dev/null
openssl pkey -in "$work/jwt.key" -pubout -out "$work/jwt.pub"
python3 - "$work/jwt.pub" >"$work/method.json" <<'PY'
import json, sys
print(json.dumps({"Name": "fixture-jwt", "Type": "jwt", "Config": {
    "JWTValidationPubKeys": [open(sys.argv[1]).read()], "BoundAudiences": ["fixture"],
    "ClaimMappings": {"sub": "subject"}}}))
PY
api -X PUT --data @"$work/method.json" "$url/v1/acl/auth-method" >/dev/null
api -X PUT --data '{"AuthMethod":"fixture-jwt","BindType":"role","BindName":"app-role","Selector":"value.subject==\"app\""}' "$url/v1/acl/binding-rule" >/dev/null

# A prepared query and a config entry.
api -X POST --data '{"Name":"fixture-query","Service":{"Service":"web","OnlyPassing":true}}' "$url/v1/query" >/dev/null
api -X PUT --data '{"Kind":"service-defaults","Name":"web","Protocol":"http"}' "$url/v1/config" >/dev/null

"$consul" snapshot save "$work/fixture.snap" >/dev/null
cp "$work/fixture.snap" "$here/consul-1.16.3.snap"
"$consul" snapshot inspect -format json "$here/consul-1.16.3.snap" >"$here/consul-1.16.3.inspect.json"
"$consul" snapshot inspect "$here/consul-1.16.3.snap"
