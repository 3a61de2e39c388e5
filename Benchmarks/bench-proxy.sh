#!/usr/bin/env bash
# `make bench-proxy`: wrk against qwen-emulator directly and through Airlock (non-streaming), at 1 and 32 connections.
# Prints requests/s, p50/p99 for both paths, and the latency Airlock adds on a miss (the cache is off: every request
# goes upstream). A benchmark, not a test: it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release
DURATION="${BENCH_DURATION:-10s}"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$1 did not come up" >&2; exit 1; }

emu_port=$(free_port); air_port=$(free_port)
"$BIN/qwen-emulator" --listen "127.0.0.1:$emu_port" >/dev/null 2>&1 & pids+=($!)
wait_up "http://127.0.0.1:$emu_port/compatible-mode/v1/models"
AIRLOCK_LISTEN="127.0.0.1:$air_port" AIRLOCK_UPSTREAM_URL="http://127.0.0.1:$emu_port/compatible-mode/v1" \
    DASHSCOPE_API_KEY=bench-key AIRLOCK_LOG_LEVEL=warning AIRLOCK_CACHE_ENABLED=false \
    "$BIN/airlock" serve >/dev/null 2>&1 & pids+=($!)
wait_up "http://127.0.0.1:$air_port/healthz"

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
wrk.body = '{"model":"qwen-plus","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the boiling point of water at sea level?"}],"temperature":0.2}'
LUA

run() { # name url connections threads
    wrk -t"$4" -c"$3" -d"$DURATION" --latency -s "$work/post.lua" "$2" > "$work/$1.txt"
}
direct="http://127.0.0.1:$emu_port/compatible-mode/v1/chat/completions"
via="http://127.0.0.1:$air_port/v1/chat/completions"
# Warm both paths (connection pools, caches) before measuring.
wrk -t1 -c4 -d2s -s "$work/post.lua" "$via" >/dev/null
wrk -t1 -c4 -d2s -s "$work/post.lua" "$direct" >/dev/null
run direct-1 "$direct" 1 1
run via-1 "$via" 1 1
run direct-32 "$direct" 32 2
run via-32 "$via" 32 2

python3 - "$work" <<'PY'
import re, sys, os
work = sys.argv[1]
def ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
def parse(name):
    text = open(os.path.join(work, name + ".txt")).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p = {k: ms(v) for k, v in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return rps, p["50"], p["99"], int(errors.group(1)) if errors else 0
print(f"{'path':<22}{'conns':>6}{'req/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
rows = {}
for conns in (1, 32):
    for path in ("direct", "via"):
        r = parse(f"{path}-{conns}")
        rows[(path, conns)] = r
        label = "emulator direct" if path == "direct" else "through Airlock"
        print(f"{label:<22}{conns:>6}{r[0]:>11.0f}{r[1]:>9.3f}{r[2]:>9.3f}{r[3]:>9}")
for conns in (1, 32):
    d, v = rows[("direct", conns)], rows[("via", conns)]
    print(f"Airlock adds at {conns:>2} connection(s): p50 {v[1]-d[1]:+.3f} ms, p99 {v[2]-d[2]:+.3f} ms")
print("budget: <= 0.3 ms added at p50 with one connection "
      "(peers, third-party sequential loopback figures: LiteLLM 4.3 ms, Portkey 2.4 ms, Bifrost 0.44 ms)")
PY
