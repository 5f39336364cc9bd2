#!/usr/bin/env bash
# Sourced by every sbatch script here: finds the repository, activates the environment, points
# at the data, keeps compiled programs between jobs, and logs what runs where.
#   COSMO_REPO      repository root       (default: the submit directory, $SLURM_SUBMIT_DIR)
#   COSMO_VENV      virtual environment   (default: $COSMO_REPO/.venv; created by scripts/install.sh)
#   COSMO_DATA_DIR  data directory        (default: $COSMO_REPO/../shared/data if it exists)
#   COSMO_JAX_CACHE compilation cache     (default: $COSMO_REPO/.jax-cache, shared by all jobs)

COSMO_REPO="${COSMO_REPO:-${SLURM_SUBMIT_DIR:-$PWD}}"
COSMO_VENV="${COSMO_VENV:-$COSMO_REPO/.venv}"
if [ -z "${COSMO_DATA_DIR:-}" ] && [ -d "$COSMO_REPO/../shared/data" ]; then
    COSMO_DATA_DIR="$(cd "$COSMO_REPO/../shared/data" && pwd)"
fi
export COSMO_REPO COSMO_VENV COSMO_DATA_DIR
export COSMO_JAX_CACHE="${COSMO_JAX_CACHE:-$COSMO_REPO/.jax-cache}"
# JAX: do not grab 75% of GPU memory up front (several processes may share a node)
export XLA_PYTHON_CLIENT_PREALLOCATE="${XLA_PYTHON_CLIENT_PREALLOCATE:-false}"

cd "$COSMO_REPO" || { echo "cannot cd to $COSMO_REPO" >&2; exit 1; }
if [ ! -x "$COSMO_VENV/bin/cosmo" ]; then
    echo "no environment at $COSMO_VENV: run 'bash scripts/install.sh' on a login node first" >&2
    exit 1
fi
# shellcheck disable=SC1091
source "$COSMO_VENV/bin/activate"
echo "[$(date -Is)] job ${SLURM_JOB_ID:-?} task ${SLURM_ARRAY_TASK_ID:-${SLURM_PROCID:-0}} on $(hostname):" \
     "restart ${SLURM_RESTART_COUNT:-0}, GPUs ${CUDA_VISIBLE_DEVICES:-none}, data ${COSMO_DATA_DIR:-unset}"

# Run a command in the background and requeue the job when SLURM warns that the time limit or a
# preemption is near (--signal=B:USR1@N, SIGTERM): the sampler checkpoints atomically, and the
# requeued job runs the same command, which resumes from the last checkpoint.
run_requeueable() {
    "$@" &
    local child=$!
    trap 'echo "[$(date -Is)] signal: requeueing ${SLURM_JOB_ID}"; scontrol requeue "${SLURM_JOB_ID}"; kill -TERM "$child" 2>/dev/null; wait "$child" || true; exit 0' USR1 TERM
    local rc=0
    wait "$child" || rc=$?
    trap - USR1 TERM
    return "$rc"
}
