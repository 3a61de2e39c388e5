#!/usr/bin/env bash
# Builds Airlock's English NER model (rules/pii-names.yaml reads Latin-script text with it) into models/english-ner/:
# trains scripts/ner/english/train.py (an averaged perceptron, about a minute on 2 cores) on synthetic sentences made
# from faker==40.63.0 (PyPI wheel, MIT, sha256-pinned) and on ../shared/eval/pii/presidio-synth-dev.jsonl (MIT,
# sha256-pinned), with Debian's wamerican word list (the `wamerican` package) as dictionary features. Nothing is
# committed: the weights come from these pinned inputs. Idempotent: does nothing when the model's files are present
# and were built from the same inputs and scripts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${AIRLOCK_ENGLISH_NER_DIR:-$ROOT/models/english-ner}"
EVAL="${AIRLOCK_EVAL_DIR:-$ROOT/../shared/eval}"
DEV="$EVAL/pii/presidio-synth-dev.jsonl"
WORDS="${AIRLOCK_WORDS_FILE:-/usr/share/dict/american-english}"
PACKAGE="faker==40.63.0"
SHA_WHEEL="36627c20b575b4138f54b6c21f8703e9ab122fd487aca11319beec2aa6ca7232"
SHA_DEV="060a8efb3f0424ee9c71af39cad2f78a52a176236147f2abec3fd0431d283572"
SHA_WORDS="9f513f1ceadb6a01c5485b7dbdfd5118dc66cd70b59cae2851292112d4066a32"
PYTHON="${PYTHON:-python3}"
FILES=(model.json weights.f32 first-names.txt last-names.txt words-lower.txt words-proper.txt check.json)

check() { # FILE SHA NAME
    if ! echo "$2  $1" | sha256sum --check --status; then
        echo "fetch-english-ner: checksum mismatch for $3 ($1; expected $2)" >&2
        exit 1
    fi
}
[[ -f "$DEV" ]] || { echo "fetch-english-ner: $DEV is missing (set AIRLOCK_EVAL_DIR)" >&2; exit 1; }
[[ -f "$WORDS" ]] || { echo "fetch-english-ner: $WORDS is missing (apt-get install wamerican)" >&2; exit 1; }
check "$DEV" "$SHA_DEV" "the training file"
check "$WORDS" "$SHA_WORDS" "the word list"
inputs="$( (echo "$SHA_WHEEL $SHA_DEV $SHA_WORDS"; cat "$ROOT"/scripts/ner/english/{train,perceptron,make_synthetic}.py) \
    | sha256sum | cut -d' ' -f1)"
present=1
for f in "${FILES[@]}"; do [[ -f "$DEST/$f" ]] || present=0; done
if [[ $present == 1 && "$(cat "$DEST/inputs.sha256" 2>/dev/null)" == "$inputs" ]]; then
    echo "fetch-english-ner: $DEST is present and built from the pinned inputs"
    exit 0
fi
"$PYTHON" -c "import numpy" 2>/dev/null || { echo "fetch-english-ner: needs numpy (apt-get install python3-numpy)" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "fetch-english-ner: downloading $PACKAGE"
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$WORK" "$PACKAGE"
WHEEL="$(ls "$WORK"/faker-40.63.0-py3-none-any.whl)"
check "$WHEEL" "$SHA_WHEEL" "$PACKAGE"
"$PYTHON" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$WHEEL" "$WORK/faker"
echo "fetch-english-ner: training (about a minute)"
rm -rf "$DEST.part"
"$PYTHON" "$ROOT/scripts/ner/english/train.py" --faker "$WORK/faker" --words "$WORDS" --dev "$DEV" --out "$DEST.part" \
    2> "$WORK/train.log" || { cat "$WORK/train.log" >&2; exit 1; }
echo "$inputs" > "$DEST.part/inputs.sha256"
rm -rf "$DEST"
mv "$DEST.part" "$DEST"
echo "fetch-english-ner: trained the English NER model into $DEST"
