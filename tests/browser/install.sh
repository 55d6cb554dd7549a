#!/usr/bin/env bash
# Installs what the browser tests need, only what is missing: Debian's Chromium and chromedriver, and the
# Python packages in requirements.txt. Safe to run again; scripts/test calls it before the browser tests.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet; an install that fails on a stale list retries after an update.
    if ! $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; then
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

python3 -m pip install --quiet --disable-pip-version-check -r requirements.txt
# axe-selenium-python 3 bundles axe-core 4.10 (2.x has 3.1, without nested-interactive); it is pure Python and
# declares Python 3.12 only because its project does, so it is installed on older Pythons without that check.
python3 -m pip install --quiet --disable-pip-version-check --no-deps --ignore-requires-python "axe-selenium-python>=3"
echo "browser tests: $(chromium --version 2>/dev/null | head -1); $(chromedriver --version | head -1)"
