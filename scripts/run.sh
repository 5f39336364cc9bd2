#!/usr/bin/env bash
# Install everything (into .venv) and run the main job on defaults:
# background + thermodynamics at the Planck 2018 best fit beside CLASS, figure in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/cosmo run "$@"
