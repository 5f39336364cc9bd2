"""The classy-compatible facade: same calls, same units and types as classy."""

import numpy as np
import pytest

import cosmo
from cosmo.oracle.classy_runner import TIGHT
from cosmo.oracle.cosmologies import COSMOLOGIES

from .conftest import requires_classy

DERIVED = ["z_star", "rs_star", "100*theta_s", "100*theta_star", "z_d", "rs_d", "z_reio", "YHe", "Omega_m",
           "Neff", "age", "conformal_age"]


def _script(Class, extra):
    """A classy user's script, run unchanged with either implementation."""
    M = Class()
    M.set({**COSMOLOGIES["mnu_0p15"], "m_ncdm": "0.15", "N_ncdm": 1, "output": "tCl", "lensing": "no"})
    M.set(extra)
    M.compute()
    out = {
        "Hubble": M.Hubble(1.0),
        "angular_distance": M.angular_distance(1.0),
        "luminosity_distance": M.luminosity_distance(1.0),
        "comoving_distance": M.comoving_distance(1.0),
        "ionization_fraction": M.ionization_fraction(1100.0),
        "baryon_temperature": M.baryon_temperature(1100.0),
        "h": M.h(),
        "age": M.age(),
        **M.get_current_derived_parameters(DERIVED),
    }
    M.struct_cleanup()
    M.empty()
    return out


@requires_classy
def test_same_script_runs_on_classy_and_cosmo():
    import classy

    ours = _script(cosmo.Class, {"recombination": "RECFAST"})
    theirs = _script(classy.Class, {"recombination": "RECFAST", **TIGHT})
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert type(ours[key]) is float, key
        assert ours[key] == pytest.approx(theirs[key], rel=2e-4), key


def test_errors_are_classy_named_and_explicit():
    M = cosmo.Class()
    with pytest.raises(cosmo.CosmoSevereError, match="compute"):
        M.Hubble(0.0)
    M.set({"omega_b": -1.0})
    with pytest.raises(cosmo.CosmoSevereError, match="omega_b"):
        M.compute()
    M.empty()
    M.set({"not_a_class_parameter": 1.0})
    with pytest.raises(cosmo.CosmoSevereError, match="not_a_class_parameter"):
        M.compute()
    with pytest.raises(cosmo.CosmoSevereError, match="unknown derived"):
        M.empty()
        M.set(COSMOLOGIES["planck2018"])
        M.compute()
        M.get_current_derived_parameters(["not_derived"])


def test_facade_matches_functional_api():
    M = cosmo.Class()
    M.set(COSMOLOGIES["planck2018"])
    M.compute()
    sol = cosmo.solve(COSMOLOGIES["planck2018"])
    assert M.angular_distance(2.0) == float(sol.background.angular_distance(2.0))
    assert M.get_current_derived_parameters(["z_star"])["z_star"] == float(sol.thermo.z_star)
    assert np.isfinite(M.solution.thermo.x_e).all()
