#!/usr/bin/env bash
# `make bench-embed`: the native embedding engine's latency, throughput and memory, beside the reference
# (sentence-transformers) on the same texts when it is installed. A benchmark, not a test: run it on an
# otherwise idle machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export AIRLOCK_MODEL_DIR="${AIRLOCK_MODEL_DIR:-$ROOT/models/all-MiniLM-L6-v2}"
ITERATIONS="${ITERATIONS:-300}"
SCRATCH="${SCRATCH_PATH:-.build-embed}"

E5_DIR="${AIRLOCK_E5_DIR:-$ROOT/models/multilingual-e5-small}"
if [[ ! -f "$AIRLOCK_MODEL_DIR/model.safetensors" || ! -f "$E5_DIR/e5-small-q4.bin" ]]; then
    echo "bench-embed: no model in $AIRLOCK_MODEL_DIR or $E5_DIR; run \`make models\` first" >&2
    exit 1
fi

TEXTS="$(mktemp)"
BUILD_LOG="$(mktemp)"
trap 'rm -f "$TEXTS" "$BUILD_LOG"' EXIT
if ! swift build -c release --scratch-path "$SCRATCH" --product EmbedBenchmark >"$BUILD_LOG" 2>&1; then
    cat "$BUILD_LOG" >&2
    exit 1
fi

echo "Embedding benchmark: all-MiniLM-L6-v2, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
printf '| %-26s | %-60s | %-16s |\n' engine metric value
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..28})" "$(printf -- '-%.0s' {1..62})" "$(printf -- '-%.0s' {1..18})"
"$SCRATCH/release/EmbedBenchmark" --model "$AIRLOCK_MODEL_DIR" --iterations "$ITERATIONS" --texts-out "$TEXTS"

if python3 -c 'import sentence_transformers, torch' 2>/dev/null; then
    python3 scripts/embeddings/bench_reference.py "$TEXTS" "$ITERATIONS" 2>/dev/null
else
    echo
    echo "(sentence-transformers is not installed: no reference figures; pip install sentence-transformers)"
fi
echo
echo "Budget (design §6): ≤ 8 ms p50 for 16 tokens on one thread; batch throughput at least the reference's."

echo
echo "multilingual-e5-small (the cache's model for other scripts than Latin), same machine:"
echo
printf '| %-26s | %-60s | %-16s |\n' engine metric value
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..28})" "$(printf -- '-%.0s' {1..62})" "$(printf -- '-%.0s' {1..18})"
"$SCRATCH/release/EmbedBenchmark" --model "$E5_DIR" --iterations "$ITERATIONS"
echo
echo "Budget (issue #13): ≤ 15 ms p50 for a 16-token text on one thread; ≤ 350 MB resident with both models."
