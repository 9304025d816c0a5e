#!/usr/bin/env bash
# Install the GitHub REST emulator (npm `emulate`, pinned) and GitHub's official OpenAPI description
# (npm `@octokit/openapi`, pinned) into the tools cache, with a Node.js >= 22 from install-node.sh.
# Idempotent: a second run only checks what is installed. Prints three lines, KEY=VALUE, that the tests
# read from the environment:
#   OMK_NODE=<node binary>  OMK_EMULATOR=<emulate entry point>  OMK_GITHUB_OPENAPI=<api.github.com.json>
# `emulate@latest` and `npx emulate` are an UNRELATED package: only the pinned version is the emulator.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/tools-env.sh"
emulate_version="0.12.2"
openapi_version="${OMK_OCTOKIT_OPENAPI_VERSION:-23.0.2}"
node="$("$here/install-node.sh")"
npm_cli="$(dirname "$node")/../lib/node_modules/npm/bin/npm-cli.js"
prefix="$OMK_TOOLS_DIR/github-emulator-$emulate_version-openapi-$openapi_version"
entry="$prefix/node_modules/emulate/dist/index.js"
spec="$prefix/node_modules/@octokit/openapi/generated/api.github.com.json"
installed_version() {
  "$node" -e 'process.stdout.write(require(process.argv[1]).version)' "$1/package.json" 2>/dev/null || true
}
if [ ! -f "$entry" ] || [ ! -f "$spec" ] \
  || [ "$(installed_version "$prefix/node_modules/emulate")" != "$emulate_version" ]; then
  rm -rf "$prefix.tmp" && mkdir -p "$prefix.tmp"
  if [ -f "$npm_cli" ]; then npm=("$node" "$npm_cli"); else npm=(npm); fi
  "${npm[@]}" install --prefix "$prefix.tmp" --no-audit --no-fund --loglevel=error \
    "emulate@$emulate_version" "@octokit/openapi@$openapi_version" >&2
  [ -f "$prefix.tmp/node_modules/emulate/dist/index.js" ] \
    || { echo "install-emulator: emulate entry point missing after install" >&2; exit 1; }
  [ -f "$prefix.tmp/node_modules/@octokit/openapi/generated/api.github.com.json" ] \
    || { echo "install-emulator: OpenAPI description missing after install" >&2; exit 1; }
  rm -rf "$prefix" && mv "$prefix.tmp" "$prefix"
fi
echo "OMK_NODE=$node"
echo "OMK_EMULATOR=$entry"
echo "OMK_GITHUB_OPENAPI=$spec"
