"""Slow accuracy sweep: live classy on a Latin hypercube of the Planck 5-sigma LCDM box
(run with ``bash scripts/test.sh -m slow``)."""

import numpy as np
import pytest

from cosmo.oracle.classy_runner import background_thermo_reference
from cosmo.oracle.compare import errors_for
from cosmo.oracle.cosmologies import PLANCK2018

from .conftest import requires_classy

pytestmark = [pytest.mark.slow, requires_classy]

SIGMA = {"omega_b": 0.00015, "omega_cdm": 0.0012, "h": 0.0054, "tau_reio": 0.0073}
TARGETS = {"H": 1e-5, "angular_distance": 1e-5, "x_e": 1e-3, "z_star": 1e-4, "z_d": 1e-4,
           "rs_star": 1e-4, "rs_d": 1e-4, "100*theta_s": 2e-5}


def latin_hypercube(n, seed=11):
    rng = np.random.default_rng(seed)
    cols = {k: (rng.permutation(n) + rng.uniform(size=n)) / n for k in SIGMA}
    return [{**PLANCK2018, **{k: PLANCK2018[k] + 5 * s * (2 * cols[k][i] - 1) for k, s in SIGMA.items()}}
            for i in range(n)]


@pytest.mark.parametrize("params", latin_hypercube(20))
def test_recfast_sweep(params):
    errors = errors_for(params, background_thermo_reference(params, "RECFAST"))
    for key, tol in TARGETS.items():
        assert errors[key] < tol, (key, errors[key])
