#!/usr/bin/env bash
# S3 upload benchmark: our streaming multipart upload (storage::Backend, bench/s3_upload.cpp)
# against `aws s3 cp` on the same file, the same SeaweedFS server and the same credentials.
# Results go to docs/benchmarks.md by hand; this is never a timed test.
#
#   bench/s3_bench.sh [SIZE_MIB] [SMALL_MIB]
#
# SIZE_MIB (default 1024) is the size of the random file both tools upload, RUNS times each,
# interleaved; SMALL_MIB (default 64) a second file that only our program uploads, to show that
# its peak RSS does not grow with the object's size. Each upload runs under /usr/bin/time -v
# (wall time of the whole process, client CPU, peak RSS); the server's CPU seconds during each
# upload come from /proc. awscli runs twice per round: with its defaults (10 parts in flight) and
# with max_concurrent_requests = 1 (one part at a time, like ours). Both use 8 MiB parts.
# Every object is checked with boto3 (size); the first upload of each tool is also downloaded by
# boto3 and its SHA-256 compared with the file's, and our program reads the small object back
# through our own backend (--verify). The server is stopped and the temp dir removed on exit.
#
# Environment: BUILD_DIR (default build/bench-release; built here when the binary is missing),
# RUNS (default 3), AWS_SEQUENTIAL (default 1: also run awscli with one request in flight),
# WEED_BIN (default: scripts/build-seaweedfs.sh's binary), CSNAP_PYTHON (default:
# scripts/install-py-tools.sh's venv; its bin/aws is the awscli used), TMPDIR (needs about
# SIZE_MIB * (2 * RUNS + 3) MiB free: the file plus the server's copies).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

size_mib="${1:-1024}"
small_mib="${2:-64}"
runs="${RUNS:-3}"
aws_sequential="${AWS_SEQUENTIAL:-1}"
build_dir="${BUILD_DIR:-$root/build/bench-release}"
tool="$build_dir/bench/csnap_bench_s3_upload"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

die() {
  echo "s3_bench: $*" >&2
  exit 1
}
[[ "$size_mib" =~ ^[1-9][0-9]*$ && "$small_mib" =~ ^[1-9][0-9]*$ ]] ||
  die "SIZE_MIB and SMALL_MIB must be positive integers (MiB), got '$size_mib' '$small_mib'"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing: apt-get install time"
command -v curl >/dev/null || die "curl is missing: apt-get install curl"
weed="${WEED_BIN:-$(bash scripts/build-seaweedfs.sh)}"
[[ -x "$weed" ]] || die "SeaweedFS binary '$weed' is not executable: run scripts/build-seaweedfs.sh"
python="${CSNAP_PYTHON:-$(bash scripts/install-py-tools.sh)}"
aws="$(dirname "$python")/aws"
[[ -x "$aws" ]] || die "awscli is missing next to $python: run scripts/install-py-tools.sh"
source "$root/scripts/lib/bench.sh"
[[ -x "$tool" ]] || build_release "$root" "$build_dir" csnap_bench_s3_upload

