#!/usr/bin/env bash
# Installs what the resilience tests need beyond Python's requests and pytest, only what is missing: strace,
# which test_faults.py uses to make the data volume read-only for a running server (Linux refuses
# `mount -o remount,ro` while SQLite holds its files open for writing). Safe to run again.
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
echo "resilience tests: $(strace -V | head -1)"
