#!/usr/bin/env bash
# Nagios import (issue 11): Debian's nagios4 is the oracle: its sample configuration is imported
# and `nagios4 -v` counts the objects our importer must find. The sample's command definitions
# for the plugins (cfg_dir=/etc/nagios-plugins/config) come with monitoring-plugins.
set -euo pipefail
if [ -x /usr/sbin/nagios4 ] && [ -f /etc/nagios4/nagios.cfg ] && [ -d /etc/nagios-plugins/config ]; then
  exit 0
fi
echo "installing nagios4 for the Nagios import tests"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO flock /tmp/lookout-apt.lock apt-get update -q
$SUDO flock /tmp/lookout-apt.lock env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends nagios4-core nagios4-common monitoring-plugins
