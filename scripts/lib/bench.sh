# Sourced by the benchmarks in bench/.

# build_release ROOT BUILD_DIR TARGET: configures BUILD_DIR as a Release build of ROOT without the
# tests and builds TARGET there; only a note of it goes to stderr.
build_release() {
  echo "== building $3 (Release) in $2" >&2
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCSNAP_BUILD_TESTS=OFF >/dev/null
  cmake --build "$2" --target "$3" -j"$(nproc)" >/dev/null
}

# read_time_v FILE WALL CPU RSS: reads FILE, written by `/usr/bin/time -v -o FILE`, and sets the
# variables named WALL (elapsed seconds, 2 decimals), CPU (user + system seconds, 2 decimals) and
# RSS (peak resident set size in MiB, 1 decimal).
read_time_v() {
  local _time_v_value
  _time_v_value=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1")
  printf -v "$2" '%s' "$_time_v_value"
  _time_v_value=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$1")
  printf -v "$3" '%s' "$_time_v_value"
  _time_v_value=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1")
  printf -v "$4" '%s' "$_time_v_value"
}
