#!/usr/bin/env bash
# OpenID Connect log-in tests (issue 13): the certified provider `oidc-provider` from the npm
# registry, installed with node's npm into a directory of its own (not the repository); the
# tests start it with a small configuration of their own on a free port (skipped without it).
set -euo pipefail
DIR="${LOOKOUT_OIDC_PROVIDER_DIR:-/tmp/lookout-oidc-provider}"
VERSION="9.13.3"
if [ -f "$DIR/node_modules/oidc-provider/package.json" ] \
  && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/oidc-provider/package.json"; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm missing: install Node.js 20 or newer for the OpenID Connect tests" >&2
  exit 1
fi
echo "installing oidc-provider $VERSION (npm) into $DIR for the OpenID Connect tests"
mkdir -p "$DIR"
flock "$DIR/.lock" npm install --prefix "$DIR" --no-audit --no-fund --omit=dev \
  "oidc-provider@$VERSION"
