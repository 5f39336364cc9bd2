#!/usr/bin/env bash
# Install everything (into .venv) and run the main job on defaults: NUTS chains (numpyro, 4
# chains) of LCDM on Planck 2018 plik_lite TTTEEE + low-l TT + tau prior with the
# CLASS-linearised stand-in theory (a few minutes on a laptop CPU), then the summary table
# (means, sigmas, R-hat, ESS) and corner/trace plots in runs/lcdm_plik_lite_standin/.
# The data come from $COSMO_DATA_DIR (default ~/.local/share/cosmo-jax/data); missing
# datasets are downloaded from their official source once.
# Extra arguments go to `cosmo sample` (e.g. --backend blackjax, --samples 2000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
DATASETS=(planck2018_plik_lite planck2018_lowl_TT_bins)
.venv/bin/cosmo data verify "${DATASETS[@]}" >/dev/null 2>&1 || .venv/bin/cosmo data install "${DATASETS[@]}"
exec .venv/bin/cosmo sample examples/runs/lcdm_plik_lite_standin.yaml "$@"
