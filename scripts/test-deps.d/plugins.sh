#!/usr/bin/env bash
# Nagios plugin tests (issue #11): Debian's monitoring-plugins, the reference set the tests run
# for real (check_dummy, check_tcp, check_http/check_curl, check_disk, check_procs, check_load).
set -euo pipefail
if [ -x /usr/lib/nagios/plugins/check_dummy ]; then
  exit 0
fi
echo "installing monitoring-plugins (Debian packages) for the Nagios plugin tests"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO flock /tmp/lookout-apt.lock apt-get update -q
$SUDO flock /tmp/lookout-apt.lock env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends monitoring-plugins
