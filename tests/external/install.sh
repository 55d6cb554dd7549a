#!/usr/bin/env bash
# Installs what the external tests need beyond Python packages, only what is missing: a real Prometheus
# Alertmanager (Debian's prometheus-alertmanager, whose binary is /usr/bin/prometheus-alertmanager), and
# unshare, nsenter (util-linux) and ip (iproute2), with which a server under generated input runs in a network
# namespace of its own, and openssl, which makes the notification tests' SMTP relay certificate. Safe to run
# again; scripts/test calls it before the external tests. The Python clients are in requirements.txt.
set -euo pipefail

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

install_package() {
    echo "installing $1"
    # A fresh machine may have no package lists yet; an install that fails on a stale list retries after an update.
    if ! $sudo apt-get install -y -qq --no-install-recommends "$1" >/dev/null 2>&1; then
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends "$1" >/dev/null
    fi
}

if ! command -v alertmanager >/dev/null 2>&1 && ! command -v prometheus-alertmanager >/dev/null 2>&1; then
    install_package prometheus-alertmanager
fi
# A real Prometheus scrapes Belay's /metrics and promtool checks docs/prometheus/belay-rules.yml (test_prometheus.py).
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || install_package prometheus
command -v unshare >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1 || install_package util-linux
command -v ip >/dev/null 2>&1 || install_package iproute2
# openssl makes the SMTP relay's self-signed certificate (notify_peers.py).
command -v openssl >/dev/null 2>&1 || install_package openssl

am="$(command -v alertmanager || command -v prometheus-alertmanager)"
echo "external tests: $("$am" --version 2>&1 | head -1)"
