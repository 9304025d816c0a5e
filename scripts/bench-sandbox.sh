#!/usr/bin/env bash
# Benchmark what the kernel sandbox costs (not a test: it prints Markdown tables for
# docs/performance.md): a process start confined and unconfined, then for each real agent its session
# start and a scripted turn confined and unconfined, side by side.
# Usage: scripts/bench-sandbox.sh [TURNS] [STARTS] [ENGINE...]   (default 10 turns, 3 session starts,
# every installed engine; ENGINE is KimiWire, KimiAcp or Qwen). Per engine it prints the median turn
# confined and unconfined, the median of the paired per-turn differences (turn i against turn i, run
# back to back, which first alternating) and the CPU time per turn of the agent and git-omk.
# A debug build: the cost measured is bubblewrap's and the kernel's, not git-omk's own code.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-sandbox.sh >/dev/null
while IFS='=' read -r name value; do
  case "$name" in
    OMK_TEST_KIMI_WIRE | OMK_TEST_KIMI_ACP | OMK_TEST_QWEN) export "$name=$value" ;;
  esac
done < <(scripts/install-agents.sh)
cargo run --locked --quiet --example bench_sandbox -- "${1:-10}" "${2:-3}" "${@:3}"
