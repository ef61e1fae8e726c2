#!/usr/bin/env bash
# Starts a fresh wrenn-local on an ephemeral loopback port, runs the given
# command with WRENN_BASE_URL, WRENN_API_KEY and WRENN_PROXY_DOMAIN pointing at it, then stops
# the server. Usage: with-wrenn-local.sh [--server PATH] [--tls CERT KEY] -- CMD ARGS...
set -euo pipefail

server="${WRENN_LOCAL:-}"
server_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --tls) server_args+=(--tls-cert "$2" --tls-key "$3"); shift 3 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [[ -z "$server" ]]; then
  server="$(dirname "$0")/../build/server/wrenn-local"
fi
if [[ ! -x "$server" ]]; then
  echo "with-wrenn-local: no wrenn-local at '$server' (build it, or pass --server PATH)" >&2
  exit 2
fi

out=$(mktemp)
"$server" --listen 127.0.0.1:0 "${server_args[@]}" >"$out" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out"; }
trap cleanup EXIT

# The server prints its three WRENN_* lines once it listens; wait for them (10 s at most).
for _ in $(seq 1 200); do
  [[ $(grep -c '^WRENN_' "$out" 2>/dev/null || true) -ge 3 ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "with-wrenn-local: the server exited early" >&2; exit 2; }
  sleep 0.05
done
if [[ $(grep -c '^WRENN_' "$out" || true) -lt 3 ]]; then
  echo "with-wrenn-local: the server did not announce itself within 10 s" >&2
  exit 2
fi
export WRENN_BASE_URL WRENN_API_KEY WRENN_PROXY_DOMAIN
WRENN_BASE_URL=$(sed -n 's/^WRENN_BASE_URL=//p' "$out")
WRENN_API_KEY=$(sed -n 's/^WRENN_API_KEY=//p' "$out")
WRENN_PROXY_DOMAIN=$(sed -n 's/^WRENN_PROXY_DOMAIN=//p' "$out")
"$@"
