#!/usr/bin/env bash
# Builds AWS's EC2 instance metadata emulator (github.com/aws/amazon-ec2-metadata-mock, Apache-2.0),
# used by the instance-profile credential tests, from the Go module proxy, and caches the binary.
# Prints the path of the binary on stdout. Idempotent: a cached binary is reused.
set -euo pipefail

version="${EC2_METADATA_MOCK_VERSION:-v1.13.0}"
cache_root="${CONSUL_SNAPSHOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/consul-snapshot}"
binary="$cache_root/bin/ec2-metadata-mock-$version"

if [[ -x "$binary" ]] && "$binary" --help >/dev/null 2>&1; then
  echo "$binary"
  exit 0
fi

command -v go >/dev/null || { echo "build-ec2-metadata-mock: the go command is needed (install Go 1.23+)" >&2; exit 1; }

mkdir -p "$cache_root/bin"
work="$(mktemp -d "$cache_root/ec2-metadata-mock-build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# Only the module proxy is reachable: use the first entry of GOPROXY, without "direct".
proxy="$(go env GOPROXY | cut -d, -f1)"
export GOPROXY="$proxy" GOTOOLCHAIN=local GOFLAGS=-mod=mod

echo "build-ec2-metadata-mock: building amazon-ec2-metadata-mock $version (about a minute)" >&2
cd "$work"
go mod init wrapper >/dev/null 2>&1
go get "github.com/aws/amazon-ec2-metadata-mock@$version" >&2
go build -trimpath -ldflags "-s -w" -o "$work/ec2-metadata-mock" \
  github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock
"$work/ec2-metadata-mock" --help >/dev/null
mv "$work/ec2-metadata-mock" "$binary"
echo "$binary"
