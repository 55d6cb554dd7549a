#!/usr/bin/env bash
# Installs what the external tests need beyond Python packages, only what is missing: a real Prometheus
# Alertmanager (Debian's prometheus-alertmanager, whose binary is /usr/bin/prometheus-alertmanager). Safe to run
# again; scripts/test calls it before the external tests. The Python clients are in requirements.txt.
set -euo pipefail

if ! command -v alertmanager >/dev/null 2>&1 && ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    echo "installing prometheus-alertmanager"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet; an install that fails on a stale list retries after an update.
    if ! $sudo apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null 2>&1; then
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
    fi
fi

am="$(command -v alertmanager || command -v prometheus-alertmanager)"
echo "external tests: $("$am" --version 2>&1 | head -1)"
