#!/usr/bin/env bash
# Worker pools (issue 12): Debian's nats-server with JetStream; the tests start their own servers
# (one, a cluster of three, one with accounts, one with TLS) on free ports with temporary stores.
set -euo pipefail
if command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ]; then
  exit 0
fi
echo "installing nats-server (Debian package) for the worker pool tests"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO flock /tmp/lookout-apt.lock apt-get update -q
$SUDO flock /tmp/lookout-apt.lock env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends nats-server
# The package may start a system service on 4222; the tests never use it.
