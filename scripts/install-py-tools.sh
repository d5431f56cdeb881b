#!/usr/bin/env bash
# Installs the Python tools the tests use as independent checkers (boto3) into a virtualenv in the
# cache folder. Prints the venv's python on stdout. Idempotent: an existing venv with boto3 is kept.
set -euo pipefail

cache_root="${CONSUL_SNAPSHOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/consul-snapshot}"
venv="$cache_root/venv"
python="$venv/bin/python"

if [[ -x "$python" ]] && "$python" -c 'import boto3' 2>/dev/null; then
  echo "$python"
  exit 0
fi

command -v python3 >/dev/null || { echo "install-py-tools: python3 is needed" >&2; exit 1; }
mkdir -p "$cache_root"
echo "install-py-tools: creating $venv with boto3" >&2
python3 -m venv "$venv" >&2
"$python" -m pip install --quiet --disable-pip-version-check "boto3>=1.28,<2" >&2
"$python" -c 'import boto3' >&2
echo "$python"
