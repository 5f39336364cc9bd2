"""`cosmo compare --stage`: our intermediate quantities beside live CLASS (RECFAST, default
precision), and the Latin hypercube of `cosmo validate --lhs`.

The perturbation histories are a physics check as much as a tool check: before either code
switches on an approximation (a < 3e-4 for k <= 0.1 /Mpc) and once CLASS has left its initial
conditions (a > 3 times its first output; at its first step phi differs by 1.7e-4 at k = 0.1
from ours, which started earlier), every fluid and metric variable in
the Newtonian gauge agrees with CLASS's ``k_output_values`` output to 1e-5 of its maximum
(measured: <= 8e-6), except the photon shear and polarisation, which CLASS takes from its
tight-coupling expansion there (1.3e-4 and 1e-2). The matter and metric variables agree to 1e-4
at all later times.
"""

from __future__ import annotations

import numpy as np
import pytest

from cosmo.oracle.cosmologies import EXTENSIONS, PLANCK2018, PLANCK2018_SIGMA, latin_hypercube, named_or_hypercube

from .conftest import requires_classy


@pytest.fixture(scope="module")
def histories():
    from cosmo.oracle import stages

    return stages.compare_stage("perturbations", PLANCK2018, ks=(0.01, 0.1))


@requires_classy
@pytest.mark.parametrize("k", ["0.01", "0.1"])
def test_perturbation_history_matches_class_k_output_values(histories, k):
    early = {"shear_g": 5e-4, "pol0_g": None}  # CLASS's tight-coupling values: not compared
    for var in ("delta_g", "theta_g", "shear_g", "delta_b", "theta_b", "delta_cdm", "theta_cdm", "delta_ur",
                "theta_ur", "shear_ur", "phi", "psi"):
        a, ours, theirs = histories.panels[f"{var} (k={k})"]
        m = (a < 3e-4) & (a > 3 * a[0])  # after CLASS's own start (its initial-condition series: 1.7e-4 in phi)
        err = np.max(np.abs(ours[m] - theirs[m])) / np.max(np.abs(theirs[m]))
        assert err < early.get(var, 2e-5), (var, k, err)
    for var in ("delta_b", "delta_cdm", "theta_b", "phi", "psi"):
        a, ours, theirs = histories.panels[f"{var} (k={k})"]
        m = a > 3 * a[0]
        err = np.max(np.abs(ours[m] - theirs[m])) / np.max(np.abs(theirs[m]))
        assert err < 1e-4, (var, k, err)


@requires_classy
def test_compare_stage_command_writes_table_figures_and_arrays(tmp_path, capsys):
    from cosmo import cli

    assert cli.main(["compare", "--stage", "thermodynamics", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| visibility g [1/Mpc] |" in out
    data = np.load(tmp_path / "compare_thermodynamics.npz")
    z, ours, theirs = data["x_e/x"], data["x_e/ours"], data["x_e/class"]
    assert z.min() < 1.0 and z.max() > 7000.0
    # RECFAST x_e where x_e > 1e-3 (the foundation issue's criterion; CLASS default precision here, our
    # stored-reference test holds 1.8e-5 at CLASS's tight settings)
    m = theirs > 1e-3
    assert np.max(np.abs(ours[m] / theirs[m] - 1.0)) < 1e-4
    assert (tmp_path / "compare_thermodynamics.png").stat().st_size > 20_000


@requires_classy
def test_transfer_stage_matter_and_weyl_potential(tmp_path):
    """d_m and phi + psi today against CLASS's get_transfer (default precision, where CLASS's own
    P(k) differs from its cl_ref by a few 1e-4)."""
    from cosmo.oracle import stages

    comp = stages.compare_stage("transfer", PLANCK2018, z=0.0)
    for name in ("d_m", "phi + psi"):
        k, ours, theirs = comp.panels[name]
        assert k.min() < 1e-3 and k.max() > 0.5
        assert np.max(np.abs(ours / theirs - 1.0)) < 1e-3, name


def test_latin_hypercube_is_latin_reproducible_and_in_the_box():
    pts = latin_hypercube(20, seed=3)
    assert pts == latin_hypercube(20, seed=3) and pts != latin_hypercube(20, seed=4)
    assert list(pts)[7] == "lhs20_s3_07" and named_or_hypercube("lhs20_s3_07") == pts["lhs20_s3_07"]
    for name, sigma in PLANCK2018_SIGMA.items():
        v = np.array([p[name] for p in pts.values()])
        lo = PLANCK2018[name] - 5 * sigma
        strata = np.floor((v - lo) / (10 * sigma) * 20).astype(int)
        assert sorted(strata) == list(range(20)), name  # one point per stratum of every parameter


def test_latin_hypercube_extensions():
    pts = latin_hypercube(8, seed=0, extensions=["neff", "mnu"])
    for p in pts.values():
        lo, hi = EXTENSIONS["mnu"]["m_ncdm"]
        assert lo <= p["m_ncdm"][0] <= hi
        n_eff = p["N_ur"] + 1.0132
        assert EXTENSIONS["neff"]["N_eff"][0] <= n_eff <= EXTENSIONS["neff"]["N_eff"][1]
    assert next(iter(pts)).startswith("lhs8_mnu_neff_s0_")
    w = latin_hypercube(4, extensions=["w0wa", "omk"])
    assert all({"w0_fld", "wa_fld", "Omega_k"} <= set(p) for p in w.values())
    with pytest.raises(ValueError, match="unknown hypercube extensions.*allowed"):
        latin_hypercube(4, extensions=["axions"])
    with pytest.raises(ValueError, match="index must be < 4"):
        named_or_hypercube("lhs4_s0_09")
    with pytest.raises(ValueError, match="unknown cosmology 'planck2019'"):
        named_or_hypercube("planck2019")
