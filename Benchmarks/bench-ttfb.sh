#!/usr/bin/env bash
# `make bench-ttfb`: time to first byte and to first answer text of a streamed chat answer, through Airlock with
# inspection off, with the regex rules only, and with the default rules (regex + semantic), beside qwen-emulator
# directly. One request at a time over a persistent connection per path, after a warm-up; the paths take turns
# request by request, so background load falls on all of them alike. Every prompt carries an e-mail address (so
# tokenization is active) and a counter (so no two are identical). Budget: inspection adds ≤ 5 ms to the first
# answer text at p50. A benchmark, not a test: it asserts nothing.
#   BENCH_REQUESTS (200) per path, BENCH_WARMUP (10) per path, BIN (.build/release),
#   BENCH_TOKENS_PER_SECOND (50), BENCH_FIRST_BYTE_MS (20), BENCH_ANSWER_TOKENS (30): the emulator's pace.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
REQUESTS="${BENCH_REQUESTS:-200}"
WARMUP="${BENCH_WARMUP:-10}"
TPS="${BENCH_TOKENS_PER_SECOND:-50}"
FIRST_BYTE_MS="${BENCH_FIRST_BYTE_MS:-20}"
ANSWER_TOKENS="${BENCH_ANSWER_TOKENS:-30}"
bench_need

start_redis
emu_port=$(free_port)
start_emulator "$emu_port" --tokens-per-second "$TPS" --first-byte-latency-ms "$FIRST_BYTE_MS" \
    --answer-tokens "$ANSWER_TOKENS"
start_rule_configurations "$emu_port"
off_port=$OFF_PORT; regex_port=$REGEX_PORT; on_port=$ON_PORT

echo "Streamed time to first byte: $REQUESTS sequential requests per path after $WARMUP warm-up, emulator at" \
    "$TPS tokens/s, ${FIRST_BYTE_MS} ms to its first byte, $ANSWER_TOKENS-token answers; $(nproc) cores."
echo "Regex-only rules: a copy of rules/ with $SEMANTIC_OFF semantic rule(s) set to enabled: false."
echo

in_fg python3 - "$REQUESTS" "$WARMUP" \
    "emulator direct=$emu_port=/compatible-mode/v1/chat/completions" \
    "Airlock, rules off=$off_port=/v1/chat/completions" \
    "Airlock, regex rules only=$regex_port=/v1/chat/completions" \
    "Airlock, default rules=$on_port=/v1/chat/completions" <<'PY'
import http.client, json, math, sys, time

requests, warmup = int(sys.argv[1]), int(sys.argv[2])
paths = []
for spec in sys.argv[3:]:
    label, port, path = spec.split("=", 2)
    paths.append({"label": label, "port": int(port), "path": path, "conn": None,
                  "first_byte": [], "first_content": [], "total": [], "errors": 0})

def connection(p):
    if p["conn"] is None:
        p["conn"] = http.client.HTTPConnection("127.0.0.1", p["port"], timeout=30)
    return p["conn"]

def content_in(event):
    for line in event.split(b"\n"):
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip()
        if not data or data == b"[DONE]":
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            continue
        for choice in chunk.get("choices") or []:
            if ((choice or {}).get("delta") or {}).get("content"):
                return True
    return False

def one(p, counter):
    body = json.dumps({
        "model": "qwen-plus", "stream": True, "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": f"Hi, I am jane.doe{counter}@example.com. What is the boiling point of "
                                        f"water at sea level, and why does it drop in the mountains? (#{counter})"},
        ]}).encode()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer bench-key", "Accept": "text/event-stream"}
    conn = connection(p)
    started = time.perf_counter()
    try:
        conn.request("POST", p["path"], body=body, headers=headers)
        response = conn.getresponse()
        first_byte = first_content = None
        pending = b""
        while True:
            data = response.read1(65536)
            if not data:
                break
            now = time.perf_counter()
            if first_byte is None:
                first_byte = now
            if first_content is None:
                pending = (pending + data).replace(b"\r\n", b"\n")
                while first_content is None and b"\n\n" in pending:
                    event, pending = pending.split(b"\n\n", 1)
                    if content_in(event):
                        first_content = now
        finished = time.perf_counter()
        if response.status != 200 or first_content is None:
            raise RuntimeError(f"status {response.status}, answer text: {first_content is not None}")
    except Exception as error:
        p["errors"] += 1
        if p["errors"] <= 3:
            print(f"{p['label']}: request failed: {error}", file=sys.stderr)
        if p["conn"] is not None:
            p["conn"].close()
        p["conn"] = None
        return None
    return ((first_byte - started) * 1000, (first_content - started) * 1000, (finished - started) * 1000)

counter = 0
for _ in range(warmup):
    for p in paths:
        counter += 1
        one(p, counter)
for p in paths:
    p["errors"] = 0
for _ in range(requests):
    for p in paths:  # the paths take turns, so a busy moment on the machine is shared
        counter += 1
        result = one(p, counter)
        if result:
            for key, value in zip(("first_byte", "first_content", "total"), result):
                p[key].append(value)

def pct(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]  # nearest rank

print(f"{'path':<28}{'first byte':>22}{'first content':>22}{'total':>10}{'errors':>8}")
print(f"{'':<28}{'p50 ms':>11}{'p99 ms':>11}{'p50 ms':>11}{'p99 ms':>11}{'p50 ms':>10}{'':>8}")
for p in paths:
    print(f"{p['label']:<28}{pct(p['first_byte'], 50):>11.2f}{pct(p['first_byte'], 99):>11.2f}"
          f"{pct(p['first_content'], 50):>11.2f}{pct(p['first_content'], 99):>11.2f}"
          f"{pct(p['total'], 50):>10.1f}{p['errors']:>8}")
direct, off, regex, on = paths
def added(a, b, key):
    return pct(a[key], 50) - pct(b[key], 50)
print()
print(f"inspection adds to first content at p50: {added(on, off, 'first_content'):+.2f} ms (budget ≤ 5 ms); "
      f"to first byte: {added(on, off, 'first_byte'):+.2f} ms   [default rules vs rules off]")
print(f"  regex rules:                           {added(regex, off, 'first_content'):+.2f} ms; "
      f"to first byte: {added(regex, off, 'first_byte'):+.2f} ms   [regex rules only vs rules off]")
print(f"  semantic rules (embedding the prompt): {added(on, regex, 'first_content'):+.2f} ms; "
      f"to first byte: {added(on, regex, 'first_byte'):+.2f} ms   [default rules vs regex rules only]")
print(f"Airlock (rules off) adds to first content at p50: {added(off, direct, 'first_content'):+.2f} ms; "
      f"to first byte: {added(off, direct, 'first_byte'):+.2f} ms   [vs emulator direct]")
print("'default rules' includes the semantic prompt rules: every prompt is embedded before it goes upstream, so their "
      "cost lands on the first byte; 'regex rules only' is the same packs with the semantic rules disabled.")
PY
