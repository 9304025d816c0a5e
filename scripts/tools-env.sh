# Sourced by the install scripts: where test tools are cached (outside the repository).
# Override with OMK_TOOLS_DIR. Everything under it is reproducible from the registries.
OMK_TOOLS_DIR="${OMK_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/git-omk-test-tools}"
export OMK_TOOLS_DIR
mkdir -p "$OMK_TOOLS_DIR"
