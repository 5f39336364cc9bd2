"""agent/: the Ralph loop, the steering hook, the SLURM + tmux launcher and the progress-file
checker, run with fake ``claude`` (agent), ``tmux`` and ``git`` executables on PATH."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
AGENT = REPO / "agent"
SHELL_SCRIPTS = [AGENT / "ralph.sh", AGENT / "steering_hook.sh", AGENT / "agent.sbatch"]

# The fake agent: counts its sessions, records the prompt, "fixes" the project at session
# FIX_AT and claims completion from session CLAIM_FROM on.
FAKE_AGENT = r"""#!/usr/bin/env bash
n=$(( $(cat "$WORK/count" 2>/dev/null || echo 0) + 1 )); echo $n > "$WORK/count"
cat > "$WORK/prompt_$n.txt"
if [ "$n" -ge "${FIX_AT:-1000}" ]; then touch "$WORK/fixed"; fi
echo "session $n working"
if [ "$n" -ge "${CLAIM_FROM:-1000}" ]; then echo "RALPH_DONE"; fi
"""


def run(cmd, env, cwd=REPO, stdin=None, timeout=60):
    return subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse_and_pass_shellcheck(script):
    assert run(["bash", "-n", str(script)], env=None).returncode == 0
    shellcheck = shutil.which("shellcheck") or str(pathlib.Path(sys.executable).parent / "shellcheck")
    proc = run([shellcheck, "-x", str(script.relative_to(REPO))], env=None)
    assert proc.returncode == 0, proc.stdout


def test_settings_register_the_steering_hook():
    settings = json.loads((AGENT / "settings.json").read_text())
    command = settings["hooks"]["PostToolUse"][0]["hooks"][0]["command"]
    assert "agent/steering_hook.sh" in command


# ---------------------------------------------------------------- progress file
def test_repository_changelog_follows_the_convention():
    proc = run([sys.executable, "agent/check_changelog.py", "CHANGELOG.md"], env=None)
    assert proc.returncode == 0, proc.stdout


GOOD = """# CHANGELOG

## Current status (2026-01-03)
- TT within 0.1%.

## Next steps
1. EE.

## 2026-01-03 - EE
| spectrum | max error |
|---|---|
| TT | 4e-4 |

## 2026-01-02 - TT

## Failed approaches and why
- adaptive steps: not smooth.

## Known limitations
- flat only.
"""


@pytest.mark.parametrize("change, message", [
    (lambda t: t, None),
    (lambda t: t.replace("## Next steps\n1. EE.\n", ""), "missing '## Next steps'"),
    (lambda t: t.replace("## Current status (2026-01-03)", "## Current status"), "missing '## Current status"),
    (lambda t: t.replace("## 2026-01-02 - TT", "## 2026-01-05 - TT"), "newest first"),
    (lambda t: t.replace("## Failed approaches and why", "## Notes"), "Failed approaches"),
    (lambda t: t.replace("## Known limitations\n- flat only.\n", ""), "Known limitations"),
    (lambda t: t.replace("| spectrum | max error |\n|---|---|\n| TT | 4e-4 |\n", ""), "no Markdown table"),
    (lambda t: t.replace("1. EE.", "- EE."), "numbered list"),
])
def test_changelog_checker_flags_each_missing_part(tmp_path, change, message):
    path = tmp_path / "CHANGELOG.md"
    path.write_text(change(GOOD))
    proc = run([sys.executable, str(AGENT / "check_changelog.py"), str(path)], env=None)
    if message is None:
        assert proc.returncode == 0, proc.stdout
    else:
        assert proc.returncode == 1 and message in proc.stdout, proc.stdout


# ---------------------------------------------------------------- Ralph loop
@pytest.fixture
def loop(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    agent = tmp_path / "fake_claude"
    agent.write_text(FAKE_AGENT)
    agent.chmod(0o755)
    prompt = tmp_path / "PROMPT.md"
    prompt.write_text("Do the task. Print RALPH_DONE when done.\n")

    def go(max_iterations=5, validate_every=0, validate=None, **env):
        conf = tmp_path / "ralph.conf"
        conf.write_text(f'PROMPT_FILE="{prompt}"\nMAX_ITERATIONS={max_iterations}\nCOMPLETION_PROMISE="RALPH_DONE"\n'
                        f'VALIDATE_CMD="{validate or f"test -f {work}/fixed"}"\nVALIDATE_EVERY={validate_every}\n'
                        f'AGENT_CMD="{agent}"\nLOG_DIR="{tmp_path / "logs"}"\n')
        proc = run(["bash", "agent/ralph.sh", str(conf)],
                   env={"PATH": "/usr/bin:/bin", "WORK": str(work), **{k: str(v) for k, v in env.items()}})
        count = int((work / "count").read_text()) if (work / "count").exists() else 0
        return proc, count

    go.work, go.logs = work, tmp_path / "logs"
    return go


def test_loop_does_not_trust_a_false_completion_claim(loop):
    """Claims from session 1, fixed only in session 3: the loop validates each claim, feeds the
    failure back, and stops after the first claim that validates."""
    proc, sessions = loop(CLAIM_FROM=1, FIX_AT=3)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sessions == 3
    assert proc.stdout.count("validation FAILED") == 2 and "validation passed: done after 3" in proc.stdout
    second_prompt = (loop.work / "prompt_2.txt").read_text()
    assert "claimed completion, but the validation command failed" in second_prompt
    assert "Do the task." in second_prompt
    assert "validation command failed" not in (loop.work / "prompt_1.txt").read_text()


def test_loop_gives_up_after_max_iterations_when_validation_never_passes(loop):
    proc, sessions = loop(max_iterations=4, CLAIM_FROM=1)
    assert proc.returncode == 1 and sessions == 4
    assert "no passing validation after 4 iterations" in proc.stdout


def test_loop_without_a_claim_does_not_validate_by_default(loop):
    proc, sessions = loop(max_iterations=3, FIX_AT=1)  # fixed but never claimed
    assert proc.returncode == 1 and sessions == 3
    assert not list(loop.logs.glob("validation_*.log"))


def test_loop_can_validate_every_iteration(loop):
    proc, sessions = loop(max_iterations=5, validate_every=1, FIX_AT=2)
    assert proc.returncode == 0 and sessions == 2


def test_loop_rejects_an_incomplete_config(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text('PROMPT_FILE="x"\n')
    proc = run(["bash", "agent/ralph.sh", str(conf)], env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and "is not set" in proc.stderr


# ---------------------------------------------------------------- steering hook
@pytest.fixture
def hook(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "git_calls.txt"
    (bin_dir / "git").write_text(f'#!/usr/bin/env bash\necho "git $*" >> "{record}"\n')
    (bin_dir / "git").chmod(0o755)

    def call(interval=300):
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CLAUDE_PROJECT_DIR": str(repo),
               "STEERING_PULL_SECONDS": str(interval)}
        proc = run(["bash", str(AGENT / "steering_hook.sh")], env=env, stdin='{"tool_name": "Bash"}')
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    call.repo = repo
    call.pulls = lambda: record.read_text().count("pull --ff-only") if record.exists() else 0
    return call


def test_steering_hook_injects_a_changed_steering_file_once(hook):
    assert hook() == ""  # no STEERING.md: nothing to say
    assert hook.pulls() == 1
    (hook.repo / "STEERING.md").write_text("Stop the lensing work; fix the EE tail first.\n")
    out = json.loads(hook())
    assert out["hookSpecificOutput"]["hookEventName"] == "PostToolUse"
    assert "fix the EE tail first" in out["hookSpecificOutput"]["additionalContext"]
    assert hook() == ""  # unchanged: silent
    (hook.repo / "STEERING.md").write_text("Now run the validation sweep.\n")
    assert "validation sweep" in json.loads(hook())["hookSpecificOutput"]["additionalContext"]
    assert hook.pulls() == 1  # within the pull interval: no new pull


def test_steering_hook_pulls_when_the_interval_has_passed(hook):
    hook(interval=0)
    hook(interval=0)
    assert hook.pulls() == 2


# ---------------------------------------------------------------- SLURM + tmux launcher
FAKE_TMUX = r"""#!/usr/bin/env bash
echo "tmux $*" >> "$RECORD"
case "$1" in
  new-session) cmd="${@: -1}"; bash -c "$cmd" ;;   # run the session's command to completion
  has-session) exit 1 ;;                           # ... so the session is gone when asked
