#!/usr/bin/env bash
# Lookout's own Kubernetes manifests (issue 12, tests/deploy): kubectl with its built-in
# kustomize builds the overlays (checked, not installed: it comes with the machine's cloud SDK
# or your distribution), nats-server (Debian package) checks the NATS configuration.
set -euo pipefail
if ! command -v kubectl >/dev/null || ! kubectl kustomize --help >/dev/null 2>&1; then
  echo "kubectl with kustomize is needed for tests/deploy (install kubectl >= 1.27)" >&2
  exit 1
fi
if command -v nats-server >/dev/null; then
  exit 0
fi
echo "installing nats-server (Debian package)"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
flock /tmp/lookout-apt.lock $SUDO apt-get update -qq
flock /tmp/lookout-apt.lock env DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nats-server
