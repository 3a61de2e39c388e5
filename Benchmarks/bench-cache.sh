#!/usr/bin/env bash
# Cache benchmark: lookup latency and this process's resident memory, one namespace, for both index backends in one
# run, at 10k, 100k and 1M entries with vectors spread like real prompts' embeddings: in process (on Debian's
# redis-server) and Redis 8 vector sets (on the Redis 8 that scripts/fetch-redis8.sh fetches); then
# the vector sets again at 10k and 100k with uniformly random vectors, HNSW's worst case. Embedding excluded (vectors
# handed in). Starts throwaway redis-servers on unix sockets and removes them afterwards. CACHE_BENCH_SIZES_LOCAL and
# CACHE_BENCH_SIZES_REDIS override the sizes (for example 10000,100000 on a small machine: 1M entries in process take
# about 2 GB in this process; filling 1M into vector sets takes about 45 minutes on 2 cores and 2 GB in Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build}"
swift build -c release --scratch-path "$scratch" --product CacheBenchmark
bash scripts/fetch-redis8.sh >&2
pids=()
dirs=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "${dirs[@]}"' EXIT
start_redis() { # BINARY: prints the unix socket URL
    local dir
    dir="$(mktemp -d)"
    dirs+=("$dir")
    "$1" --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --save "" --appendonly no --dir "$dir" \
        --loglevel warning >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$dir/redis.sock" ] && break; sleep 0.05; done
    echo "unix://$dir/redis.sock"
}
local_url=$(start_redis redis-server)
"$scratch/release/CacheBenchmark" "$local_url" local "${CACHE_BENCH_SIZES_LOCAL:-10000,100000,1000000}"
redis8_url=$(start_redis .tools/redis-8.2.3/redis-server)
"$scratch/release/CacheBenchmark" "$redis8_url" redis "${CACHE_BENCH_SIZES_REDIS:-10000,100000,1000000}"
redis8_random_url=$(start_redis .tools/redis-8.2.3/redis-server)
"$scratch/release/CacheBenchmark" "$redis8_random_url" redis 10000,100000 random
