# Sourced by scripts that start servers on loopback.
# pick_port NAME: sets the variable NAME to a loopback port that nothing listens on and that no
# earlier call chose.
_picked_ports=" "
pick_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    [[ "$_picked_ports" == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      _picked_ports+="$port "
      printf -v "$1" '%s' "$port"
      return
    fi
  done
}
