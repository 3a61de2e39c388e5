#!/usr/bin/env bash
# Inspection benchmarks: 2 KB prompt through the shipped regex packs (budget: 0.2 ms p50), the output scanner, and
# the semantic packs separately. Release build; run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH="${SCRATCH:-.build-inspect}"
swift build -c release --scratch-path "$SCRATCH" --product InspectionBenchmark >&2
"$SCRATCH/release/InspectionBenchmark" "${1:-rules}" "${2:-models/all-MiniLM-L6-v2}"
