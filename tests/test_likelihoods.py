"""Likelihoods on real data, against published values and independent implementations.

* plik_lite and low-l TT: the reference ln L of ../shared/data/README.md to 1e-6 absolute;
* SPT-3G 2018 TT/TE/EE lite, SPT-3G 2018 lensing (both responses), ACT DR6 lensing: against
  the ``candl`` package pointed at the same files, on CLASS spectra, at two nuisance points;
* Planck 2018 lensing (both variants) and BAO: against plain-numpy implementations written
  here from the data files' documented conventions (CosmoMC .dataset, Cobaya bao_data);
* gradients against central finite differences; jit and vmap over a batch of theories.
"""

from __future__ import annotations

import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import likelihoods as lk
from likelihoods.theory import Theory

from .conftest import DATA_DIR, requires_classy, requires_data

pytestmark = requires_data

# Published plik_lite values (../shared/data/README.md, rounded to 1e-5) for
# reference/planck_lite_test_Dl.dat at A_planck = 1, and Cobaya's unrounded value of the first.
COBAYA_TTTEEE = -291.33481235418003
PLIK_REFERENCE = {
    ("TTTEEE", False): -291.33481,
    ("TTTEEE", True): -293.95587,
    ("TT", False): -101.58123,
    ("TT", True): -104.20228,
}


@functools.cache
def reference_theory() -> Theory:
    table = np.loadtxt(DATA_DIR / "reference" / "planck_lite_test_Dl.dat")
    ell = table[:, 0].astype(int)
    cls = {}
    for col, key in enumerate(("tt", "te", "ee"), start=1):
        cls[key] = np.zeros(ell.max() + 1)
        cls[key][ell] = table[:, col]
    return lk.theory_from_cls(cls)


@pytest.mark.parametrize("spectra,with_lowl", list(PLIK_REFERENCE))
def test_plik_lite_matches_published_values(spectra, with_lowl):
    value = lk.get(f"planck_2018_highl_plik.{spectra}_lite")(reference_theory(), {"A_planck": 1.0})
    if with_lowl:
        value = value + lk.get("planck_2018_lowl.TT_bins")(reference_theory(), {"A_planck": 1.0})
    # the published values are rounded to 5 decimals: agreement to 1e-6 beyond the rounding
    assert abs(float(value) - PLIK_REFERENCE[(spectra, with_lowl)]) <= 0.5e-5 + 1.0e-6
    if (spectra, with_lowl) == ("TTTEEE", False):
        assert abs(float(value) - COBAYA_TTTEEE) <= 1.0e-6


def test_plik_lite_calibration_and_prior():
    like = lk.get("planck_2018_highl_plik.TTTEEE_lite")
    th = reference_theory()
    # A_planck rescales the model: ln L at A on theory T equals ln L at 1 on T / A^2
    scaled = lk.theory_from_cls({k: v / 1.003**2 for k, v in th.cl.items()})
    assert float(like(th, {"A_planck": 1.003})) == pytest.approx(float(like(scaled, {"A_planck": 1.0})), abs=1e-9)
    assert float(like.log_prior({"A_planck": 1.0025})) == pytest.approx(-0.5)
    assert like.requirements.cl == {"tt": 2508, "te": 2508, "ee": 2508}


# --------------------------------------------------------------------------- CLASS spectra
@functools.cache
def class_spectra() -> dict[str, np.ndarray]:
    """Lensed CLASS spectra (Planck 2018 best fit) in likelihood units, l = 0..3300."""
    from cosmo.oracle.classy_runner import make_classy
    from cosmo.oracle.cosmologies import PLANCK2018

    c = make_classy(PLANCK2018, "HyRec", extra={"output": "tCl,pCl,lCl", "lensing": "yes", "l_max_scalars": 3300})
    out = {k: np.asarray(v) for k, v in lk.adapters.cl_to_theory_units(c.lensed_cl(3300), c.T_cmb()).items()}
    c.struct_cleanup()
    c.empty()
    return out


class _JnpCompat:
    """candl 2.2.0 hands YAML lists to jnp.atleast_1d/2d, which current JAX rejects; convert first."""

    def __getattr__(self, name):
        return getattr(jnp, name)

    @staticmethod
    def atleast_1d(x):
        return jnp.atleast_1d(jnp.asarray(x))

    @staticmethod
    def atleast_2d(x):
        return jnp.atleast_2d(jnp.asarray(x))


