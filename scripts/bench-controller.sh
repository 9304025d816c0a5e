#!/usr/bin/env bash
# Benchmark the controller's own overhead per task: a goal of 50 tasks with an instant exec agent and
# --max-agents 8, next to plain `git worktree add` (not a test: it prints Markdown tables for
# docs/performance.md). Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet --bin git-omk --example bench_controller
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
"$target_dir/release/examples/bench_controller"
