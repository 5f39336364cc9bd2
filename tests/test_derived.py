"""Derived parameters under classy's names against classy (same inputs, RECFAST), and errors."""

from __future__ import annotations

import numpy as np
import pytest

import cosmo
from cosmo.oracle.cosmologies import COSMOLOGIES

from .conftest import requires_classy, solved

#: Names added with the observables issue (the foundation's are in test_thermodynamics.py).
NAMES = ("z_eq", "a_eq", "H_eq", "tau_eq", "k_eq", "tau_d", "m_ncdm_tot", "omega_m", "rs_d_h",
         "ds_d_h", "rs_rec_h", "ra_rec_h", "da_rec_h", "ds_rec_h", "A_s", "ln10^{10}A_s", "ln_A_s_1e10", "n_s",
         "exp_m_2_tau_As", "Omega0_lambda", "Omega0_fld", "h", "H0", "Neff")


@requires_classy
@pytest.mark.parametrize("name", ["planck2018", "mnu_0p15", "w0wa"])
def test_derived_parameters_match_classy(name):
    """Equality (z_eq, a_eq, H_eq, tau_eq, k_eq) within 5e-6 (measured 2.6e-6), distances in Mpc/h
    within 2e-6, primordial parameters exactly."""
    from cosmo.oracle.classy_runner import make_classy

    c = make_classy(COSMOLOGIES[name], "RECFAST")
    theirs = c.get_current_derived_parameters(list(NAMES))
    ours = {k: float(v) for k, v in cosmo.derived_parameters(solved(name), list(NAMES)).items()}
    for key in NAMES:
        if theirs[key] == 0.0:
            assert abs(ours[key]) < 1e-12, key
            continue
        tol = 1e-12 if key in ("A_s", "ln10^{10}A_s", "ln_A_s_1e10", "n_s") else 5e-6
        assert abs(ours[key] / theirs[key] - 1.0) < tol, (key, ours[key], theirs[key])
    # CLASS's conf_time_reio is taken during its z_reio bisection (4e-4 off its own background
    # at the final z_reio); ours is tau(z_reio) exactly, compared with CLASS's background table.
    bg = c.get_background()
    z_reio = c.get_current_derived_parameters(["z_reio"])["z_reio"]
    tau_class = np.interp(z_reio, bg["z"][::-1], bg["conf. time [Mpc]"][::-1])
    ours_reio = cosmo.derived_parameters(solved(name), ["conf_time_reio", "z_reio"])
    assert abs(float(ours_reio["z_reio"]) / z_reio - 1.0) < 1e-4
    assert abs(float(ours_reio["conf_time_reio"]) / tau_class - 1.0) < 1e-4


def test_every_listed_name_is_available():
    table = cosmo.derived_parameters(solved("planck2018"))
    missing = [n for n in cosmo.DERIVED_PARAMETERS if n not in table and n not in ("sigma8", "S8")]
    assert not missing


def test_sigma8_without_pk_says_how_to_get_it():
    with pytest.raises(ValueError, match=r"pk=True"):
        cosmo.derived_parameters(solved("planck2018"), ["sigma8"])
    M = cosmo.Class()
    M.set(COSMOLOGIES["planck2018"])
    M.compute()
    with pytest.raises(cosmo.CosmoSevereError, match="mPk"):
        M.get_current_derived_parameters(["S8"])
    assert M.H0() == pytest.approx(67.36) and M.z_eq() > 3000
