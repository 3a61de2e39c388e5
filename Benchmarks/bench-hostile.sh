#!/usr/bin/env bash
# Hostile input against a release Airlock (default rules, cache off), /healthz polled every 20 ms on a new connection
# throughout: a 1 MiB prompt of ~45,000 e-mail addresses alone and 8 at once (some may be shed with 429), then three
# ~50 MB streamed answers from an emulator that sends as fast as it can; with the rules on and off. Prints figures (the
# end-to-end time, statuses, health latencies, stream throughput); a benchmark, not a test: it asserts nothing.
#   BIN (.build/release), BENCH_STREAM_TOKENS (190000: about 50 MB of SSE per answer).
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
TOKENS="${BENCH_STREAM_TOKENS:-190000}"
bench_need

REDIS_URL=none
emu_port=$(free_port)
start_emulator "$emu_port" --tokens-per-second 0 --answer-tokens "$TOKENS"
echo "bench-hostile: $(nproc) cores; emulator answers ${TOKENS} tokens unless max_tokens says less, unpaced."
for rules in on off; do
    port=$(free_port)
    dir="$PWD/rules"
    [[ $rules == off ]] && dir=off
    AIRLOCK_MAX_REQUEST_BYTES=2MiB start_airlock "rules-$rules" "$port" "$emu_port" "$dir"
    echo
    echo "== Airlock, rules $rules =="
    in_fg python3 -u Benchmarks/hostile.py burst "http://127.0.0.1:$port"
done
