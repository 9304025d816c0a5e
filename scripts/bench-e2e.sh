#!/usr/bin/env bash
# Benchmark (not a test): a one-task bugfix with `git omk goal run --until-ready`, per real agent,
# printed beside the same agent doing the same fix alone (its own session time). Release build.
# Figures go to docs/performance.md.
# Usage: scripts/bench-e2e.sh [RUNS]   (default 3 runs per engine; run it on a quiet machine)
#        OMK_BENCH_AGENTS=kimi-acp scripts/bench-e2e.sh   (only those engines, comma-separated)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-pytest.sh >/dev/null
while IFS='=' read -r name value; do
  case "$name" in
    OMK_TEST_KIMI_WIRE | OMK_TEST_KIMI_ACP | OMK_TEST_QWEN) export "$name=$value" ;;
  esac
done < <(scripts/install-agents.sh)
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
cargo build --release --locked --quiet --bin git-omk --example bench_e2e
"$target_dir/release/examples/bench_e2e" "${1:-3}"
