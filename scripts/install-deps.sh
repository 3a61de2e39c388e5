#!/usr/bin/env bash
# Installs the Debian packages and Python packages Airlock needs, only when something is missing.
set -euo pipefail
missing=()
for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The end-to-end tests drive Airlock with the official OpenAI Python SDK.
if ! python3 -c "import openai, pytest" 2>/dev/null; then
    echo "installing Python packages: openai pytest"
    python3 -m pip install -q --disable-pip-version-check openai pytest
fi
