"""Background against stored CLASS (v3.3.4) references on every named cosmology.

Target (foundation issue): relative error <= 1e-5 for H, distances and ages, z in [0, 1e4].
"""

import numpy as np
import pytest

from cosmo.oracle.cosmologies import COSMOLOGIES

from .conftest import reference, solved

TOL = 1.0e-5


@pytest.mark.parametrize("name", list(COSMOLOGIES))
def test_background_matches_class(name):
    _, per = reference("recfast")
    ref = per[name]
    bg = solved(name).background
    z = ref["z_background"]
    assert z.max() >= 1.0e4
    np.testing.assert_allclose(np.asarray(bg.hubble(z)), ref["H"], rtol=TOL, atol=0)
    pos = z > 0
    for key, fn in (
        ("comoving_distance", bg.comoving_distance),
        ("angular_distance", bg.angular_distance),
        ("luminosity_distance", bg.luminosity_distance),
    ):
        np.testing.assert_allclose(np.asarray(fn(z[pos])), ref[key][pos], rtol=TOL, atol=0, err_msg=key)
    for key, ours in (
        ("age", bg.age),
        ("conformal_age", bg.conformal_age),
        ("Omega_m", bg.Omega0_m),
        ("Neff", bg.Neff),
    ):
        np.testing.assert_allclose(float(ours), float(ref["derived/" + key]), rtol=TOL, err_msg=key)


def test_budget_closes():
    bg = solved("omk_pos").background
    total = (
        bg.Omega0_g + bg.Omega0_b + bg.Omega0_cdm + bg.Omega0_ur + bg.Omega0_ncdm.sum()
        + bg.Omega0_lambda + bg.Omega0_fld + bg.Omega0_k
    )
    assert abs(float(total) - 1.0) < 1e-14
    w = solved("w0wa").background
    assert float(w.Omega0_lambda) == 0.0 and float(w.Omega0_fld) > 0.6


def test_massive_neutrinos_are_radiation_early_and_matter_late():
    bg = solved("mnu_0p15").background
    early = bg.densities(np.log(1e-10))
    assert abs(float(3 * early["p_ncdm"] / early["rho_ncdm"]) - 1.0) < 1e-6
    late = bg.densities(0.0)
    assert float(late["p_ncdm"] / late["rho_ncdm"]) < 1e-5
    # m / omega_nu = 93.14 eV with CLASS's default T_ncdm
    assert abs(0.15 / float(bg.Omega0_ncdm[0] * bg.h**2) - 93.14) < 0.05
