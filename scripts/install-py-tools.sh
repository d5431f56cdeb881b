#!/usr/bin/env bash
# Installs the Python tools the tests and benchmarks use, into a virtualenv in the cache folder:
# boto3 (an independent S3 client for checks), awscli (the upload benchmark's comparison) and
# moto[server] (an STS endpoint for the web-identity credentials test; used for STS only).
# Prints the venv's python on stdout. Idempotent: a venv that has them all is kept.
set -euo pipefail

cache_root="${CONSUL_SNAPSHOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/consul-snapshot}"
venv="$cache_root/venv"
python="$venv/bin/python"

# moto is pinned: 5.2.6 (the newest in December 2026) answers the tests' readiness probe, an
# unsigned POST of Action=GetCallerIdentity, with a 500 from an assertion in its own response
# code, so the web-identity tests could not start it. They pass with 5.1.22.
moto_version=5.1.22
check="import boto3, awscli, moto.server, importlib.metadata as m; assert m.version('moto') == '$moto_version'"
if [[ -x "$python" ]] && "$python" -c "$check" 2>/dev/null; then
  echo "$python"
  exit 0
fi

command -v python3 >/dev/null || { echo "install-py-tools: python3 is needed" >&2; exit 1; }
mkdir -p "$cache_root"
echo "install-py-tools: installing boto3, awscli and moto[server] into $venv" >&2
[[ -x "$python" ]] || python3 -m venv "$venv" >&2
"$python" -m pip install --quiet --disable-pip-version-check "boto3>=1.28,<2" "awscli>=1.29,<2" \
  "moto[server]==$moto_version" >&2
"$python" -c "$check" >&2
echo "$python"
