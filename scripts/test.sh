#!/usr/bin/env bash
# The test command of the README: install what the tests need (idempotent, cached outside the
# repository), then run the whole test suite (or, given cargo test arguments, what they select).
#
# The real agents (scripts/install-agents.sh) are exported to the agent tests as OMK_TEST_KIMI_WIRE,
# OMK_TEST_KIMI_ACP and OMK_TEST_QWEN. With CI=true a failed install fails the run (and the tests fail without the
# agents); locally the agent tests skip loudly instead.
set -euo pipefail
cd "$(dirname "$0")/.."
# The kernel sandbox every agent and gate runs in (bubblewrap): without it they do not start, so the
# tests stop here, naming the fix, rather than fail one by one or skip.
if ! scripts/install-sandbox.sh >/dev/null; then
  echo "test.sh: the sandbox (bubblewrap) is not usable here; see the message above" >&2
  exit 1
fi
# Test tools (cached outside the repository): pytest and Node 22 for the gate tests.
scripts/install-pytest.sh >/dev/null
scripts/install-node.sh >/dev/null
# Node, the GitHub emulator and GitHub's OpenAPI description: the delivery tests find them through
# OMK_NODE, OMK_EMULATOR and OMK_GITHUB_OPENAPI.
tools="$(scripts/install-emulator.sh)"
while IFS='=' read -r key value; do
  export "$key=$value"
done <<<"$tools"
# actionlint and ShellCheck: the workflow tests check every file of .github/workflows with them
# (OMK_ACTIONLINT, OMK_SHELLCHECK).
lint_tools="$(scripts/install-actionlint.sh)"
while IFS='=' read -r key value; do
  export "$key=$value"
done <<<"$lint_tools"
if agents="$(scripts/install-agents.sh)"; then
  :
elif [ "${CI:-}" = "true" ]; then
  echo "test.sh: the real agents could not be installed; CI requires them" >&2
  exit 1
else
  echo "test.sh: WARNING: some agents are missing; their tests will be skipped" >&2
fi
while IFS='=' read -r name value; do
  case "$name" in
    OMK_TEST_KIMI_WIRE | OMK_TEST_KIMI_ACP | OMK_TEST_QWEN) export "$name=$value" ;;
  esac
done <<<"$agents"
# Without arguments every target (the library, binaries, test binaries and examples); with arguments only
# what they select (`scripts/test.sh --test flows execution::`): `--all-targets` would bring every other test
# binary back in.
if [ "$#" -eq 0 ]; then
  cargo test --locked --all-targets
else
  cargo test --locked "$@"
fi