@requires_classy
@pytest.mark.parametrize("name", list(lk.candl_format.RELEASES))
def test_candl_format_likelihoods_match_candl(name, monkeypatch):
    candl = pytest.importorskip("candl")
    candl_likelihood = pytest.importorskip("candl.likelihood")

    monkeypatch.setattr(candl_likelihood, "jnp", _JnpCompat())
    dataset, yaml_file = lk.candl_format.RELEASES[name]
    reference = (candl.LensLike if "lens" in name else candl.Like)(str(DATA_DIR / dataset / yaml_file))
    d = class_spectra()
    ours = lk.get(name)
    theory = lk.theory_from_cls(d)
    n_ell = ours.l_max - 1
    dl = {"TT": d["tt"], "TE": d["te"], "EE": d["ee"], "pp": d["pp"], "kk": d["pp"] * np.pi / 2}
    dl = {k: v[2 : 2 + n_ell] for k, v in dl.items()}
    for nuisance in ({"tau": 0.054, "Tcal": 1.0, "Ecal": 1.0, "A_fg": 1.0},
                     {"tau": 0.061, "Tcal": 1.004, "Ecal": 0.991, "A_fg": 0.7}):
        expected = float(reference.log_like({"Dl": dl, **nuisance}))  # candl: ln L incl. its priors
        params = {"tau_reio": nuisance["tau"], "Tcal": nuisance["Tcal"], "Ecal": nuisance["Ecal"],
                  "A_fg": nuisance["A_fg"]}
        got = float(ours.log_likelihood(theory, params) + ours.log_prior(params))
        assert got == pytest.approx(expected, abs=1.0e-8), (name, nuisance)


# --------------------------------------------------------------------------- Planck lensing, numpy
def _numpy_planck_lensing(variant: str, cls: dict[str, np.ndarray], a_planck: float) -> float:
    """Independent implementation from the .dataset conventions (CosmoMC CMBlikes, binned, Gaussian)."""
    folder = DATA_DIR / "planck2018_lensing"
    root = "smicadx12_Dec5_ftl_mv2_ndclpp_p_teb_consext8" + ("_CMBmarged" if variant == "CMBMarged" else "")
    base = "smicadx12_Dec5_ftl_mv2_ndclpp_p_teb_consext8"
    bands = np.loadtxt(folder / f"{base}_bandpowers.dat")  # bin L_min L_max L_av PP Error Ahat
    cov = np.loadtxt(folder / f"{root}_cov.dat")
    fid = np.loadtxt(folder / f"{root}_lensing_fiducial_correction.dat")[:, 1]
    order = ["tt", "ee", "te", "pp"] if variant == "native" else ["pp"]
    model = np.zeros(9)
    for b in range(9):
        w = np.loadtxt(folder / f"{base}_window" / f"window{b + 1}.dat")
        m = np.loadtxt(folder / f"{root}_lens_delta_window" / f"window{b + 1}.dat")
        for row in w:
            L = int(row[0])
            if 2 <= L <= 2500:
                model[b] += row[1] * cls["pp"][L]
        for row in m:
            L = int(row[0])
            if 2 <= L <= 2500:
                for j, key in enumerate(order):
                    x = cls[key][L] / (a_planck**2 if key != "pp" else 1.0)
                    model[b] += row[1 + j] * x
    d = bands[:, 4] - (model - fid)
    return float(-0.5 * d @ np.linalg.solve(cov, d))


@requires_classy
@pytest.mark.parametrize("variant", ["native", "CMBMarged"])
def test_planck_lensing_matches_numpy_implementation(variant):
    d = class_spectra()
    like = lk.get(f"planck_2018_lensing.{variant}")
    theory = lk.theory_from_cls(d)
    for a in (1.0, 1.004):
        got = float(like(theory, {"A_planck": a}))
        assert got == pytest.approx(_numpy_planck_lensing(variant, d, a), abs=1e-8)
    # the CMB-marginalised variant has no calibration parameter and needs only pp
    assert ("A_planck" in like.defaults) == (variant == "native")
    assert set(like.requirements.cl) == ({"pp", "tt", "ee", "te"} if variant == "native" else {"pp"})


# --------------------------------------------------------------------------- BAO, numpy
BAO_FILES = {
    "bao.desi_dr2": ("desi_bao_dr2/desi_gaussian_bao_ALL_GCcomb_mean.txt",
                     "desi_bao_dr2/desi_gaussian_bao_ALL_GCcomb_cov.txt", 1.0),
    "bao.desi_dr1": ("desi_2024_gaussian_bao_ALL_GCcomb_mean.txt", "desi_2024_gaussian_bao_ALL_GCcomb_cov.txt", 1.0),
    "bao.sdss_dr12_consensus": ("sdss_DR12Consensus_bao.dat", "BAO_consensus_covtot_dM_Hz.txt", 147.78),
    "bao.sdss_dr16_lrg": ("sdss_DR16_LRG_BAO_DMDH.dat", "sdss_DR16_LRG_BAO_DMDH_covtot.txt", 1.0),
}


