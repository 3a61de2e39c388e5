# Shared helpers for bench-proxy.sh and bench-ttfb.sh; sourced from the repository root, never run on its own.
# Sourcing it sets BIN (${BIN:-.build/release}), makes a work directory ($work) and installs a trap that stops every
# process started through these helpers (TERM, then KILL after a grace period) and removes $work.

BIN="${BIN:-.build/release}"
MODEL_DIR="${AIRLOCK_MODEL_DIR:-$PWD/models/all-MiniLM-L6-v2}"
work=$(mktemp -d)
pids=()

bench_cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_fg COMMAND…: run COMMAND to completion as a child the trap knows, so that a signal to this script interrupts
# the wait and stops it too (bash would otherwise run the trap only after a foreground command ends).
in_fg() {
    "$@" <&0 &
    local p=$! rc=0
    pids+=("$p")
    wait "$p" || rc=$?
    unset 'pids[-1]'
    return "$rc"
}

bench_need() { # the binaries and the model a run needs
    local b
    for b in airlock qwen-emulator; do
        [[ -x "$BIN/$b" ]] || { echo "$(basename "$0"): no $BIN/$b; run \`make build\` (or set BIN)" >&2; exit 1; }
    done
    [[ -f "$MODEL_DIR/model.safetensors" ]] \
        || { echo "$(basename "$0"): no model in $MODEL_DIR; run \`make models\` first" >&2; exit 1; }
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_up URL PID LOG: until URL answers; fails (with the log's tail) when PID exits or after 60 s.
wait_up() {
    for _ in $(seq 600); do
        curl -s -o /dev/null "$1" && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    echo "$1 did not come up; last lines of $3:" >&2
    tail -n 20 "$3" >&2 || true
    exit 1
}

# start_redis: a throwaway redis-server on a free port (no persistence); sets REDIS_URL.
start_redis() {
    local port
    port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize no --dir "$work" \
        --loglevel warning >"$work/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 || { echo "redis-server did not come up" >&2; exit 1; }
    REDIS_URL="redis://127.0.0.1:$port/0"
}

# start_emulator PORT [OPTIONS…]: qwen-emulator on 127.0.0.1:PORT.
start_emulator() {
    local port=$1
    shift
    "$BIN/qwen-emulator" --listen "127.0.0.1:$port" --log-level warning "$@" >"$work/emulator.log" 2>&1 &
    pids+=($!)
    wait_up "http://127.0.0.1:$port/compatible-mode/v1/models" "$!" "$work/emulator.log"
}

# start_airlock NAME PORT EMULATOR_PORT RULES [ACCOUNTING]: Airlock on 127.0.0.1:PORT with the cache off, in front of
# the emulator. RULES is a rule directory, or "off" for AIRLOCK_RULES_ENABLED=false. ACCOUNTING (default true): usage
# accounting on, every answer priced at the price table's International rates; false turns it off. Needs REDIS_URL
# (start_redis).
start_airlock() {
    local name=$1 port=$2 upstream=$3 rules=$4 accounting=${5:-true} enabled=true dir
    dir=$rules
    if [[ $rules == off ]]; then enabled=false; dir="$PWD/rules"; fi
    AIRLOCK_LISTEN="127.0.0.1:$port" AIRLOCK_UPSTREAM_URL="http://127.0.0.1:$upstream/compatible-mode/v1" \
        DASHSCOPE_API_KEY=bench-key AIRLOCK_LOG_LEVEL=warning AIRLOCK_CACHE_ENABLED=false \
        AIRLOCK_REDIS_URL="$REDIS_URL" AIRLOCK_RULES_ENABLED=$enabled AIRLOCK_RULES_DIR="$dir" \
        AIRLOCK_MODEL_DIR="$MODEL_DIR" AIRLOCK_RULES_NER_MODEL_DIR="$PWD/models/lac-2.1.2" \
        AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR="$PWD/models/english-ner" \
        AIRLOCK_PRICING_ENABLED="$accounting" \
        AIRLOCK_PRICING_FILE="$PWD/prices/qwen.yaml" AIRLOCK_PRICING_REGION=international \
        "$BIN/airlock" serve >"$work/airlock-$name.log" 2>&1 &
    pids+=($!)
    wait_up "http://127.0.0.1:$port/healthz" "$!" "$work/airlock-$name.log"
}

# rules_without DIR KIND…: a copy of rules/ in DIR with every enabled rule of the given kinds disabled; prints how
# many. Check the copy with check_rules.
rules_without() {
    local dir=$1
    shift
    mkdir -p "$dir"
    cp rules/* "$dir"/
    python3 - "$dir" "$@" <<'PY'
import pathlib, sys, yaml
disabled = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    pack = yaml.safe_load(path.read_text())
    for rule in pack.get("rules", []):
        if rule.get("kind") in sys.argv[2:] and rule.get("enabled", True):
            rule["enabled"] = False
            disabled += 1
    path.write_text(yaml.safe_dump(pack, sort_keys=False, allow_unicode=True))
print(disabled)
PY
}

# regex_only_rules DIR: a copy of rules/ in DIR with every semantic and NER rule (the model-based ones) disabled.
regex_only_rules() { rules_without "$1" semantic ner; }

# without_semantic_rules DIR: a copy of rules/ in DIR with only the semantic rules disabled (the NER rules stay on).
without_semantic_rules() { rules_without "$1" semantic; }

# start_rule_configurations EMULATOR_PORT [NAME_PREFIX]: three Airlocks in front of the emulator, with the rules off
# (OFF_PORT), the regex rules only (REGEX_PORT) and the default rules (ON_PORT); sets SEMANTIC_OFF to the number of
# semantic rules disabled for the second.
start_rule_configurations() {
    local upstream=$1
    SEMANTIC_OFF=$(regex_only_rules "$work/rules-regex")
    check_rules "$work/rules-regex"
    check_rules rules
    OFF_PORT=$(free_port); REGEX_PORT=$(free_port); ON_PORT=$(free_port)
    start_airlock rules-off "$OFF_PORT" "$upstream" off
    start_airlock rules-regex "$REGEX_PORT" "$upstream" "$work/rules-regex"
    start_airlock rules-on "$ON_PORT" "$upstream" "$PWD/rules"
}

# check_rules DIR: `airlock rules check DIR`, its verdict on stderr; exits when the directory does not load.
check_rules() {
    if ! "$BIN/airlock" rules check "$1" >"$work/rules-check.txt" 2>&1; then
        echo "$1 does not load:" >&2
        cat "$work/rules-check.txt" >&2
        exit 1
    fi
}
