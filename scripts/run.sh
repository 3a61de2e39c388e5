#!/usr/bin/env bash
# `make run`: serve Airlock on 127.0.0.1:8080 (AIRLOCK_LISTEN overrides), with a local Redis when none is configured,
# and against qwen-emulator when no DASHSCOPE_API_KEY is set.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release
mkdir -p run

if [ -z "${AIRLOCK_REDIS_URL:-}" ]; then
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        echo "airlock: no AIRLOCK_REDIS_URL; starting a local redis-server on 127.0.0.1:6379 (data in run/)"
        redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --dir "$PWD/run" \
            --logfile "$PWD/run/redis.log" --pidfile "$PWD/run/redis.pid" --save "" --appendonly no
        for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
    fi
    export AIRLOCK_REDIS_URL=redis://127.0.0.1:6379/0
fi

emulator_pid=""
cleanup() { [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if [ -z "${DASHSCOPE_API_KEY:-}" ]; then
    port="${QWEN_EMULATOR_PORT:-8081}"
    echo "airlock: DASHSCOPE_API_KEY is not set, so Airlock serves against qwen-emulator on 127.0.0.1:$port,"
    echo "airlock: a local stand-in for Qwen with deterministic answers. Export DASHSCOPE_API_KEY to use Qwen itself."
    "$BIN/qwen-emulator" --listen "127.0.0.1:$port" --tokens-per-second 40 &
    emulator_pid=$!
    export AIRLOCK_UPSTREAM_URL="http://127.0.0.1:$port/compatible-mode/v1"
    export DASHSCOPE_API_KEY="emulator-key"
fi

"$BIN/airlock" serve "$@"
