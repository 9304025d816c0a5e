#!/usr/bin/env bash
# Goal store benchmark (not a test): creates GOALS goals (default 10000) in a temporary repository and
# prints git-omk's figures beside git doing the same work. Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin git-omk --example bench_store
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
"$target_dir/release/examples/bench_store" "${1:-10000}"
