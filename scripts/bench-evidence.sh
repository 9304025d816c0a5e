#!/usr/bin/env bash
# Benchmark (not a test): the gate time of a goal whose test harness is unchanged, before and after a
# change to the verification wall. Builds git-omk in release mode at BEFORE (a revision) and at the
# current checkout, then runs the same goal RUNS times with each build, alternating, on fresh
# repositories: a pytest project whose `add` is wrong, "Fix add in calc.py", an exec agent that fixes it
# and reviewer sessions that report nothing. Prints a Markdown table for docs/performance.md:
# - gate runs: gate evidence files the goal recorded (each one a real run of a gate);
# - gate time: the sum of their durations (`duration_ms` of the evidence);
# - verify step: the controller's verification step (the result's gates, plus, after the change, the
#   comparison of the result's test harness files with the base's);
# - harness step: a separate harness-check step (only when the harness changed: none here);
# - wall time of `git omk goal run --until-ready`.
#
# Usage: scripts/bench-evidence.sh BEFORE [RUNS]   (RUNS defaults to 5)
set -euo pipefail
cd "$(dirname "$0")/.."
before="${1:?usage: scripts/bench-evidence.sh BEFORE [RUNS]}"
runs="${2:-5}"
# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh
scripts/install-pytest.sh >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

mkdir -p "$work/before-src"
git archive "$before" | tar -x -C "$work/before-src"
(cd "$work/before-src" && cargo build --release --locked --quiet --bin git-omk --target-dir "$target_dir")
cp "$target_dir/release/git-omk" "$work/git-omk-before"
cargo build --release --locked --quiet --bin git-omk
cp "$target_dir/release/git-omk" "$work/git-omk-after"

BENCH_WORK="$work" BENCH_RUNS="$runs" PYTEST_BIN="$OMK_TOOLS_DIR/pytest-8.3.5/bin" python3 - "$before" <<'PY'
import json, os, statistics, subprocess, sys, time

work, runs, pybin, before = os.environ["BENCH_WORK"], int(os.environ["BENCH_RUNS"]), os.environ["PYTEST_BIN"], sys.argv[1]
AGENT = """#!/bin/sh
case "$OMK_PROMPT" in
  *"reviewer for git-omk"*) printf '```json\\n{"findings": []}\\n```\\n'; exit 0 ;;
esac
sed -i '0,/return a - b/s//return a + b/' calc.py
"""
FILES = {
    "calc.py": "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n",
    "tests/test_calc.py": "from calc import add, sub\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n",
    "tests/conftest.py": "import pytest\n",
    "pytest.ini": "[pytest]\n",
}

def hermetic(home):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "OMK_"))}
    env.update(HOME=home, XDG_CONFIG_HOME=f"{home}/.config", GIT_CONFIG_NOSYSTEM="1",
               GIT_CONFIG_GLOBAL=f"{home}/.gitconfig", TZ="UTC", LC_ALL="C",
               PATH=f"{pybin}:{os.environ['PATH']}")
    return env

def git(repo, env, *args):
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout

def one_run(build, n):
    base = f"{work}/{build}-{n}"
    repo, home = f"{base}/work", f"{base}/home"
    os.makedirs(home)
    for path, text in FILES.items():
        os.makedirs(os.path.dirname(f"{repo}/{path}"), exist_ok=True)
        with open(f"{repo}/{path}", "w") as f:
            f.write(text)
    env = hermetic(home)
    git(repo, env, "init", "-q", "-b", "main")
    git(repo, env, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "add", "-A")
    git(repo, env, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-qm", "initial")
    agent = f"{home}/agent.sh"
    with open(agent, "w") as f:
        f.write(AGENT)
    os.chmod(agent, 0o755)
    env.update(OMK_LOG="omk::timing=debug", OMK_WORKTREE_ROOT=f"{home}/worktrees")
    started = time.monotonic()
    out = subprocess.run([f"{work}/git-omk-{build}", "goal", "run", "Fix add in calc.py", "--until-ready",
                          "--no-llm-planner", "--agent", f"exec:{agent}", "--json"],
                         cwd=repo, env=env, capture_output=True, text=True)
    wall = (time.monotonic() - started) * 1000
    result = json.loads(out.stdout)
    assert result["status"] == "ready", out.stderr
    steps = {}
    for line in out.stderr.splitlines():
        fields = dict(w.split("=", 1) for w in line.split() if "=" in w)
        if "micros" in fields and "step" in fields:
            step = fields["step"].strip('"')
            steps[step] = steps.get(step, 0) + int(fields["micros"]) / 1000
    ref = f"refs/omk/goals/{result['id']}"
    files = [p for p in git(repo, env, "ls-tree", "-r", "--name-only", ref, "gates/").split() if p.endswith(".json")]
    durations = [json.loads(git(repo, env, "show", f"{ref}:{p}"))["duration_ms"] for p in files]
    return {"runs": len(files), "gate_ms": sum(durations), "verify_ms": steps.get("verify", 0),
            "harness_ms": steps.get("harness-check", 0), "wall_ms": wall}

results = {"before": [], "after": []}
for n in range(runs):
    for build in ("before", "after"):
        results[build].append(one_run(build, n))

def med(build, key):
    return statistics.median(r[key] for r in results[build])

print(f"{runs} runs per build, alternating; medians (before = `{before[:12]}`):\n")
print("| build | gate runs | gate time | verify step | harness-check step | wall time |")
print("|---|---:|---:|---:|---:|---:|")
for build in ("before", "after"):
    print(f"| {build} | {med(build, 'runs'):.0f} | {med(build, 'gate_ms'):.0f} ms | {med(build, 'verify_ms'):.1f} ms "
          f"| {med(build, 'harness_ms'):.1f} ms | {med(build, 'wall_ms'):.0f} ms |")
print("\nEach run (gate time in ms, before → after):",
      ", ".join(f"{b['gate_ms']} → {a['gate_ms']}" for b, a in zip(results["before"], results["after"])))
PY
