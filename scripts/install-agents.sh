#!/usr/bin/env bash
# Install the two real Kimi generations the agent tests drive, into the tools cache (outside the repo):
#   - kimi-cli 1.51.0 (Wire protocol) in a Python >= 3.13 virtual environment;
#   - Kimi Code 2.1.0 (ACP) from npm, run with the Node of scripts/install-node.sh.
# Idempotent: a second run only checks marker files. Prints one line per launcher on stdout:
#   OMK_TEST_KIMI_WIRE=<path to a `kimi` launcher for kimi-cli 1.51.0>
#   OMK_TEST_KIMI_ACP=<path to a `kimi` launcher for Kimi Code 2.1.0>
# Each launcher sits alone in its own directory, so a test can put exactly one generation on PATH.
# Progress goes to stderr. Exit status is non-zero when either agent could not be installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/tools-env.sh"

wire_version="1.51.0"
code_version="2.1.0"
status=0

log() { echo "install-agents: $*" >&2; }

# A python3 >= 3.13: pyenv's 3.13.0 when present, else python3.13/python3 on PATH.
find_python() {
  if command -v pyenv >/dev/null 2>&1; then
    local prefix
    if prefix="$(pyenv prefix 3.13.0 2>/dev/null)" && [ -x "$prefix/bin/python3" ]; then
      echo "$prefix/bin/python3"
      return 0
    fi
  fi
  local candidate
  for candidate in python3.13 python3.14 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

write_launcher() { # path, command line (already quoted)
  mkdir -p "$(dirname "$1")"
  printf '#!/bin/sh\nexec %s "$@"\n' "$2" >"$1.tmp"
  chmod +x "$1.tmp"
  mv "$1.tmp" "$1"
}

install_wire() {
  local venv="$OMK_TOOLS_DIR/kimi-cli-$wire_version"
  local launcher="$OMK_TOOLS_DIR/launchers/kimi-wire/kimi"
  if [ ! -f "$venv/.omk-installed" ]; then
    local python
    python="$(find_python)" || {
      log "no Python >= 3.13 found (pyenv 3.13.0, python3.13 or python3 on PATH); kimi-cli $wire_version needs one"
      return 1
    }
    log "installing kimi-cli $wire_version with $python (about a minute)"
    rm -rf "$venv"
    "$python" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "kimi-cli==$wire_version" >&2
    "$venv/bin/kimi" --version >/dev/null
    touch "$venv/.omk-installed"
  fi
  write_launcher "$launcher" "'$venv/bin/kimi'"
  echo "OMK_TEST_KIMI_WIRE=$launcher"
}

install_code() {
  local prefix="$OMK_TOOLS_DIR/kimi-code-$code_version"
  local launcher="$OMK_TOOLS_DIR/launchers/kimi-acp/kimi"
  local node
  node="$("$here/install-node.sh")" || {
    log "no Node >= 22 (scripts/install-node.sh failed); Kimi Code $code_version needs one"
    return 1
  }
  local entry="$prefix/node_modules/@moonshot-ai/kimi-code/dist/main.mjs"
  if [ ! -f "$prefix/.omk-installed" ] || [ ! -f "$entry" ]; then
    command -v npm >/dev/null || { log "npm is needed to fetch @moonshot-ai/kimi-code"; return 1; }
    log "installing Kimi Code $code_version from npm"
    rm -rf "$prefix.tmp" && mkdir -p "$prefix.tmp"
    npm install --prefix "$prefix.tmp" --no-audit --no-fund --loglevel=error \
      "@moonshot-ai/kimi-code@$code_version" >&2
    [ -f "$prefix.tmp/node_modules/@moonshot-ai/kimi-code/dist/main.mjs" ] || {
      log "Kimi Code entry point missing after install"
      return 1
    }
    touch "$prefix.tmp/.omk-installed"
    rm -rf "$prefix" && mv "$prefix.tmp" "$prefix"
  fi
  write_launcher "$launcher" "'$node' '$entry'"
  echo "OMK_TEST_KIMI_ACP=$launcher"
}

install_wire || { status=1; log "kimi-cli $wire_version NOT installed"; }
install_code || { status=1; log "Kimi Code $code_version NOT installed"; }
exit "$status"
