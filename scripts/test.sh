#!/usr/bin/env bash
# The test command of the README: install what the tests need (idempotent, cached outside the
# repository), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Test tools (cached outside the repository): pytest and Node 22 for the gate tests.
scripts/install-pytest.sh >/dev/null
scripts/install-node.sh >/dev/null
cargo test --locked --all-targets "$@"
