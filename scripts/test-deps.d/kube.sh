#!/usr/bin/env bash
# Kubernetes tests (issue #4): a real Prometheus (Debian package) for the PromQL usage source.
set -euo pipefail
if command -v prometheus >/dev/null; then
  exit 0
fi
echo "installing prometheus (Debian package)"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
flock /tmp/lookout-apt.lock $SUDO apt-get update -qq
flock /tmp/lookout-apt.lock env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus
# The package starts a system service; the tests run their own instance on a free port.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl stop prometheus || true
fi