def _background(z):
    """A flat LCDM background in closed-ish form (numpy quadrature): D_M, D_H [Mpc] and r_d."""
    from scipy.integrate import quad

    h, om = 0.6766, 0.3111
    c = 299792.458

    def H(x):
        return 100 * h * np.sqrt(om * (1 + x) ** 3 + 1 - om)

    dm = np.array([quad(lambda x: c / H(x), 0, zi, epsabs=0, epsrel=1e-12)[0] for zi in z])
    return dm, c / H(np.asarray(z)), 147.1


@pytest.mark.parametrize("name", list(BAO_FILES))
def test_bao_gaussian_matches_numpy_implementation(name):
    mean_file, cov_file, rs_fid = BAO_FILES[name]
    rows = [line.split() for line in open(DATA_DIR / "bao" / mean_file) if line.strip() and line[0] != "#"]
    z = np.array([float(r[0]) for r in rows])
    values = np.array([float(r[1]) for r in rows])
    dm, dh, rd = _background(z)
    model = []
    for zi, dmi, dhi, r in zip(z, dm, dh, rows):
        obs = r[2].removeprefix("bao_")
        rr = rd / rs_fid
        model.append({"DM_over_rs": dmi / rr, "DH_over_rs": dhi / rr, "DV_over_rs": np.cbrt(zi * dmi**2 * dhi) / rr,
                      "Hz_rs": 299792.458 / dhi * rr}[obs])
    diff = np.array(model) - values
    expected = -0.5 * diff @ np.linalg.solve(np.loadtxt(DATA_DIR / "bao" / cov_file), diff)
    like = lk.get(name)
    zs = like.requirements.z
    dm_t, dh_t, _ = _background(zs)
    theory = Theory(D_M=jnp.asarray(dm_t), D_H=jnp.asarray(dh_t), r_drag=jnp.asarray(rd), z=zs)
    assert float(like(theory)) == pytest.approx(expected, abs=1e-9)


def test_bao_mgs_matches_cobaya_convention_and_is_minus_inf_outside():
    from scipy.interpolate import UnivariateSpline

    chi2 = np.loadtxt(DATA_DIR / "bao" / "sdss_MGS_prob.txt")
    alpha_grid = np.linspace(0.8005, 1.1985, chi2.size)
    spline = UnivariateSpline(alpha_grid, -chi2 / 2, s=0)
    like = lk.get("bao.sdss_dr7_mgs")
    dm, dh, _ = _background([0.15])
    dv = np.cbrt(0.15 * dm[0] ** 2 * dh[0])
    for alpha in (0.93, 1.0123, 1.07):
        rd = dv / (alpha * 638.9518 / 148.69)
        theory = Theory(D_M=jnp.asarray(dm), D_H=jnp.asarray(dh), r_drag=jnp.asarray(rd), z=(0.15,))
        assert float(like(theory)) == pytest.approx(float(spline(alpha)), abs=1e-9)
    far = Theory(D_M=jnp.asarray(dm), D_H=jnp.asarray(dh), r_drag=jnp.asarray(dv / 1.3 / 4.2972), z=(0.15,))
    assert float(like(far)) == -np.inf


def test_theory_errors_name_what_is_missing():
    like = lk.get("planck_2018_highl_plik.TT_lite")
    short = lk.theory_from_cls({"tt": np.ones(2000)})
    with pytest.raises(ValueError, match="stops at l = 1999.*l = 2508"):
        like(short)
    with pytest.raises(KeyError, match="no 'tt' spectrum"):
        like(lk.theory_from_cls({"ee": np.ones(3000)}))
    with pytest.raises(ValueError, match="no background quantities at z = 0.295"):
        lk.get("bao.desi_dr2")(Theory(D_M=jnp.ones(1), D_H=jnp.ones(1), r_drag=jnp.asarray(147.0), z=(0.5,)))
    with pytest.raises(KeyError, match="unknown likelihood 'plik'.*planck_2018_highl_plik.TTTEEE_lite"):
        lk.get("plik")


def test_combination_shares_nuisance_priors_once():
    combo = lk.combine(["planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins",
                        "planck_2018_lensing.native", "tau_prior"])
    assert [p.names for p in combo.priors] == [("A_planck",)]
    assert combo.defaults == {"A_planck": 1.0}
    req = combo.requirements
    assert req.cl["tt"] == 2508 and req.cl["pp"] == 2500 and req.params == ("tau_reio",)
    th = reference_theory()
    parts = lk.combine(["planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins"]).log_likelihoods(th)
    assert sum(float(v) for v in parts.values()) == pytest.approx(PLIK_REFERENCE[("TTTEEE", True)], abs=1e-5)


