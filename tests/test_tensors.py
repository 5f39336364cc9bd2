"""Tensor modes (primordial gravitational waves) against CLASS.

Issue target: primordial BB and tensor TT/EE within 1% of CLASS (cl_ref settings, tensor modes
alone: ``modes = t``) for l = 2..500, on r = 0.01 and r = 0.1 (and r = 0.1 with a 0.15 eV
neutrino, whose relativistic pressure joins the neutrino stress). TE is compared relative to
sqrt(TT EE) (it crosses zero). References: ``python -m cosmo.oracle.tensor_reference NAME``.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import spherical_jn

import cosmo
from cosmo.background import compute_background
from cosmo.harmonic import compute_tensor_cl
from cosmo.oracle.cosmologies import TENSOR_COSMOLOGIES
from cosmo.oracle.tensor_reference import L_MAX
from cosmo.params import resolve
from cosmo.precision import get_precision
from cosmo.thermodynamics import compute_thermodynamics
from cosmo.transfer.bessel import bessel_table
from cosmo.transfer.tensor import compute_tensor_transfer, tensor_perturbations

REFERENCE = pathlib.Path(__file__).parent / "reference"

#: issue targets (relative; TE relative to sqrt(TT EE))
TOLERANCE = 1.0e-2


def reference(name: str) -> dict[str, np.ndarray]:
    return dict(np.load(REFERENCE / f"tensor_high_recfast_{name}.npz"))


@functools.cache
def tensor_spectra(name: str, prec=None, l_max: int = L_MAX) -> dict[str, np.ndarray]:
    """Our tensor-mode C_l alone (the tensor stages without the scalar ones)."""
    prec = get_precision(prec)

    @jax.jit
    def run(cp):
        bg = compute_background(cp, prec)
        th = compute_thermodynamics(cp, bg, prec)
        tr = compute_tensor_transfer(tensor_perturbations(cp, bg, th, prec, l_max), bg, prec, l_max)
        return compute_tensor_cl(cp, tr, l_max).as_dict()

    return {k: np.asarray(v) for k, v in run(resolve(TENSOR_COSMOLOGIES[name])).items()}


def worst_errors(ours: dict[str, np.ndarray], ref: dict[str, np.ndarray], l_max: int = L_MAX) -> dict[str, float]:
    l = np.arange(2, l_max + 1)
    out = {key: float(np.max(np.abs(ours[key][l] / ref[f"cl_{key}"][l] - 1.0))) for key in ("tt", "ee", "bb")}
    norm = np.sqrt(ref["cl_tt"][l] * ref["cl_ee"][l])
    out["te"] = float(np.max(np.abs(ours["te"][l] - ref["cl_te"][l]) / norm))
    return out


def test_tensor_radial_functions_match_their_bessel_formulas():
    """The tensor table (T = j/x^2, E, B of CLASS's flat-space tensor transfer functions) against
    the formulas evaluated with scipy, away from and at x = 0 (series limits)."""
    ls = np.array([2, 3, 4, 30, 200])
    table = bessel_table(ls, 0.25, 600.0, tensor=True)
    x = np.array([1.0e-3, 0.37, 2.9, 17.3, 33.3, 151.7, 207.2, 420.9])
    for il, l in enumerate(ls):
        j = spherical_jn(l, x)
        dj = spherical_jn(l, x, derivative=True)
        d2j = -2.0 * dj / x - (1.0 - l * (l + 1) / x**2) * j
        expect = np.stack([j / x**2, 0.25 * (d2j + 4.0 * dj / x + (2.0 / x**2 - 1.0) * j), 0.5 * (dj + 2.0 * j / x)], -1)
        got = np.asarray(table.radial(il, jnp.asarray(x)))
        scale = np.max(np.abs(expect[1:]), axis=0)  # (x = 1e-3 checks the limits at l = 2, 3)
        for f in range(3):
            np.testing.assert_allclose(got[:, f], expect[:, f], rtol=0, atol=2e-5 * scale[f] + 1e-12,
                                       err_msg=f"l = {l}, function {f}")
    at0 = np.asarray(table.radial(0, jnp.zeros(1)))[0]
    np.testing.assert_allclose(at0, [1.0 / 15.0, 0.2, 0.0], atol=1e-15)


def test_tensor_cl_match_class_r0p1():
    """TT, EE, BB within 1% of CLASS cl_ref for l = 2..500 (TE within 1% of sqrt(TT EE))."""
    err = worst_errors(tensor_spectra("tensor_r0p1"), reference("tensor_r0p1"))
    assert max(err.values()) < TOLERANCE, err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tensor_r0p01", "tensor_r0p1_mnu"])
def test_tensor_cl_match_class(name):
    err = worst_errors(tensor_spectra(name), reference(name))
    assert max(err.values()) < TOLERANCE, (name, err)


#: coarse tensor sampling for the plumbing and gradient checks (the accuracy is tested above)
COARSE = dataclasses.replace(
    get_precision("fast"), tensor_k_step=1.0e-3, tensor_k_low_end=2.0e-3, tensor_mode_step=2.0e-3, tensor_dphase=0.6,
)


def test_facade_tensor_spectra_and_lensing_of_the_sum():
    """classy's ``modes = 's,t'``: raw_cl carries the tensor BB (zero above l_max_tensors) and the
    totals of ``cosmo.solve(..., l_max_tensors)``; the lensed spectra lens scalar + tensor (as
    CLASS): lensed BB = lensing BB + (slightly lensed) primordial BB."""
    from cosmo.lensing import lens_spectra

    prec = dataclasses.replace(COARSE, cl_l_max_margin=100, lensing_delta_l_max=200)
    M = cosmo.Class(precision=prec)
    M.set({**TENSOR_COSMOLOGIES["tensor_r0p1"], "modes": "s,t", "output": "tCl,pCl,lCl", "lensing": "yes",
           "l_max_scalars": 300, "l_max_tensors": 150})
    M.compute()
    raw, lensed = M.raw_cl(), M.lensed_cl()
    sol = cosmo.solve(TENSOR_COSMOLOGIES["tensor_r0p1"], prec, l_max=300, lensing=True, l_max_tensors=150)
    tensor = {k: np.asarray(v) for k, v in sol.cl_tensor.as_dict().items()}
    np.testing.assert_array_equal(raw["bb"], tensor["bb"])
    np.testing.assert_array_equal(raw["tt"], np.asarray(sol.cl.tt))
    assert np.all(tensor["bb"][151:] == 0.0) and np.all(tensor["tt"][151:] == 0.0) and np.all(tensor["bb"][2:151] > 0)
    scalar = {k: np.asarray(v) - tensor.get(k, 0.0) for k, v in sol.cl.as_dict().items() if k != "ell"}
    n_mu = 500 + prec.lensing_num_mu_minus_lmax
    lensed_scalar_bb = np.asarray(lens_spectra(scalar, 300, n_mu=n_mu, chunk=prec.lensing_mu_chunk).bb)
    l = np.arange(2, 101)
    unlensed_tensor_sum = lensed_scalar_bb[l] + tensor["bb"][l]
    np.testing.assert_allclose(lensed["bb"][l], unlensed_tensor_sum, rtol=2e-2)
    assert np.max(np.abs(lensed["bb"][l] / unlensed_tensor_sum - 1)) > 1e-4  # the tensor BB is lensed too
    with pytest.raises(cosmo.CosmoSevereError, match="without tensor modes"):
        bad = cosmo.Class()
        bad.set({**TENSOR_COSMOLOGIES["tensor_r0p1"], "modes": "s"})
        bad.compute()
    with pytest.raises(cosmo.CosmoSevereError, match="only 's' and 's,t'"):
        bad = cosmo.Class()
        bad.set({**TENSOR_COSMOLOGIES["tensor_r0p1"], "modes": "t"})
        bad.compute()


@pytest.mark.slow
def test_tensor_gradients_match_finite_differences():
    """d chi^2 / d(r, n_t, tau_reio) of mock tensor BB + EE data (the reionization bump and the
    recombination peak), reverse mode against central differences. (Slow: 2.6 min, a reverse-mode
    compile of the tensor hierarchy; CI differentiates the scalar spectra through the same
    background, thermodynamics and line-of-sight code, tests/test_cl_gradients.py.)"""
    base = dict(TENSOR_COSMOLOGIES["tensor_r0p1"])
    names = ("r", "n_t", "tau_reio")
    l_max = 120

    @jax.jit
    def spectra(x):
        cp = resolve({**base, **dict(zip(names, x))})
        bg = compute_background(cp, COARSE)
        th = compute_thermodynamics(cp, bg, COARSE)
        tr = compute_tensor_transfer(tensor_perturbations(cp, bg, th, COARSE, l_max), bg, COARSE, l_max)
        cl = compute_tensor_cl(cp, tr, l_max)
        return jnp.stack([cl.bb, cl.ee])

    x0 = np.array([0.1, -0.0125, 0.0544])
    data = np.asarray(spectra(x0 * np.array([1.1, 1.2, 1.05])))
    l = np.arange(l_max + 1)
    inv_var = np.where(l >= 2, (2 * l + 1) / 2.0, 0.0) / np.where(data > 0, data, 1.0) ** 2

    def chi2(x):
        return jnp.sum((spectra(x) - data) ** 2 * inv_var)

    grad = np.asarray(jax.grad(chi2)(jnp.asarray(x0)))
    for i, step in enumerate((1e-4, 1e-4, 5e-5)):
        e = np.zeros(3)
        e[i] = step
        fd = (float(chi2(x0 + e)) - float(chi2(x0 - e))) / (2 * step)
        assert abs(grad[i] / fd - 1.0) < 1e-4, (names[i], grad[i], fd)

