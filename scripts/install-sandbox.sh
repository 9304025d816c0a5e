#!/usr/bin/env bash
# Make sure the kernel sandbox agents and gates run in is available: bubblewrap (`bwrap`, Debian package
# `bubblewrap`) that can create its namespaces on this machine. Installs it with apt-get when it is
# missing and this runs as root or may use sudo without a password (CI runners); otherwise fails
# naming the fix. Prints the path of `bwrap`. Idempotent.
set -euo pipefail
as_root=()
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
fi
if ! command -v bwrap >/dev/null 2>&1; then
  if { [ "$(id -u)" = 0 ] || [ "${#as_root[@]}" -gt 0 ]; } && command -v apt-get >/dev/null 2>&1; then
    echo "install-sandbox: installing bubblewrap with apt-get" >&2
    "${as_root[@]}" apt-get update -qq >&2
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >&2
  else
    echo "install-sandbox: bubblewrap (bwrap) is missing: install it (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap)" >&2
    exit 1
  fi
fi
# The same confinement git-omk uses, once: a machine without unprivileged user namespaces fails here.
trial() {
  bwrap --ro-bind / / --dev /dev --proc /proc --unshare-user --unshare-pid --disable-userns \
    --cap-drop ALL --die-with-parent --new-session -- "$(command -v true)" 2>&1
}
restricted=/proc/sys/kernel/apparmor_restrict_unprivileged_userns
if ! trial >/dev/null && [ "$(cat "$restricted" 2>/dev/null)" = 1 ] \
  && { [ "$(id -u)" = 0 ] || [ "${#as_root[@]}" -gt 0 ]; }; then
  # Ubuntu 23.10 and later restrict unprivileged user namespaces through AppArmor; lift that for
  # this boot only (a test machine; users get the fix in the message below instead).
  echo "install-sandbox: allowing unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=0)" >&2
  "${as_root[@]}" sysctl -q -w kernel.apparmor_restrict_unprivileged_userns=0 >&2 || true
fi
if ! err="$(trial)"; then
  echo "install-sandbox: bwrap cannot create its namespaces here ($err): allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04+ an AppArmor profile for bwrap)" >&2
  exit 1
fi
command -v bwrap
