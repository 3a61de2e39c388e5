#!/usr/bin/env bash
# `make bench-proxy`: wrk against qwen-emulator directly and through Airlock (non-streaming), at 1 and 32 connections,
# with four Airlock configurations on the same emulator: rules and usage accounting off (the bare proxy core), rules
# off (AIRLOCK_RULES_ENABLED=false; every answer's usage read and priced at the International rates),
# the regex rules only (a copy of rules/ with the semantic and NER rules disabled; the refusal pack's phrase rules and
# refusal-lexical, which need no model, stay on), and the default rules (regex, lexical, semantic and NER: every prompt
# is embedded, every prompt with Chinese text read by LAC and every one with Latin letters by the English model; every ok answer is judged for refusal by the phrase rules and
# refusal-lexical, no embedding). Prints requests/s and p50/p99 per path and the latency each adds on a miss (the cache
# is off: every request goes upstream); then, at one connection, what the default rules add to Chinese prompts (a
# short one with a name and an address, and 2 KB) over the regex rules. Every prompt carries a counter, so no two are
# identical. BENCH_DURATION (10s) per run, BIN (.build/release).
# A benchmark, not a test: it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source Benchmarks/lib.sh
DURATION="${BENCH_DURATION:-10s}"
bench_need

start_redis
emu_port=$(free_port)
start_emulator "$emu_port"
start_rule_configurations "$emu_port"
off_port=$OFF_PORT; regex_port=$REGEX_PORT; on_port=$ON_PORT
# Rules off and usage accounting off: what reading, pricing and counting every answer's usage costs.
bare_port=$(free_port)
start_airlock accounting-off "$bare_port" "$emu_port" off false
# The regex and NER rules (semantic rules off): what the NER rule adds to Chinese prompts, apart from the embedding.
without_semantic_rules "$work/rules-ner" > /dev/null
check_rules "$work/rules-ner"
ner_port=$(free_port)
start_airlock rules-ner "$ner_port" "$emu_port" "$work/rules-ner"

cat > "$work/post.lua" <<'LUA'
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end
local counter = 0
local head = '{"model":"qwen-plus","messages":[{"role":"system","content":"You are a helpful assistant."},'
    .. '{"role":"user","content":"What is the boiling point of water at sea level? (#'
local tail = ')"}],"temperature":0.2}'
request = function()
    counter = counter + 1
    return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer bench-key"},
        head .. (id or 0) .. "-" .. counter .. tail)
end
LUA

# Chinese prompts for the NER rule: one sentence with a name and an address, and about 2 KB of such sentences.
python3 - "$work" <<'PY'
import json, sys
short = "请把合同寄给王建国，地址是杭州市西湖区文三路90号5幢302室，谢谢。"
sentences = ["张伟住在北京市海淀区中关村大街27号，他在腾讯公司工作。", "请把包裹寄到上海市浦东新区张江路1000号，收件人陈建国。",
             "明天下午三点，王小明在广州市天河区体育西路100号等你。", "李娜说她下个月搬到成都市武侯区人民南路四段9号。"]
long, i = "", 0
while len(long.encode()) < 2048:
    long += sentences[i % len(sentences)]
    i += 1
# English prompts for the English model: the same two sizes (the short one is read inline, the long one on the pool).
en_short = "Please send the contract to Margaret Okonkwo at 4821 Willow Creek Road, Springfield, thanks."
en_sentences = ["Please send the signed contract to Margaret Okonkwo at 4821 Willow Creek Road, Springfield. ",
                "Yesterday I spoke with Henrik Lindqvist from Nordic Freight Solutions about the shipment to Oslo. ",
                "Can you draft a polite reminder for Priya Raghunathan about her March invoice? ",
                "The new office is at 17 Rue des Lilas, Lyon; ask Jean-Baptiste Moreau for the keys. "]
en_long, i = "", 0
while len(en_long.encode()) < 2048:
    en_long += en_sentences[i % len(en_sentences)]
    i += 1
for name, text in (("zh-short", short), ("zh-2k", long), ("en-short", en_short), ("en-2k", en_long)):
    head = json.dumps({"model": "qwen-plus", "messages": [{"role": "user", "content": text + "（#"}]},
                      ensure_ascii=False).split('（#"')[0] + "（#"
    with open(f"{sys.argv[1]}/post-{name}.lua", "w") as f:
        f.write("local counter = 0\n")
        f.write("local head = " + json.dumps(head, ensure_ascii=False) + "\n")
        f.write('local tail = "）\\"}],\\"temperature\\":0.2}"\n')
        f.write("request = function()\n    counter = counter + 1\n")
        f.write('    return wrk.format("POST", nil, {["Content-Type"] = "application/json", '
                '["Authorization"] = "Bearer bench-key"}, head .. counter .. tail)\nend\n')
