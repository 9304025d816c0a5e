#!/usr/bin/env bash
# The test command of the README: install what the tests need (idempotent, cached outside the
# repository), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --all-targets "$@"
