#!/usr/bin/env bash
# Builds the SeaweedFS "weed" binary used as the S3 server of the storage tests, from the Go module
# proxy, and caches it. Prints the path of the binary on stdout. Idempotent: a cached binary is reused.
#
# The proxy serves only this pseudo-version of github.com/seaweedfs/seaweedfs (Apache-2.0).
set -euo pipefail

version="${SEAWEEDFS_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
cache_root="${CONSUL_SNAPSHOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/consul-snapshot}"
binary="$cache_root/bin/weed-$version"

if [[ -x "$binary" ]] && "$binary" version >/dev/null 2>&1; then
  echo "$binary"
  exit 0
fi

command -v go >/dev/null || { echo "build-seaweedfs: the go command is needed (install Go 1.22+)" >&2; exit 1; }

mkdir -p "$cache_root/bin"
work="$(mktemp -d "$cache_root/weed-build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# Only the module proxy is reachable: use the first entry of GOPROXY, without "direct".
proxy="$(go env GOPROXY | cut -d, -f1)"
export GOPROXY="$proxy" GOTOOLCHAIN=local GOFLAGS=-mod=mod

echo "build-seaweedfs: building weed $version (cold build takes about 12 minutes on 2 cores)" >&2
cd "$work"
go mod init wrapper >/dev/null 2>&1
# go-bip39's original repository is gone from the proxy; the cosmos fork is API compatible.
go mod edit -replace github.com/tyler-smith/go-bip39=github.com/cosmos/go-bip39@v1.0.0
go get "github.com/seaweedfs/seaweedfs/weed@$version" >&2
go build -trimpath -ldflags "-s -w" -o "$work/weed" github.com/seaweedfs/seaweedfs/weed
"$work/weed" version >&2
mv "$work/weed" "$binary"
echo "$binary"
