#!/usr/bin/env bash
# Named-entity benchmark: LAC (Chinese) on a 2 KB prompt, one thread, release build. A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${SCRATCH:-.build}"
swift build -c release --scratch-path "$SCRATCH" --product NERBenchmark >&2
bash scripts/fetch-lac.sh >&2
bash scripts/fetch-english-ner.sh >&2
"$SCRATCH/release/NERBenchmark" "${1:-models/lac-2.1.2}" "${2:-models/english-ner}"
