#!/usr/bin/env bash
# Installs what the resilience tests need beyond Python's requests and pytest, only what is missing: strace,
# which test_faults.py uses to make the data volume read-only for a running server (Linux refuses
# `mount -o remount,ro` while SQLite holds its files open for writing), and nginx (test_status_mirror.py).
# Safe to run again.
set -euo pipefail

if ! command -v strace >/dev/null 2>&1; then
    echo "installing strace"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    if ! $sudo apt-get install -y -qq --no-install-recommends strace >/dev/null 2>&1; then
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends strace >/dev/null
    fi
fi
# nginx, which test_status_mirror.py runs (unprivileged, from a temporary prefix) to serve the status mirror.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    if ! $sudo apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1; then
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends nginx >/dev/null
    fi
    # The package starts a system nginx on port 80; the test needs none.
    $sudo systemctl disable --now nginx >/dev/null 2>&1 || $sudo service nginx stop >/dev/null 2>&1 || true
fi
echo "resilience tests: $(strace -V | head -1)"
echo "resilience tests: $( (command -v nginx >/dev/null 2>&1 && nginx -v 2>&1) || /usr/sbin/nginx -v 2>&1)"
