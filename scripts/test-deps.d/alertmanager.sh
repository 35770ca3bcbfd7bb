#!/usr/bin/env bash
# Alertmanager integration (issue 14): Debian's prometheus-alertmanager; the tests start their own
# instance on free ports with a temporary configuration and storage (skipped without it).
set -euo pipefail
if command -v prometheus-alertmanager >/dev/null || [ -x /usr/bin/prometheus-alertmanager ]; then
  exit 0
fi
echo "installing prometheus-alertmanager (Debian package) for the Alertmanager tests"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO flock /tmp/lookout-apt.lock apt-get update -q
$SUDO flock /tmp/lookout-apt.lock env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends prometheus-alertmanager
# The package starts a system service; the tests run their own instance on free ports.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus-alertmanager 2>/dev/null; then
  $SUDO systemctl stop prometheus-alertmanager || true
fi