# --------------------------------------------------------------------------- gradients, jit, vmap
def _smooth_direction(n: int, seed: int) -> np.ndarray:
    ell = np.arange(n)
    rng = np.random.default_rng(seed)
    return sum(rng.normal() * np.cos(np.pi * j * ell / n) for j in range(1, 6)) * 0.01


@requires_classy
@pytest.mark.parametrize("name", ["planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins",
                                  "planck_2018_lensing.native", "spt3g_2018.TTTEEE_lite",
                                  "spt3g_2018.PP_lens_and_CMB", "act_dr6.lensing_lens_only"])
def test_gradients_match_finite_differences(name):
    like = lk.get(name)
    base = class_spectra()
    keys = sorted(like.requirements.cl)
    nuisance = {k: v * 1.001 for k, v in like.defaults.items()}
    directions = {k: _smooth_direction(base[k].size, i) * base[k] for i, k in enumerate(keys)}

    def f(eps, nuis):
        cls = {k: jnp.asarray(base[k]) + eps * directions[k] for k in keys}
        params = {**nuis, "tau_reio": jnp.asarray(0.055)}
        return like.log_likelihood(lk.Theory(cl=cls), params) + like.log_prior(params)

    grad_eps, grad_nuis = jax.jit(jax.grad(f, argnums=(0, 1)))(0.0, nuisance)
    h = 1.0e-3
    fd = (f(h, nuisance) - f(-h, nuisance)) / (2 * h)
    assert float(grad_eps) == pytest.approx(float(fd), rel=1e-6, abs=1e-8)
    for key in nuisance:
        up = {**nuisance, key: nuisance[key] + 1e-6}
        dn = {**nuisance, key: nuisance[key] - 1e-6}
        fd = (f(0.0, up) - f(0.0, dn)) / 2e-6
        assert float(grad_nuis[key]) == pytest.approx(float(fd), rel=1e-5, abs=1e-6), key


def test_bao_gradient_matches_finite_differences():
    like = lk.get("bao.desi_dr2")
    zs = like.requirements.z
    dm, dh, rd = _background(zs)

    def f(r):
        return like(Theory(D_M=jnp.asarray(dm), D_H=jnp.asarray(dh), r_drag=r, z=zs))

    g = jax.grad(f)(jnp.asarray(rd))
    assert float(g) == pytest.approx(float((f(rd + 1e-4) - f(rd - 1e-4)) / 2e-4), rel=1e-6)


def test_jit_and_vmap_over_a_batch_of_theories():
    like = lk.combine(["planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins"])
    th = reference_theory()
    scales = jnp.asarray([0.99, 1.0, 1.01])
    batch = lk.Theory(cl={k: scales[:, None] * v[None, :] for k, v in th.cl.items()})
    batched = jax.jit(jax.vmap(lambda t: like(t, {"A_planck": 1.0})))(batch)
    singles = [float(like(lk.Theory(cl={k: s * v for k, v in th.cl.items()}), {"A_planck": 1.0})) for s in scales]
    np.testing.assert_allclose(np.asarray(batched), singles, rtol=0, atol=1e-8)
    assert float(batched[1]) == pytest.approx(PLIK_REFERENCE[("TTTEEE", True)], abs=1e-5)


def test_segment_sum_binning_equals_the_dense_bin_matrix_with_batch_axes():
    """The plik_lite binning (a segment sum over l) is the dense bin-matrix product of the
    published weights, for a single spectrum and for leading batch axes."""
    from likelihoods.planck_lite import Binning

    rng = np.random.default_rng(1)
    blmin, blmax = np.array([0, 3, 10]), np.array([2, 7, 12])  # l = 30..49, a gap at l = 38, 39
    weights = rng.uniform(0.5, 1.5, 20)
    binning = Binning(blmin, blmax, weights, 30, 3, 49)
    dense = np.zeros((3, 20))
    ell = np.arange(30, 50)
    for b in range(3):
        sel = slice(blmin[b], blmax[b] + 1)
        dense[b, sel] = weights[sel] * 2 * np.pi / (ell[sel] * (ell[sel] + 1))
    dl = rng.uniform(100, 5000, (4, 2, 20))
    np.testing.assert_allclose(np.asarray(binning(dl)), dl @ dense.T, rtol=1e-13, atol=0)
    np.testing.assert_allclose(np.asarray(binning(dl[0, 0])), dense @ dl[0, 0], rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="overlaps"):
        Binning(np.array([0, 2]), np.array([3, 5]), weights, 30, 2, 49)


