#!/usr/bin/env bash
# Encrypt and decrypt throughput of our age filter against the stock `age` CLI on the same file.
#   bench/age_throughput.sh BUILD_DIR [SIZE_MIB]     (BUILD_DIR: a Release build with bench/)
# Needs age, age-keygen and about 3x SIZE_MIB of space in $TMPDIR.
set -euo pipefail

build=${1:?usage: age_throughput.sh BUILD_DIR [SIZE_MIB]}
size_mib=${2:-1024}
tool=$build/bench/age_throughput
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/plain.bin"
age-keygen -o "$work/key.txt" 2>/dev/null
recipient=$(age-keygen -y "$work/key.txt")
bytes=$(stat -c %s "$work/plain.bin")

# Seconds taken by a command, from the monotonic-ish wall clock.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
rate() { awk -v n="$bytes" -v s="$1" 'BEGIN { printf "%.1f", n / s / 1000000 }'; }

cat "$work/plain.bin" >/dev/null  # warm the page cache

ours_enc=$(seconds "$tool" encrypt "$recipient" "$work/plain.bin" "$work/ours.age")
ours_dec=$(seconds "$tool" decrypt "$work/key.txt" "$work/ours.age" "$work/ours.out")
cmp "$work/plain.bin" "$work/ours.out"
age_enc=$(seconds age -r "$recipient" -o "$work/age.age" "$work/plain.bin")
age_dec=$(seconds age -d -i "$work/key.txt" -o "$work/age.out" "$work/age.age")
cmp "$work/plain.bin" "$work/age.out"

printf '| %-28s | %10s | %10s |\n' "tool ($size_mib MiB)" "encrypt MB/s" "decrypt MB/s"
printf '| %-28s | %10s | %10s |\n' "consul-snapshot (age filter)" "$(rate "$ours_enc")" "$(rate "$ours_dec")"
printf '| %-28s | %10s | %10s |\n' "age $(age --version)" "$(rate "$age_enc")" "$(rate "$age_dec")"
