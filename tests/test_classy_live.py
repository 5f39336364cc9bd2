"""A few comparisons that run classy live (not from stored files), at random points of
the Planck 5-sigma box, so the stored references cannot hide a drift."""

import numpy as np
import pytest

import cosmo
from cosmo.oracle.classy_runner import make_classy
from cosmo.oracle.cosmologies import PLANCK2018
from cosmo.oracle.fit_bbn import class_interpolation
from cosmo.thermodynamics.bbn import helium_from_bbn

from .conftest import requires_classy

pytestmark = [requires_classy, pytest.mark.classy]


def _random_box_points(n, seed=2026):
    rng = np.random.default_rng(seed)
    sig = {"omega_b": 0.00015, "omega_cdm": 0.0012, "h": 0.0054, "tau_reio": 0.0073}
    return [{**PLANCK2018, **{k: PLANCK2018[k] + 5 * s * rng.uniform(-1, 1) for k, s in sig.items()}} for _ in range(n)]


@pytest.mark.parametrize("params", _random_box_points(2))
def test_live_box_points(params):
    c = make_classy(params, "RECFAST")
    sol = cosmo.solve(params)
    th, bg = sol.thermo, sol.background
    ref = c.get_current_derived_parameters(["z_star", "z_d", "rs_d", "100*theta_s", "z_reio"])
    assert float(th.z_star) == pytest.approx(ref["z_star"], rel=1e-4)
    assert float(th.z_d) == pytest.approx(ref["z_d"], rel=1e-4)
    assert float(th.rs_d) == pytest.approx(ref["rs_d"], rel=1e-4)
    assert float(th.theta_s_100) == pytest.approx(ref["100*theta_s"], rel=2e-5)
    for z in (0.3, 1.0, 3.0, 1100.0):
        assert float(bg.angular_distance(z)) == pytest.approx(c.angular_distance(z), rel=1e-5)
        assert float(bg.hubble(z)) == pytest.approx(c.Hubble(z), rel=1e-5)
    for z in (50.0, 800.0, 1100.0, 1500.0, 2500.0, 5000.0):
        assert float(th.ionization_fraction(z)) == pytest.approx(c.ionization_fraction(z), rel=1e-3)


@pytest.mark.parametrize("omega_b, N_ur", [(0.0216, 3.044), (0.0231, 3.044), (0.0224, 2.5), (0.0224, 3.8)])
def test_bbn_helium_matches_class(omega_b, N_ur):
    c = make_classy({"omega_b": omega_b, "N_ur": N_ur}, "RECFAST")
    ref = c.get_current_derived_parameters(["YHe"])["YHe"]
    ours = float(helium_from_bbn(omega_b, N_ur + 0.0))
    # CLASS's own interpolation reproduced exactly: its omega_b column is the last Delta N block's
    assert class_interpolation(omega_b, N_ur - 3.046) == pytest.approx(ref, abs=1e-12)
    # our smooth fit of the table: within CLASS's jaggedness (+-6e-6 over the Planck range)
    assert abs(ours - ref) < 1e-5


@pytest.mark.parametrize("name", ["box_low", "box_high"])
def test_recfast_x_e_matches_converged_class(name):
    """x_e through recombination against CLASS's RECFAST integrated to convergence
    (tol_thermo_integration 1e-8; cl_ref.pre's 1e-5 leaves CLASS errors of 3e-5): within 6e-6
    (was 1.7e-5 with CODATA 2018 constants instead of CLASS's, CHANGELOG 2026-11-30 (d))."""
    from cosmo.oracle.cosmologies import COSMOLOGIES

    params = COSMOLOGIES[name]
    c = make_classy(params, "RECFAST", extra={"tol_thermo_integration": 1.0e-8})
    th = cosmo.solve(params).thermo
    z = np.arange(600.0, 3000.0, 25.0)
    ref = np.array([c.ionization_fraction(zz) for zz in z])
    ours = np.asarray(th.ionization_fraction(z))
    assert np.max(np.abs(ours / ref - 1.0)) < 6e-6
