#!/usr/bin/env bash
# Goal store benchmarks (not tests), release build. Figures go to docs/performance.md.
#   scripts/bench-store.sh [GOALS]          creates GOALS goals (default 10000) with git-omk's store and
#                                           prints its figures beside git plumbing doing the same work
#   scripts/bench-store.sh --scale [GOALS]  imports GOALS goals (default 100000; 1000000 works) with
#                                           git fast-import, refs packed, and times list, status, show by
#                                           prefix and ambiguous prefixes beside git for-each-ref
# Run it alone (e.g. under the shared cargo lock) so other builds do not skew the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
if [ "${1:-}" = "--scale" ]; then
  cargo build --release --quiet --bin git-omk --example bench_scale
  "$target_dir/release/examples/bench_scale" "${2:-100000}"
else
  cargo build --release --quiet --bin git-omk --example bench_store
  "$target_dir/release/examples/bench_store" "${1:-10000}"
fi
