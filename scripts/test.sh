#!/usr/bin/env bash
# The test command of the README: install what the tests need (idempotent, cached outside the
# repository), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test tools (cached outside the repository): pytest and Node 22 for the gate tests.
scripts/install-pytest.sh >/dev/null
scripts/install-node.sh >/dev/null
# Node, the GitHub emulator and GitHub's OpenAPI description: the delivery tests find them through
# OMK_NODE, OMK_EMULATOR and OMK_GITHUB_OPENAPI.
tools="$(scripts/install-emulator.sh)"
while IFS='=' read -r key value; do
  export "$key=$value"
done <<<"$tools"
cargo test --locked --all-targets "$@"