# --------------------------------------------------------------------------- CLI
def test_cli_loglike_list_and_file(tmp_path, capsys):
    from inference.cli import main

    assert main(["loglike", "--list"]) == 0
    out = capsys.readouterr().out
    assert "planck_2018_highl_plik.TTTEEE_lite" in out and "plik_lite" in out and "TTTEEE" in out
    table = np.loadtxt(DATA_DIR / "reference" / "planck_lite_test_Dl.dat")  # l, TT, TE, EE
    path = tmp_path / "test_lensedCls.dat"
    np.savetxt(path, np.c_[table[:, 0], table[:, 1], table[:, 3], 0 * table[:, 1], table[:, 2]])  # CAMB order
    assert main(["loglike", "planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins", "--cls", str(path)]) == 0
    out = capsys.readouterr().out
    total = float(next(line for line in out.splitlines() if line.startswith("total")).split()[4])
    assert total == pytest.approx(PLIK_REFERENCE[("TTTEEE", True)], abs=1e-5)
    assert main(["loglike", "tau_prior", "--cls", str(path)]) == 2
    assert "tau_reio" in capsys.readouterr().out
    assert main(["loglike", "tau_prior", "--cls", str(path), "--param", "tau_reio=0.0617"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("tau_prior"))
    assert float(line.split()[4]) == pytest.approx(-0.5 * ((0.0617 - 0.0544) / 0.0073) ** 2, abs=1e-6)


def test_example_notebook_runs(capsys):
    """examples/planck_lite_with_classy.py: plik_lite on classy spectra at the Planck best fit."""
    import runpy

    pytest.importorskip("classy")
    runpy.run_path(str(pathlib.Path(__file__).parents[1] / "examples" / "planck_lite_with_classy.py"),
                   run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    chi2 = float(next(line for line in lines if line.startswith("chi2 plik_lite TTTEEE")).split()[-1])
    ln_l = float(next(line for line in lines if line.startswith("planck_2018_highl_plik.TTTEEE_lite")).split()[-1])
    assert chi2 == pytest.approx(-2.0 * ln_l, abs=2e-4)
    assert 560 < chi2 < 620  # 613 bandpowers at the best-fit cosmology


@requires_classy
def test_solver_adapter_gives_classys_bao_likelihood():
    """Our solver's background through ``from_solution`` and CLASS's through ``from_classy`` agree."""
    from cosmo.oracle.classy_runner import make_classy
    from cosmo.oracle.cosmologies import PLANCK2018

    from .conftest import solved

    like = lk.combine(["bao.desi_dr2", "bao.sdss_dr12_consensus", "bao.sdss_dr16_lrg", "bao.sdss_dr7_mgs"])
    ours = lk.adapters.from_solution(solved("planck2018"), like.requirements)
    c = make_classy(PLANCK2018, "RECFAST")
    theirs = lk.adapters.from_classy(c, like.requirements)
    np.testing.assert_allclose(np.asarray(ours.D_M), np.asarray(theirs.D_M), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ours.D_H), np.asarray(theirs.D_H), rtol=1e-5)
    assert float(ours.r_drag) == pytest.approx(float(theirs.r_drag), rel=1e-4)
    assert float(like(ours)) == pytest.approx(float(like(theirs)), abs=1e-2)
    with pytest.raises(ValueError, match=r"solve with cosmo.solve\(params, l_max=29, lensing=True\)"):
        lk.adapters.from_solution(solved("planck2018"), lk.get("planck_2018_lowl.TT_bins").requirements)


def test_lowl_ee_references_hold_class_physics():
    """The exact low-l EE references come from CLASS runs that reproduce the stored cl_ref EE."""
    ref_dir = pathlib.Path(__file__).parent / "reference"
    files = sorted(ref_dir.glob("lowl_ee_high_recfast_*.npz"))
    assert files
    for path in files:
        name = path.name.removeprefix("lowl_ee_high_recfast_").removesuffix(".npz")
        low = np.load(path)
        ref = np.load(ref_dir / f"spectra_high_recfast_{name}.npz")
        np.testing.assert_allclose(low["cl_ee_class"], ref["cl_ee"][low["ell"]], rtol=1e-4, err_msg=name)
        rel = low["cl_ee_exact"] / low["cl_ee_class"] - 1.0
        assert np.all(np.abs(rel) < 3e-3), (name, rel)  # CLASS's own low-l EE LOS error stays small
