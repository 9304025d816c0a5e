#!/usr/bin/env bash
# Benchmark git-omk's overhead per agent session start and per turn against both real Kimi
# generations (not a test: it prints a Markdown table for docs/performance.md).
# Usage: scripts/bench-agents.sh [TURNS]   (default 10 turns per engine)
set -euo pipefail
cd "$(dirname "$0")/.."
while IFS='=' read -r name value; do
  case "$name" in
    OMK_TEST_KIMI_WIRE | OMK_TEST_KIMI_ACP) export "$name=$value" ;;
  esac
done < <(scripts/install-agents.sh)
cargo run --release --locked --quiet --example bench_agents -- "${1:-10}"
