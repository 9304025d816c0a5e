#!/usr/bin/env bash
# Install the three real agents the agent tests drive, into the tools cache (outside the repo):
#   - kimi-cli 1.51.0 (Wire protocol) in a Python >= 3.13 virtual environment;
#   - Kimi Code 2.1.0 (ACP) from npm, run with the Node of scripts/install-node.sh;
#   - Qwen Code 0.24.4 (ACP) from npm, run with the same Node.
# Idempotent: a second run only checks marker files. Prints one line per launcher on stdout:
#   OMK_TEST_KIMI_WIRE=<path to a `kimi` launcher for kimi-cli 1.51.0>
#   OMK_TEST_KIMI_ACP=<path to a `kimi` launcher for Kimi Code 2.1.0>
#   OMK_TEST_QWEN=<path to a `qwen` launcher for Qwen Code 0.24.4>
# Each launcher sits alone in its own directory, so a test can put exactly one agent on PATH.
# Progress goes to stderr. Exit status is non-zero when any agent could not be installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/tools-env.sh"

wire_version="1.51.0"
code_version="2.1.0"
qwen_version="0.24.4"
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

# An npm package into $prefix (atomically: a temporary prefix renamed once complete). Arguments:
# prefix, package@version, entry point relative to the prefix.
npm_install() {
  local prefix="$1" package="$2" entry="$3"
  if [ -f "$prefix/.omk-installed" ] && [ -f "$prefix/$entry" ]; then
    return 0
  fi
  command -v npm >/dev/null || { log "npm is needed to fetch $package"; return 1; }
  log "installing $package from npm"
  rm -rf "$prefix.tmp" && mkdir -p "$prefix.tmp"
  npm install --prefix "$prefix.tmp" --no-audit --no-fund --loglevel=error "$package" >&2
  [ -f "$prefix.tmp/$entry" ] || {
    log "$package: entry point $entry missing after install"
    return 1
  }
  touch "$prefix.tmp/.omk-installed"
  rm -rf "$prefix" && mv "$prefix.tmp" "$prefix"
}

install_code() {
  local prefix="$OMK_TOOLS_DIR/kimi-code-$code_version"
  local launcher="$OMK_TOOLS_DIR/launchers/kimi-acp/kimi"
  local entry="node_modules/@moonshot-ai/kimi-code/dist/main.mjs"
  local node
  node="$("$here/install-node.sh")" || {
    log "no Node >= 22 (scripts/install-node.sh failed); Kimi Code $code_version needs one"
    return 1
  }
  npm_install "$prefix" "@moonshot-ai/kimi-code@$code_version" "$entry" || return 1
  write_launcher "$launcher" "'$node' '$prefix/$entry'"
  echo "OMK_TEST_KIMI_ACP=$launcher"
}

# Qwen Code's entry starts a second node process (the CLI proper): git-omk kills the agent's whole
# process group, so the launcher only has to exec the first.
install_qwen() {
  local prefix="$OMK_TOOLS_DIR/qwen-code-$qwen_version"
  local launcher="$OMK_TOOLS_DIR/launchers/qwen/qwen"
  local entry="node_modules/@qwen-code/qwen-code/cli-entry.js"
  local node
  node="$("$here/install-node.sh")" || {
    log "no Node >= 22 (scripts/install-node.sh failed); Qwen Code $qwen_version needs one"
    return 1
  }
  npm_install "$prefix" "@qwen-code/qwen-code@$qwen_version" "$entry" || return 1
  write_launcher "$launcher" "'$node' '$prefix/$entry'"
  [ "$("$launcher" --version)" = "$qwen_version" ] || {
    log "Qwen Code launcher does not report version $qwen_version"
    return 1
  }
  echo "OMK_TEST_QWEN=$launcher"
}

install_wire || { status=1; log "kimi-cli $wire_version NOT installed"; }
install_code || { status=1; log "Kimi Code $code_version NOT installed"; }
install_qwen || { status=1; log "Qwen Code $qwen_version NOT installed"; }
exit "$status"
