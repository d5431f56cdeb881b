#!/usr/bin/env bash
# Builds Shopify's Toxiproxy server (github.com/Shopify/toxiproxy, MIT), the fault-injecting TCP
# proxy of the fault tests, from the Go module proxy, and caches the binary. Prints the path of
# the binary on stdout. Idempotent: a cached binary is reused.
#
# The version is pinned: `@latest` resolves to an old release through the module proxy.
set -euo pipefail

version="${TOXIPROXY_VERSION:-v2.12.0}"
cache_root="${CONSUL_SNAPSHOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/consul-snapshot}"
binary="$cache_root/bin/toxiproxy-server-$version"

if [[ -x "$binary" ]] && "$binary" -version >/dev/null 2>&1; then
  echo "$binary"
  exit 0
fi

command -v go >/dev/null || { echo "build-toxiproxy: the go command is needed (install Go 1.22+)" >&2; exit 1; }

mkdir -p "$cache_root/bin"
work="$(mktemp -d "$cache_root/toxiproxy-build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# Only the module proxy is reachable: use the first entry of GOPROXY, without "direct".
proxy="$(go env GOPROXY | cut -d, -f1)"
export GOPROXY="$proxy" GOTOOLCHAIN=local GOFLAGS=-mod=mod GOBIN="$work/bin"

echo "build-toxiproxy: building toxiproxy $version (about a minute)" >&2
go install -trimpath -ldflags "-s -w" "github.com/Shopify/toxiproxy/v2/cmd/server@$version"
"$work/bin/server" -version >&2
mv "$work/bin/server" "$binary"
echo "$binary"
