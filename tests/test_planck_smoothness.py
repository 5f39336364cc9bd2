"""Smoothness on real data: -2 ln L of Planck 2018 plik_lite TTTEEE + low-l TT bins (nuisance
parameters at their defaults) of the fast preset's lensed spectra along 50 LCDM points, from
-0.1 to +0.1 sigma in every parameter at once around planck2018 (issue 3: residual from a
quadratic fit < 0.01). Marked ``smoothness``: CI runs it after the default suite (.ci/run).

The line is short because a quadratic only describes chi2 over a short one: from -0.5 to +0.5
sigma (all six parameters in the same direction, many sigma in the joint posterior) chi2 fell
from 693 to 591 and the smooth cubic part of it alone left a quadratic-fit residual of 0.096
(2026-12-02 (c)); that part shrinks as the cube of the length (~8e-4 here), a jump would not."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import cosmo
from cosmo.oracle.cosmologies import COSMOLOGIES, PLANCK2018_SIGMA
from tests.conftest import requires_data
from tests.test_cl_smoothness import chi2_along_line, quadratic_fit_residual

pytestmark = [pytest.mark.slow, pytest.mark.smoothness, requires_data]


def test_planck_chi2_is_smooth_along_a_parameter_line_fast_preset():
    import likelihoods as lk
    from likelihoods.adapters import from_solution

    like = lk.combine(["planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins"])
    requirements = like.requirements
    names = tuple(PLANCK2018_SIGMA)
    base = COSMOLOGIES["planck2018"]

    @jax.jit
    def chi2(x):
        sol = cosmo.solve(cosmo.params.resolve({**base, **dict(zip(names, x))}), "fast",
                          l_max=requirements.l_max, lensing=True)
        return -2.0 * like(from_solution(sol, requirements), None)

    x0 = np.array([base[n] for n in names], float)
    ts = np.linspace(-0.1, 0.1, 50)
    values = chi2_along_line(chi2, x0, np.array([PLANCK2018_SIGMA[n] for n in names]), ts)
    residual = quadratic_fit_residual(ts, values)
    print(f"chi2 from {values.min():.3f} to {values.max():.3f}, quadratic-fit residual {residual:.2e}")
    print("chi2 along the line:", np.array2string(values, precision=6, threshold=100))
    assert np.all(np.isfinite(values))
    assert values.max() - values.min() > 1.0, values
    assert residual < 0.01, values
