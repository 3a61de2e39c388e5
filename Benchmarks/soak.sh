#!/usr/bin/env bash
# Soak: mixed normal and hostile traffic against a release Airlock (default rules, cache on, a local Redis) for
# SOAK_SECONDS (600), with /healthz polled every 100 ms and the process's RSS sampled every 5 s. Normal: short English
# and Chinese questions, some streamed. Hostile: 256 KiB prompts of e-mail addresses, 5,000-byte and newline-forging
# model names, 5,000 messages, 100,000-deep JSON, a fresh cache namespace per request (seed, temperature), upstream
# garbage and cut streams, and a client that sends half a request head and goes quiet. Prints requests by kind and
# status, RSS after warm-up and at the end, and whether the process is still up. A benchmark, not a test.
#   BIN (.build/release), SOAK_SECONDS (600), SOAK_INDEX_BYTES (8MiB: a small index bound, so the soak reaches it).
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
SECONDS_TO_RUN="${SOAK_SECONDS:-600}"
bench_need

start_redis
emu_port=$(free_port)
start_emulator "$emu_port" --answer-tokens 40
port=$(free_port)
AIRLOCK_LISTEN="127.0.0.1:$port" AIRLOCK_UPSTREAM_URL="http://127.0.0.1:$emu_port/compatible-mode/v1" \
    DASHSCOPE_API_KEY=bench-key AIRLOCK_LOG_LEVEL=warning AIRLOCK_REDIS_URL="$REDIS_URL" \
    AIRLOCK_RULES_DIR="$PWD/rules" AIRLOCK_MODEL_DIR="$MODEL_DIR" AIRLOCK_CLIENT_IDLE_TIMEOUT_MS=5000 \
    AIRLOCK_CACHE_MAX_INDEX_BYTES="${SOAK_INDEX_BYTES:-8MiB}" \
    "$BIN/airlock" serve >"$work/airlock-soak.log" 2>&1 &
airlock_pid=$!
pids+=("$airlock_pid")
wait_up "http://127.0.0.1:$port/healthz" "$airlock_pid" "$work/airlock-soak.log"
echo "soak: $(nproc) cores, ${SECONDS_TO_RUN} s, Airlock pid $airlock_pid (cache on, index bound ${SOAK_INDEX_BYTES:-8MiB})"
rc=0
in_fg python3 -u Benchmarks/hostile.py soak "http://127.0.0.1:$port" "$SECONDS_TO_RUN" "$airlock_pid" || rc=$?
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^airlock_(shed_total|cache_index_bytes|work_pool_admitted)' || true
if grep -q "Program crashed\|Fatal error" "$work/airlock-soak.log"; then
    echo "the Airlock log reports a crash:"; grep -m3 "Program crashed\|Fatal error" "$work/airlock-soak.log"; rc=1
fi
exit "$rc"