work="$(mktemp -d "${TMPDIR:-/tmp}/consul-snapshot-s3bench.XXXXXX")"
weed_pid=""
stop_weed() {
  [[ -n "$weed_pid" ]] || return 0
  kill "$weed_pid" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while kill -0 "$weed_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  kill -9 "$weed_pid" 2>/dev/null || true
  wait "$weed_pid" 2>/dev/null || true
  weed_pid=""
}
cleanup() {
  local rc=$?
  stop_weed
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The same identity for every client: the bench's own throwaway keys, never real ones.
export AWS_ACCESS_KEY_ID="CSNAPBENCHKEY0000001"
export AWS_SECRET_ACCESS_KEY="csnap-bench-secret-0000000000000000000001"
export AWS_DEFAULT_REGION="us-east-1" AWS_REGION="us-east-1"
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
# awscli reads no file of the user's: its config is ours (empty, or one request in flight).
export AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
: >"$AWS_SHARED_CREDENTIALS_FILE"
: >"$work/aws-config-default"
printf '[default]\ns3 =\n    max_concurrent_requests = 1\n' >"$work/aws-config-sequential"
export AWS_CONFIG_FILE="$work/aws-config-default"

cat >"$work/identities.json" <<EOF
{"identities": [{"name": "bench", "credentials": [{"accessKey": "$AWS_ACCESS_KEY_ID",
  "secretKey": "$AWS_SECRET_ACCESS_KEY"}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}
EOF

source "$root/scripts/lib/ports.sh"
# Starts `weed mini` with every listener on a free loopback port (its defaults are fixed numbers);
# another process may take a port between the check and the bind, so a failed start is retried.
start_weed() {
  local s3_port flags=() name listener_port
  pick_port s3_port
  for name in s3.port.grpc master.port master.port.grpc filer.port filer.port.grpc volume.port \
    volume.port.grpc admin.port admin.port.grpc webdav.port; do
    pick_port listener_port
    flags+=("-$name=$listener_port")
  done
  rm -rf "$work/data"
  mkdir -p "$work/data"
  (cd "$work" && exec "$weed" mini -dir="$work/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.telemetry=false -webdav=false -admin.ui=false -s3.config="$work/identities.json" \
    -s3.autoCreateBucket=false -s3.port.iceberg=0 -s3.port.lance=0 -admin.port.legacy=0 \
    -master.volumeSizeLimitMB=1024 -s3.port="$s3_port" "${flags[@]}") >"$work/weed.log" 2>&1 &
  weed_pid=$!
  endpoint="http://127.0.0.1:$s3_port"
  # Ready when an anonymous request is refused: the S3 gateway has loaded the identities.
  local deadline=$((SECONDS + 90)) code
  while true; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$endpoint/" 2>/dev/null || true)
    [[ "$code" == 403 ]] && return 0
    if ((SECONDS > deadline)) || ! kill -0 "$weed_pid" 2>/dev/null; then
      stop_weed
      return 1
    fi
    sleep 0.2
  done
}
for attempt in 1 2 3; do
  start_weed && break
  ((attempt < 3)) || { echo "s3_bench: SeaweedFS did not start; its log:" >&2; tail -50 "$work/weed.log" >&2; exit 1; }
  echo "   SeaweedFS did not start (port taken?); retrying" >&2
done
echo "== SeaweedFS ($("$weed" version 2>/dev/null | head -1)) S3 on $endpoint" >&2

# boto3, the independent checker: create BUCKET | size BUCKET KEY | sha256 BUCKET KEY | delete BUCKET KEY
cat >"$work/check.py" <<'PY'
import hashlib, os, sys
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
command, bucket = sys.argv[1], sys.argv[2]
if command == "create":
    s3.create_bucket(Bucket=bucket)
elif command == "size":
    print(s3.head_object(Bucket=bucket, Key=sys.argv[3])["ContentLength"])
elif command == "sha256":
    digest = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bucket, Key=sys.argv[3])["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    print(digest.hexdigest())
elif command == "delete":
    s3.delete_object(Bucket=bucket, Key=sys.argv[3])
PY
check() { S3_ENDPOINT="$endpoint" "$python" "$work/check.py" "$@"; }
bucket="csnap-bench-$RANDOM$RANDOM"
check create "$bucket"

echo "== making $size_mib MiB and $small_mib MiB of random data" >&2
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/big.bin"
head -c "$((small_mib * 1024 * 1024))" /dev/urandom >"$work/small.bin"
big_bytes=$(stat -c %s "$work/big.bin")
small_bytes=$(stat -c %s "$work/small.bin")
big_sha=$(sha256sum "$work/big.bin" | cut -d' ' -f1)  # also warms the page cache
small_sha=$(sha256sum "$work/small.bin" | cut -d' ' -f1)

# measure NAME BYTES KEY CMD...: runs CMD under /usr/bin/time -v, checks the object's size with
# boto3 (and, the first time per NAME, its SHA-256 when BYTES is the big file's), deletes it,
# and appends "NAME|BYTES|wall|rss_MiB|MiB/s|cpu|server_cpu|inner" to rows (cpu: user + sys
# seconds of the client; server_cpu: SeaweedFS's during the upload; inner: our program's own
# upload seconds, MiB/s and peak RSS, from its JSON line).
server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$weed_pid/stat"; }
rows=()
declare -A hashed=()
measure() {
  local name="$1" bytes="$2" key="$3"
  shift 3
  local tf="$work/time.txt" out="$work/out.txt" rc=0 server_before server_after
  server_before=$(server_cpu_ticks)
  /usr/bin/time -v -o "$tf" "$@" >"$out" 2>"$work/err.txt" || rc=$?
  server_after=$(server_cpu_ticks)
  if ((rc != 0)); then
    cat "$work/err.txt" "$out" >&2
    die "$name failed (exit $rc)"
  fi
  local wall rss rate cpu server_cpu inner=""
  read_time_v "$tf" wall cpu rss
  server_cpu=$(awk -v a="$server_before" -v b="$server_after" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f", (b - a) / hz }')
  rate=$(awk -v b="$bytes" -v s="$wall" 'BEGIN { printf "%.1f", b / 1048576 / s }')
  if grep -q upload_seconds "$out"; then
    inner=$("$python" -c 'import json,sys; j=json.load(open(sys.argv[1]))
print("%.2f s, %.1f MiB/s, %.1f MiB" % (j["upload_seconds"], j["upload_mib_per_s"], j["peak_rss_upload_mib"]))' "$out")
  fi
  local size
  size=$(check size "$bucket" "$key")
  [[ "$size" == "$bytes" ]] || die "$name: boto3 sees $key with $size bytes, expected $bytes"
  local verified="size ok"
  if [[ "$bytes" == "$big_bytes" && -z "${hashed[$name]:-}" ]]; then
    local sha
    sha=$(check sha256 "$bucket" "$key")
    [[ "$sha" == "$big_sha" ]] || die "$name: SHA-256 of $key ($sha) differs from the file's ($big_sha)"
    hashed[$name]=1
    verified="size and SHA-256 ok (boto3)"
  fi
  check delete "$bucket" "$key"
  rows+=("$name|$bytes|$wall|$rss|$rate|$cpu|$server_cpu|$inner")
  echo "   $name: ${wall} s wall, ${rate} MiB/s, ${cpu} s CPU (server ${server_cpu} s), ${rss} MiB peak RSS${inner:+ (inner: $inner)}; $verified" >&2
}

url="s3://$bucket/ours?endpoint=$endpoint"
echo "== load before: $(uptime)" >&2
for ((r = 1; r <= runs; r++)); do
  echo "== round $r/$runs ($size_mib MiB)" >&2
  measure "consul-snapshot (s3_upload)" "$big_bytes" "ours/big-$r" \
    "$tool" --key "big-$r" "$work/big.bin" "$url"
  measure "aws s3 cp (defaults)" "$big_bytes" "aws/big-$r" \
    "$aws" s3 cp --only-show-errors --endpoint-url "$endpoint" "$work/big.bin" "s3://$bucket/aws/big-$r"
  if ((aws_sequential)); then
    AWS_CONFIG_FILE="$work/aws-config-sequential" measure "aws s3 cp (1 request in flight)" \
      "$big_bytes" "aws1/big-$r" "$aws" s3 cp --only-show-errors --endpoint-url "$endpoint" \
      "$work/big.bin" "s3://$bucket/aws1/big-$r"
  fi
done
for ((r = 1; r <= runs; r++)); do
  measure "consul-snapshot (s3_upload) small" "$small_bytes" "ours/small-$r" \
    "$tool" --key "small-$r" "$work/small.bin" "$url"
done
echo "== load after: $(uptime)" >&2

echo "== read-back check through our backend ($small_mib MiB, --verify)" >&2
"$tool" --verify --key small-verify "$work/small.bin" "$url" >"$work/verify.json"
grep -q "\"match\":true" "$work/verify.json" || die "our read-back differs: $(cat "$work/verify.json")"
grep -q "\"sha256_object\":\"$small_sha\"" "$work/verify.json" ||
  die "our read-back's SHA-256 is not sha256sum's $small_sha: $(cat "$work/verify.json")"
[[ "$(check sha256 "$bucket" ours/small-verify)" == "$small_sha" ]] ||
  die "boto3's SHA-256 of ours/small-verify differs from sha256sum's"
echo "   ok: $(cat "$work/verify.json")" >&2

weed_rss=$(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$weed_pid/status" 2>/dev/null || echo "?")

# Table: medians per tool and size.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
{
  printf '%-36s %5s %4s %7s %7s %6s %8s %8s  %s\n' tool MiB runs wall_s MiB/s cpu_s RSS_MiB \
    server_s "each run: wall s / MiB/s / CPU s / RSS MiB"
  declare -A seen=()
  for row in "${rows[@]}"; do
    IFS='|' read -r name bytes _ <<<"$row"
    [[ -n "${seen[$name]:-}" ]] && continue
    seen[$name]=1
    walls=() rates=() rsss=() cpus=() servers=() each=""
    for other in "${rows[@]}"; do
      IFS='|' read -r n b w rss rate cpu server inner <<<"$other"
      [[ "$n" == "$name" ]] || continue
      walls+=("$w") rates+=("$rate") rsss+=("$rss") cpus+=("$cpu") servers+=("$server")
      each+="${each:+; }$w/$rate/$cpu/$rss"
    done
    printf '%-36s %5s %4s %7s %7s %6s %8s %8s  %s\n' "$name" "$((bytes / 1048576))" "${#walls[@]}" \
      "$(printf '%s\n' "${walls[@]}" | median)" "$(printf '%s\n' "${rates[@]}" | median)" \
      "$(printf '%s\n' "${cpus[@]}" | median)" "$(printf '%s\n' "${rsss[@]}" | median)" \
      "$(printf '%s\n' "${servers[@]}" | median)" "$each"
  done
} | tee "${RESULTS_FILE:-/dev/null}"
echo "SeaweedFS peak RSS: $weed_rss; nproc $(nproc); total bench time: $SECONDS s"
