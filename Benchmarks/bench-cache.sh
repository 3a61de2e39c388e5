#!/usr/bin/env bash
# Cache benchmark: lookup latency at 10k and 100k entries in one namespace, resident memory at 100k.
# Starts a throwaway redis-server on a unix socket and removes it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build}"
swift build -c release --scratch-path "$scratch" --product CacheBenchmark
dir="$(mktemp -d)"
redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save "" --appendonly no --dir "$dir" \
    --loglevel warning &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -S "$dir/redis.sock" ] && break; sleep 0.05; done
"$scratch/release/CacheBenchmark" "unix://$dir/redis.sock"
