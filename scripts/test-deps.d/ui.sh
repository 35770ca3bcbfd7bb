#!/usr/bin/env bash
# Web UI browser tests (issue #6): Debian's chromium, driven by Playwright's Python package
# (installed by pip with the "test" extra; `playwright install` is never run: no browser download).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "installing chromium for the web UI browser tests"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO flock /tmp/lookout-apt.lock apt-get update -q
$SUDO flock /tmp/lookout-apt.lock env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
