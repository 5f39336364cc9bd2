"""Smoothness of the C_l in the parameters (issue 3 target: the chi-square of fixed mock data
along a line of 50 closely spaced parameter points has no jumps, i.e. deviates from a quadratic
fit by < 0.01).

Marked ``smoothness`` (and ``slow``): too long for the default suite (about 6 minutes here), so
CI (``.ci/run``) runs this file and tests/test_planck_smoothness.py after it, one per worker:
``.venv/bin/python -m pytest -n 2 --dist loadfile -m smoothness``.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from tests.test_cl_gradients import GRADIENT_CHECK, NAMES, SHIFT, chi2_function

pytestmark = [pytest.mark.slow, pytest.mark.smoothness]

#: the coarse sampling of the gradient check with a smaller multipole margin (50 solves)
SMOOTHNESS_CHECK = dataclasses.replace(GRADIENT_CHECK, cl_l_max_margin=50)


def chi2_along_line(chi2, x0: np.ndarray, direction: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """chi2(x0 + t direction) at each t."""
    return np.array([float(chi2(jnp.asarray(x0 + t * direction))) for t in ts])


def quadratic_fit_residual(ts: np.ndarray, values: np.ndarray) -> float:
    """Largest |residual| of a least-squares quadratic in t."""
    u = ts - ts.mean()
    return float(np.max(np.abs(values - np.polyval(np.polyfit(u, values, 2), u))))


def test_quadratic_fit_residual_sees_a_jump():
    """The criterion itself: a smooth parabola passes, the same with a 0.02 step in the middle fails."""
    ts = np.linspace(0.4, 0.6, 50)
    values = 6.0 + 40.0 * (ts - 0.4) + 30.0 * (ts - 0.4) ** 2
    assert quadratic_fit_residual(ts, values) < 1e-10
    assert quadratic_fit_residual(ts, values + 0.02 * (ts > 0.5)) > 0.005


def test_cl_chi2_is_smooth_along_a_parameter_line():
    """The line moves all nine parameters at once (every stage's parameter dependence, incl. the
    z_reio root-find, the massive-neutrino momenta and the PPF fluid) from 40% to 60% of the way
    to the mock data's cosmology, where chi2 changes by tens (asserted, so that a flat line cannot
    pass). The fixed grids of every stage move continuously with the parameters; an adaptive
    step-size controller or a grid size that depended on the parameters would show here as steps.
    Measured (2026-12-02): chi2 6.45-14.45, residual 2.6e-4, 344 s on one core."""
    chi2, x0 = chi2_function("planck2018", SMOOTHNESS_CHECK, 100)
    direction = np.array([SHIFT[n] for n in NAMES])
    ts = np.linspace(0.4, 0.6, 50)
    values = chi2_along_line(chi2, x0, direction, ts)
    residual = quadratic_fit_residual(ts, values)
    print(f"chi2 from {values.min():.3f} to {values.max():.3f}, quadratic-fit residual {residual:.2e}")
    assert np.all(np.isfinite(values))
    assert values.max() - values.min() > 5.0, values
    assert residual < 0.01, values
