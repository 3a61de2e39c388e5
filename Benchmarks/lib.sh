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

# start_airlock NAME PORT EMULATOR_PORT RULES: Airlock on 127.0.0.1:PORT with the cache off, in front of the
# emulator. RULES is a rule directory, or "off" for AIRLOCK_RULES_ENABLED=false. Needs REDIS_URL (start_redis).
start_airlock() {
    local name=$1 port=$2 upstream=$3 rules=$4 enabled=true dir
    dir=$rules
    if [[ $rules == off ]]; then enabled=false; dir="$PWD/rules"; fi
    AIRLOCK_LISTEN="127.0.0.1:$port" AIRLOCK_UPSTREAM_URL="http://127.0.0.1:$upstream/compatible-mode/v1" \
        DASHSCOPE_API_KEY=bench-key AIRLOCK_LOG_LEVEL=warning AIRLOCK_CACHE_ENABLED=false \
        AIRLOCK_REDIS_URL="$REDIS_URL" AIRLOCK_RULES_ENABLED=$enabled AIRLOCK_RULES_DIR="$dir" \
        AIRLOCK_MODEL_DIR="$MODEL_DIR" \
        "$BIN/airlock" serve >"$work/airlock-$name.log" 2>&1 &
    pids+=($!)
    wait_up "http://127.0.0.1:$port/healthz" "$!" "$work/airlock-$name.log"
}

# regex_only_rules DIR: a copy of rules/ in DIR with every semantic rule disabled (an `enabled: false` line at the
# rule's key indentation, replacing one that is there); prints how many. Check the copy with check_rules.
regex_only_rules() {
    local dir=$1
    mkdir -p "$dir"
    cp rules/*.yaml "$dir"/
    [[ -f rules/schema.json ]] && cp rules/schema.json "$dir"/
    python3 - "$dir" <<'PY'
import pathlib, re, sys
KEY = re.compile(r"^( *)(- +)?([A-Za-z_]+)\s*:\s*(.*)$")
def key(line):  # (column where the key starts, whether the line starts a list item, key, value) or None
    found = KEY.match(line.rstrip("\r\n"))
    if not found:
        return None
    return len(found.group(1)) + len(found.group(2) or ""), bool(found.group(2)), found.group(3), found.group(4)
def semantic(value):
    return re.sub(r"\s+#.*$", "", value).strip().strip("'\"") == "semantic"
disabled = 0
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    lines = path.read_text().splitlines(keepends=True)
    position = 0
    while position < len(lines):
        found = key(lines[position])
        if not found or found[2] != "kind" or not semantic(found[3]):
            position += 1
            continue
        column = found[0]
        def ends_rule(line):  # a line indented less than the rule's keys (blank lines and comments never do)
            stripped = line.strip()
            return bool(stripped) and not stripped.startswith("#") and len(line) - len(line.lstrip(" ")) < column
        def starts_rule(line):  # "- key: …" with the key at the rule's column
            k = key(line)
            return bool(k) and k[1] and k[0] == column
        start = position  # back to the rule's "- " line
        while start > 0 and not starts_rule(lines[start]):
            if ends_rule(lines[start - 1]) and not starts_rule(lines[start - 1]):
                break
            start -= 1
        end = position + 1  # forward to the next rule or the end of the list
        while end < len(lines) and not ends_rule(lines[end]):
            end += 1
        existing = [i for i in range(start, end) if (k := key(lines[i])) and k[0] == column and k[2] == "enabled"]
        for i in existing:
            lines[i] = re.sub(r"enabled\s*:.*", "enabled: false", lines[i].rstrip("\r\n")) + "\n"
        if not existing:
            lines.insert(position + 1, " " * column + "enabled: false\n")
        disabled += 1
        position += 1
    path.write_text("".join(lines))
print(disabled)
PY
}

# check_rules DIR: `airlock rules check DIR`, its verdict on stderr; exits when the directory does not load.
check_rules() {
    if ! "$BIN/airlock" rules check "$1" >"$work/rules-check.txt" 2>&1; then
        echo "$1 does not load:" >&2
        cat "$work/rules-check.txt" >&2
        exit 1
    fi
}
