#!/usr/bin/env bash
# Cache benchmark: lookup latency and this process's resident memory, one namespace, for both index backends in one
# run, at 10k, 100k and 1M entries with vectors spread like real prompts' embeddings: in process (on Debian's
# redis-server) and Redis 8 vector sets (on the Redis 8 that scripts/fetch-redis8.sh fetches); then
# the vector sets again at 10k and 100k with uniformly random vectors, HNSW's worst case. Embedding excluded (vectors
# handed in). Starts throwaway redis-servers on unix sockets and removes them afterwards. CACHE_BENCH_SIZES_LOCAL,
# CACHE_BENCH_SIZES_REDIS and CACHE_BENCH_SIZES_RANDOM override the sizes (for example 10000,100000 on a small
# machine: 1M entries in process take about 2 GB in this process and 3 GB in Redis; filling 1M into vector sets takes
# about 45 minutes on 2 cores and about 4 GB in Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build}"
swift build -c release --scratch-path "$scratch" --product CacheBenchmark
bash scripts/fetch-redis8.sh >&2
pids=()
dirs=()
# Under set -e a failing command ends a trap early: every step here may fail (a server already stopped) and go on.
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "${dirs[@]}"
}
trap cleanup EXIT
start_redis() { # BINARY: sets $url to the unix socket URL (not run in $(…): the trap must see the pid and dir)
    local dir
    dir="$(mktemp -d)"
    dirs+=("$dir")
    "$1" --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save "" --appendonly no --dir "$dir" \
        --loglevel warning >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$dir/redis.sock" ] && break; sleep 0.05; done
    url="unix://$dir/redis.sock"
}
start_redis redis-server
"$scratch/release/CacheBenchmark" "$url" local "${CACHE_BENCH_SIZES_LOCAL:-10000,100000,1000000}"
kill "${pids[-1]}" && wait "${pids[-1]}" || true  # its memory back before the next fills (about 3 GB at 1M)
start_redis .tools/redis-8.2.3/redis-server
"$scratch/release/CacheBenchmark" "$url" redis "${CACHE_BENCH_SIZES_REDIS:-10000,100000,1000000}"
kill "${pids[-1]}" && wait "${pids[-1]}" || true
start_redis .tools/redis-8.2.3/redis-server
"$scratch/release/CacheBenchmark" "$url" redis "${CACHE_BENCH_SIZES_RANDOM:-10000,100000}" random