PY

run() { # name url connections threads [script]
    in_fg wrk -t"$4" -c"$3" -d"$DURATION" --latency -s "$work/${5:-post}.lua" "$2" > "$work/$1.txt"
}
declare -A url=(
    [direct]="http://127.0.0.1:$emu_port/compatible-mode/v1/chat/completions"
    [bare]="http://127.0.0.1:$bare_port/v1/chat/completions"
    [off]="http://127.0.0.1:$off_port/v1/chat/completions"
    [regex]="http://127.0.0.1:$regex_port/v1/chat/completions"
    [on]="http://127.0.0.1:$on_port/v1/chat/completions"
    [ner]="http://127.0.0.1:$ner_port/v1/chat/completions"
)
order=(direct bare off regex on)
# Warm every path (connection pools, the embedder) before measuring.
for path in "${order[@]}"; do in_fg wrk -t1 -c4 -d2s -s "$work/post.lua" "${url[$path]}" >/dev/null; done
for conns in 1 32; do
    threads=$(( conns == 1 ? 1 : 2 ))
    for path in "${order[@]}"; do run "$path-$conns" "${url[$path]}" "$conns" "$threads"; done
done
for prompt in zh-short zh-2k en-short en-2k; do
    for path in regex ner on; do
        in_fg wrk -t1 -c2 -d2s -s "$work/post-$prompt.lua" "${url[$path]}" >/dev/null
        run "$path-$prompt" "${url[$path]}" 1 1 "post-$prompt"
    done
done

echo "wrk, non-streaming chat completions, $DURATION per run, $(nproc) cores; cache off (every request goes upstream)."
echo "Regex rules only: a copy of rules/ with $SEMANTIC_OFF semantic and NER rule(s) set to enabled: false (refusal-lexical stays on)."
echo
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
labels = {"direct": "emulator direct", "bare": "Airlock, no accounting", "off": "Airlock, rules off",
          "regex": "Airlock, regex rules only", "on": "Airlock, default rules"}
print(f"{'path':<28}{'conns':>6}{'req/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
rows = {}
for conns in (1, 32):
    for path in labels:
        r = parse(f"{path}-{conns}")
        rows[(path, conns)] = r
        print(f"{labels[path]:<28}{conns:>6}{r[0]:>11.0f}{r[1]:>9.3f}{r[2]:>9.3f}{r[3]:>9}")
print()
for path in ("bare", "off", "regex", "on"):
    for conns in (1, 32):
        d, v = rows[("direct", conns)], rows[(path, conns)]
        print(f"{labels[path] + ' adds':<31}at {conns:>2} connection(s): "
              f"p50 {v[1]-d[1]:+.3f} ms, p99 {v[2]-d[2]:+.3f} ms   [vs emulator direct]")
for path, base, what in (("off", "bare", "usage accounting (read, price, count every answer's usage)"),
                         ("regex", "off", "regex and lexical rules (prompt patterns, output patterns, refusal judge)"),
                         ("on", "regex", "semantic rules (prompt embedded)"), ("on", "off", "the default rule set")):
    v, b = rows[(path, 1)], rows[(base, 1)]
    print(f"{what} add at 1 connection: p50 {v[1]-b[1]:+.3f} ms   [{labels[path]} vs {labels[base]}]")
print()
for prompt, what in (("zh-short", "a one-sentence Chinese prompt with a name and an address"),
                     ("zh-2k", "a 2 KB Chinese prompt of names and addresses"),
                     ("en-short", "a one-sentence English prompt with a name and an address"),
                     ("en-2k", "a 2 KB English prompt of names and addresses")):
    v, n, b = parse(f"on-{prompt}"), parse(f"ner-{prompt}"), parse(f"regex-{prompt}")
    print(f"{what}, 1 connection: the NER rule adds p50 {n[1]-b[1]:+.3f} ms, p99 {n[2]-b[2]:+.3f} ms "
          f"[regex + NER vs regex only]; the default rules add p50 {v[1]-b[1]:+.3f} ms, p99 {v[2]-b[2]:+.3f} ms "
          f"[vs regex only; default p50 {v[1]:.3f} ms, {v[3] + n[3]} non-2xx]")
print("budgets: <= 0.3 ms added at p50 with one connection, rules off (the proxy core); usage accounting <= 0.02 ms "
      "(peers, third-party sequential loopback figures: LiteLLM 4.3 ms, Portkey 2.4 ms, Bifrost 0.44 ms)")
PY
