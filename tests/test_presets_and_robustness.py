"""The fast preset meets the same foundation targets; the solver never fails inside a wide box."""

import numpy as np
import pytest

import cosmo
from cosmo.oracle.compare import errors_for
from cosmo.oracle.cosmologies import COSMOLOGIES, PLANCK2018

from .conftest import reference

TARGETS = {
    "H": 1e-5, "comoving_distance": 1e-5, "angular_distance": 1e-5, "luminosity_distance": 1e-5,
    "age": 1e-5, "conformal_age": 1e-5, "x_e": 1e-3, "z_star": 1e-4, "z_d": 1e-4, "rs_star": 1e-4,
    "rs_d": 1e-4, "100*theta_s": 2e-5,
}


@pytest.mark.parametrize("name", ["planck2018", "box_high", "box_mixed_a", "mnu_3deg"])
def test_fast_preset_meets_foundation_targets(name):
    _, per = reference("recfast")
    errors = errors_for(COSMOLOGIES[name], per[name], "fast")
    for key, tol in TARGETS.items():
        assert errors[key] < tol, (key, errors[key])


def test_solver_is_finite_across_a_wide_box():
    """Points well outside the Planck 5-sigma box (the corners of a sampler's prior)."""
    rng = np.random.default_rng(7)
    for _ in range(12):
        params = dict(
            PLANCK2018,
            omega_b=rng.uniform(0.017, 0.028),
            omega_cdm=rng.uniform(0.08, 0.16),
            h=rng.uniform(0.55, 0.85),
            tau_reio=rng.uniform(0.02, 0.12),
        )
        th = cosmo.solve(params).thermo
        assert np.isfinite(np.asarray(th.x_e)).all()
        assert 1000.0 < float(th.z_star) < 1150.0
        assert float(th.z_d) < float(th.z_star)
        assert float(th.tau_reio) == pytest.approx(params["tau_reio"], rel=1e-8)


@pytest.mark.parametrize("recombination", ["recfast", "hyrec"])
def test_outputs_are_smooth_along_a_parameter_line(recombination):
    """Fixed grids make outputs smooth: along 50 closely spaced omega_b values the epochs
    follow a cubic to 1e-9 relative (an adaptive step-size controller jumps by ~1e-6), with either
    recombination model (HyRec's sharp model switches are narrow blends here)."""
    xs = np.linspace(0.0223, 0.02245, 50)
    vals = []
    for x in xs:
        th = cosmo.solve(dict(PLANCK2018, omega_b=x, recombination=recombination)).thermo
        vals.append([float(th.theta_s_100), float(th.z_star), float(th.rs_d), float(th.z_d)])
    vals = np.array(vals)
    u = xs - xs.mean()
    for j in range(vals.shape[1]):
        resid = vals[:, j] - np.polyval(np.polyfit(u, vals[:, j], 3), u)
        assert np.max(np.abs(resid)) / np.mean(np.abs(vals[:, j])) < 1e-9
