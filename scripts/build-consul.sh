#!/usr/bin/env bash
# Builds the Consul agent used by the tests from the Go module proxy and caches the binary.
# Prints the path of the binary on stdout. Idempotent: a cached binary is reused.
#
# Consul v1.16.3 is the newest MPL-2.0 release the module proxy serves; later releases are under
# the Business Source License and must not be used.
set -euo pipefail

version="${CONSUL_VERSION:-v1.16.3}"
cache_root="${CONSUL_SNAPSHOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/consul-snapshot}"
binary="$cache_root/bin/consul-$version"

if [[ -x "$binary" ]] && "$binary" version >/dev/null 2>&1; then
  echo "$binary"
  exit 0
fi

command -v go >/dev/null || { echo "build-consul: the go command is needed (install Go 1.21+)" >&2; exit 1; }

mkdir -p "$cache_root/bin"
work="$(mktemp -d "$cache_root/consul-build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# Only the module proxy is reachable: use the first entry of GOPROXY, without "direct".
proxy="$(go env GOPROXY | cut -d, -f1)"
export GOPROXY="$proxy" GOTOOLCHAIN=local GOFLAGS=-mod=mod
export GONOSUMDB=github.com/hashicorp/consul/envoyextensions

echo "build-consul: building consul $version (cold build takes about 10 minutes on 2 cores)" >&2
module_dir="$(go mod download -json "github.com/hashicorp/consul@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -d "$module_dir" ]] || { echo "build-consul: go mod download gave no module folder" >&2; exit 1; }

cp -r "$module_dir" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
# The module zip lacks these nested modules; their replace directives point at missing folders.
for nested in api envoyextensions proto-public sdk troubleshoot; do
  go mod edit -dropreplace="github.com/hashicorp/consul/$nested"
done
go build -trimpath -ldflags "-s -w" -o "$work/consul" .
"$work/consul" version >&2
mv "$work/consul" "$binary"
echo "$binary"