esac
"""


@pytest.mark.parametrize("fix_at, expected", [(1, 0), (1000, 1)])
def test_sbatch_runs_the_loop_in_tmux_and_returns_its_status(tmp_path, fix_at, expected):
    bin_dir, venv = tmp_path / "bin", tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    bin_dir.mkdir()
    (bin_dir / "tmux").write_text(FAKE_TMUX)
    (bin_dir / "sbatch").write_text('#!/usr/bin/env bash\necho "sbatch $*" >> "$RECORD"\n'
                                    'SLURM_JOB_ID=99 SLURM_SUBMIT_DIR="$PWD" exec bash "$@"\n')
    (bin_dir / "sbatch").chmod(0o755)
    (venv / "bin" / "cosmo").write_text("#!/usr/bin/env bash\n")
    (venv / "bin" / "activate").write_text("true\n")
    agent = tmp_path / "fake_claude"
    agent.write_text(FAKE_AGENT)
    for p in (bin_dir / "tmux", venv / "bin" / "cosmo", agent):
        p.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    conf = tmp_path / "ralph.conf"
    conf.write_text(f'PROMPT_FILE="agent/PROMPT.md"\nMAX_ITERATIONS=2\nCOMPLETION_PROMISE="RALPH_DONE"\n'
                    f'VALIDATE_CMD="test -f {work}/fixed"\nAGENT_CMD="{agent}"\nLOG_DIR="{tmp_path / "logs"}"\n')
    record = tmp_path / "record.txt"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(record), "WORK": str(work), "COSMO_VENV": str(venv),
           "AGENT_POLL_SECONDS": "0",
           "CLAIM_FROM": "1", "FIX_AT": str(fix_at)}
    proc = run(["sbatch", "agent/agent.sbatch", str(conf)], env=env)
    try:
        assert proc.returncode == expected, proc.stdout + proc.stderr
        calls = record.read_text().splitlines()
        assert calls.pop(0) == f"sbatch agent/agent.sbatch {conf}"
        assert calls[0].startswith(f"tmux new-session -d -s cosmo-agent -c {REPO} bash agent/ralph.sh '{conf}'")
        assert "tmux has-session -t cosmo-agent" in calls
        assert "srun --jobid 99 --overlap --pty tmux attach -t cosmo-agent" in proc.stdout
        assert f"Ralph loop finished with status {expected}" in proc.stdout
        assert "RALPH_DONE" in (tmp_path / "logs" / "iteration_1.log").read_text()
    finally:
        for name in ("tmux-99.log", "ralph-99.rc"):
            (REPO / "agent" / "logs" / name).unlink(missing_ok=True)
        logs = REPO / "agent" / "logs"
        if logs.exists() and not any(logs.iterdir()):
            logs.rmdir()
