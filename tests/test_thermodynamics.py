"""Thermodynamics against stored CLASS (v3.3.4) references on every named cosmology.

Targets (foundation issue): x_e within 1e-3 where x_e > 1e-3 for z in [0, 8000];
z_star, z_d, rs_star, rs_d within 1e-4; 100*theta_s within 2e-5. First against CLASS
run with ``recombination = RECFAST`` (our model), then against CLASS's default HyRec.
"""

import numpy as np
import pytest

from cosmo.oracle.cosmologies import COSMOLOGIES

from .conftest import reference, solved

EPOCH_TOL = {"z_star": 1e-4, "z_d": 1e-4, "rs_star": 1e-4, "rs_d": 1e-4, "100*theta_s": 2e-5}
XE_TOL = 1e-3


def _xe_error(name, model):
    _, per = reference(model)
    ref = per[name]
    th = solved(name).thermo
    z, x_ref = ref["z_thermo"], ref["x_e"]
    mask = x_ref > 1e-3
    assert z.max() >= 8000.0 and mask.sum() > 1000
    return np.max(np.abs(np.asarray(th.ionization_fraction(z))[mask] / x_ref[mask] - 1.0))


def _epoch_errors(name, model):
    _, per = reference(model)
    th = solved(name).thermo
    ours = {"z_star": th.z_star, "z_d": th.z_d, "rs_star": th.rs_star, "rs_d": th.rs_d, "100*theta_s": th.theta_s_100}
    return {k: abs(float(v) / float(per[name]["derived/" + k]) - 1.0) for k, v in ours.items()}


@pytest.mark.parametrize("name", list(COSMOLOGIES))
def test_recfast_ionization_history(name):
    assert _xe_error(name, "recfast") < XE_TOL


@pytest.mark.parametrize("name", list(COSMOLOGIES))
def test_recfast_epochs(name):
    errors = _epoch_errors(name, "recfast")
    for key, tol in EPOCH_TOL.items():
        assert errors[key] < tol, (key, errors[key])


@pytest.mark.parametrize("name", list(COSMOLOGIES))
def test_recfast_helium_reionization_and_temperature(name):
    _, per = reference("recfast")
    ref = per[name]
    th = solved(name).thermo
    assert abs(float(th.YHe) - float(ref["derived/YHe"])) < 2e-5  # BBN fit vs CLASS's table
    np.testing.assert_allclose(float(th.z_reio), float(ref["derived/z_reio"]), rtol=1e-4)
    np.testing.assert_allclose(float(th.tau_reio), float(ref["derived/tau_reio"]), rtol=1e-4)
    z = ref["z_thermo"]
    np.testing.assert_allclose(np.asarray(th.baryon_temperature(z)), ref["T_b"], rtol=1e-3)


@pytest.mark.parametrize("name", list(COSMOLOGIES))
def test_hyrec_epochs(name):
    errors = _epoch_errors(name, "hyrec")
    for key in ("z_star", "z_d", "rs_star", "rs_d"):
        assert errors[key] < EPOCH_TOL[key], (key, errors[key])


@pytest.mark.xfail(strict=True, reason="HyRec's multi-level-atom physics is not implemented yet: "
                   "100*theta_s differs from CLASS-HyRec by up to 5.7e-5 across the box")
def test_hyrec_theta_s():
    worst = max(_epoch_errors(name, "hyrec")["100*theta_s"] for name in COSMOLOGIES)
    assert worst < EPOCH_TOL["100*theta_s"]


@pytest.mark.xfail(strict=True, reason="HyRec's multi-level-atom physics is not implemented yet: "
                   "x_e differs from CLASS-HyRec by ~3e-3")
def test_hyrec_ionization_history():
    assert _xe_error("planck2018", "hyrec") < XE_TOL


def test_visibility_is_normalised_and_peaks_at_z_rec():
    th = solved("planck2018").thermo
    lnz = np.asarray(th.lnz)
    z = np.expm1(lnz)
    integrand = np.asarray(th.g) * (1 + z) / np.asarray(solved("planck2018").background.hubble(z))
    total = np.trapezoid(integrand, lnz)
    assert abs(total - (1.0 - np.exp(-float(th.kappa[-1])))) < 1e-4
    assert abs(z[np.argmax(np.asarray(th.g))] - float(th.z_rec)) < 2.0
