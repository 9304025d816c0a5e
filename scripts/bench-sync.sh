#!/usr/bin/env bash
# Sync benchmark (not a test): GOALS goals (default 1000), one changed, `git omk sync` beside plain
# `git fetch` + `git push` of the same refs, median of RUNS (default 11). Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin git-omk --example bench_sync
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C TZ=UTC
"$target_dir/release/examples/bench_sync" "${1:-1000}" "${2:-11}"
