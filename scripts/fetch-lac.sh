#!/usr/bin/env bash
# Fetches Baidu's LAC Chinese lexical-analysis model (BiGRU-CRF; word classes with PER, LOC, ORG and TIME) from the
# PyPI source package LAC==2.1.2 (Apache-2.0) into models/lac-2.1.2/: its tensors (model/) and dictionaries (conf/).
# Only the sdist exists; pip prepares its metadata with setup.py, which needs a setuptools that still has
# pkg_resources, hence the constraint. Idempotent: does nothing when every file is present and the pinned checksum of
# their checksums matches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${AIRLOCK_LAC_DIR:-$ROOT/models/lac-2.1.2}"
PACKAGE="LAC==2.1.2"
SHA_SDIST="22fcde0d5082d2044205ea6f6a7a9cd1f0d63e7b21b2dd5c9c73f27e7c0a3ef1"
SHA_FILES="fc593b7a55d9ef6a988925b4096b9ba1feeb9752b28bace88b542c058ff52474"
PYTHON="${PYTHON:-python3}"
FILES=(conf/q2b.dic conf/small_seg.dic conf/tag.dic conf/word.dic model/crfw model/word_emb)
for i in 0 1 2 3 4; do FILES+=("model/fc_$i.w_0" "model/fc_$i.b_0"); done
for i in 0 1 2 3; do FILES+=("model/gru_$i.w_0" "model/gru_$i.b_0"); done

files_checksum() { (cd "$DEST" && sha256sum "${FILES[@]}" 2>/dev/null | sha256sum | cut -d' ' -f1); }
verify() {
    for f in "${FILES[@]}"; do [[ -f "$DEST/$f" ]] || return 1; done
    [[ "$(files_checksum)" == "$SHA_FILES" ]]
}

if verify; then
    echo "fetch-lac: $DEST is present and verified"
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "fetch-lac: downloading $PACKAGE"
echo 'setuptools<70' > "$WORK/constraints.txt"
PIP_CONSTRAINT="$WORK/constraints.txt" "$PYTHON" -m pip download --quiet --no-deps --no-binary=:all: \
    --dest "$WORK" "$PACKAGE"
SDIST="$(ls "$WORK"/[Ll][Aa][Cc]-2.1.2.tar.gz)"
if ! echo "$SHA_SDIST  $SDIST" | sha256sum --check --status; then
    echo "fetch-lac: checksum mismatch for $SDIST (expected $SHA_SDIST)" >&2
    exit 1
fi
mkdir -p "$DEST/conf" "$DEST/model"
"$PYTHON" - "$SDIST" "$DEST" "${FILES[@]}" <<'PY'
import os, shutil, sys, tarfile
sdist, dest, files = sys.argv[1], sys.argv[2], sys.argv[3:]
with tarfile.open(sdist) as archive:
    for name in files:
        member = archive.getmember("LAC-2.1.2/LAC/lac_model/" + name)
        tmp = os.path.join(dest, name + ".part")
        with archive.extractfile(member) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, os.path.join(dest, name))
PY
if ! verify; then
    echo "fetch-lac: checksum mismatch in $DEST (expected $SHA_FILES, got $(files_checksum))" >&2
    exit 1
fi
echo "fetch-lac: installed LAC 2.1.2 into $DEST"
