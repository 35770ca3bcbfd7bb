#!/usr/bin/env bash
# Livestatus (issue 14): Debian's Monitoring::Livestatus, the Perl client Thruk's backend is
# built on, queries the site's socket in tests/livestatus (they are skipped without it), and
# its TCP port over TLS (IO::Socket::SSL).
set -euo pipefail
if perl -MMonitoring::Livestatus -MIO::Socket::SSL -e 1 2>/dev/null; then
  exit 0
fi
echo "installing libmonitoring-livestatus-perl (Debian package) for the Livestatus tests"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO flock /tmp/lookout-apt.lock apt-get update -q
$SUDO flock /tmp/lookout-apt.lock env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends libmonitoring-livestatus-perl \
  libio-socket-ssl-perl
