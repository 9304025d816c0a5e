#!/usr/bin/env bash
# Install pytest from PyPI into a virtual environment in the tools cache and print the path of its
# `python3`. The gate tests put that environment's bin directory first on PATH. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/tools-env.sh"
version="8.3.5"
prefix="$OMK_TOOLS_DIR/pytest-$version"
python="$prefix/bin/python3"
if [ -x "$python" ] && "$python" -m pytest --version >/dev/null 2>&1; then
  echo "$python"
  exit 0
fi
command -v python3 >/dev/null || { echo "install-pytest: python3 is needed" >&2; exit 1; }
# A venv records its own path, so it is built in place; a failed install leaves no usable python.
rm -rf "$prefix"
python3 -m venv "$prefix" >&2
"$prefix/bin/python3" -m pip install --quiet --disable-pip-version-check "pytest==$version" >&2
"$python" -m pytest --version >/dev/null 2>&1 || { echo "install-pytest: pytest missing after install" >&2; exit 1; }
echo "$python"
