#!/usr/bin/env bash
# Install everything (into .venv) and run the default test suite.
# Usage: bash scripts/test.sh [extra pytest arguments]     (slow sweeps: bash scripts/test.sh -m slow)
# Test files run in parallel, one worker per core (TEST_WORKERS, default 2): the suite's time is
# mostly XLA compilation, which is single-threaded, so two workers nearly halve it on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
