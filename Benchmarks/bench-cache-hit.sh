#!/usr/bin/env bash
# Cache hits end to end through Airlock (embedding included): an exact hit, a semantic hit in English
# (all-MiniLM-L6-v2) and, when models/multilingual-e5-small is present, a semantic hit in Chinese
# (multilingual-e5-small), at 1, 8 and 32 connections, with wrk; then Airlock's resident memory. Real
# redis-server, qwen-emulator, release build. A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release
DURATION="${BENCH_DURATION:-8s}"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "$1 did not come up" >&2; exit 1; }

redis_port=$(free_port); emu_port=$(free_port); air_port=$(free_port)
multilingual="${BENCH_MULTILINGUAL_MODEL_DIR:-$PWD/models/multilingual-e5-small}"
cases="exact semantic"
if [ -f "$multilingual/e5-small-q4.bin" ]; then cases="exact semantic semantic-zh"; else multilingual=off; fi
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly no >/dev/null & pids+=($!)
"$BIN/qwen-emulator" --listen "127.0.0.1:$emu_port" --log-level warning >/dev/null & pids+=($!)
wait_up "http://127.0.0.1:$emu_port/compatible-mode/v1/models"
AIRLOCK_LISTEN="127.0.0.1:$air_port" AIRLOCK_UPSTREAM_URL="http://127.0.0.1:$emu_port/compatible-mode/v1" \
    DASHSCOPE_API_KEY=bench-key AIRLOCK_REDIS_URL="redis://127.0.0.1:$redis_port/0" AIRLOCK_LOG_LEVEL=warning \
    AIRLOCK_MODEL_DIR="$PWD/models/all-MiniLM-L6-v2" AIRLOCK_CACHE_MULTILINGUAL_MODEL_DIR="$multilingual" \
    "$BIN/airlock" serve >/dev/null 2>&1 & pids+=($!)
airlock_pid=$!
wait_up "http://127.0.0.1:$air_port/healthz"
url="http://127.0.0.1:$air_port/v1/chat/completions"
stored='What is the boiling point of water at sea level?'
paraphrase="What's the boiling point of water at sea level?"
stored_zh='花呗的还款日是每个月几号'
paraphrase_zh='花呗还款日是每个月几号'
body() { printf '{"model":"qwen-plus","messages":[{"role":"user","content":"%s"}]}' "$1"; }
for text in "$stored" "$stored_zh"; do
    curl -s -o /dev/null -H 'Content-Type: application/json' -H 'Authorization: Bearer bench' -d "$(body "$text")" "$url"
done
sleep 1
for name in $cases; do
    case "$name" in
        exact) text="$stored" layer=exact ;;
        semantic) text="$paraphrase" layer=semantic ;;
        semantic-zh) text="$paraphrase_zh" layer=semantic ;;
    esac
    check=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -H 'Authorization: Bearer bench' -d "$(body "$text")" "$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-airlock-cache-layer"{print $2}')
    [ "$check" = "$layer" ] || { echo "expected a $layer hit for $name, got '$check'" >&2; exit 1; }
    cat > "$work/$name.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
wrk.body = '$(body "$text" | sed "s/'/\\\\'/g")'
LUA
done
echo "Cache hits through Airlock (release; 2 cores shared by wrk, Airlock, Redis; multilingual model: $multilingual)"
printf '%-12s %6s %10s %9s %9s\n' hit conns req/s p50_ms p99_ms
for name in $cases; do
    for conns in 1 8 32; do
        threads=$(( conns < 2 ? 1 : 2 ))
        wrk -t"$threads" -c"$conns" -d"$DURATION" --latency -s "$work/$name.lua" "$url" > "$work/out.txt"
        python3 - "$work/out.txt" "$name" "$conns" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(s):
    v, u = re.match(r"([\d.]+)(us|ms|s)", s).groups(); return float(v) * {"us": .001, "ms": 1, "s": 1000}[u]
p = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
print(f"{sys.argv[2]:<12} {sys.argv[3]:>6} {rps:>10.0f} {ms(p['50']):>9.3f} {ms(p['99']):>9.3f}")
PY
    done
done
echo "budget at one connection: exact hit <= 1 ms p50, semantic hit <= 10 ms p50"
echo "airlock resident memory after the run: $(awk '/^VmRSS/{printf "%.0f MB", $2/1024}' /proc/$airlock_pid/status)," \
    "peak $(awk '/^VmHWM/{printf "%.0f MB", $2/1024}' /proc/$airlock_pid/status) (budget with both models: 350 MB)"
