"""Unlensed C_l against the stored high-precision CLASS references (issue targets).

Slow (the full l <= 3000 computation evolves ~450 modes): run with ``-m slow``. The
targets are not met yet (see CHANGELOG: low-l TT/EE/TE at the few 1e-3 level, phi-phi
limited by the largest evolved k); the test is a strict xfail until they are.
"""

from __future__ import annotations

import functools
import pathlib

import jax
import numpy as np
import pytest

import cosmo
from cosmo.harmonic import compute_cl
from cosmo.oracle.cosmologies import COSMOLOGIES
from cosmo.perturbations import compute_perturbations
from cosmo.precision import get_precision
from cosmo.transfer import cmb_modes, compute_transfer

REF = pathlib.Path(__file__).parent / "reference"
L_MAX = 3000  # as the reference run (CLASS k_max scales with l_max)


@functools.cache
def spectra(name: str):
    prec = get_precision("default")
    cp = cosmo.params.resolve(COSMOLOGIES[name])
    ks = cmb_modes(prec, L_MAX)

    @jax.jit
    def run(cp):
        sol = cosmo.solve(cp, prec)
        pert = compute_perturbations(cp, sol.background, sol.thermo, prec, ks, cmb=True)
        return compute_cl(cp, compute_transfer(pert, sol.background, sol.thermo, prec, L_MAX), L_MAX).as_dict()

    return {k: np.asarray(v) for k, v in run(cp).items()}


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="C_l accuracy targets not met yet (low-l TT/EE/TE, phi-phi k range)")
@pytest.mark.parametrize("name", ["planck2018"])
def test_unlensed_cl_match_class(name):
    ref = dict(np.load(REF / f"spectra_high_recfast_{name}.npz"))
    cl = spectra(name)
    l = np.arange(2, 2501)
    for key in ("tt", "ee"):
        err = np.max(np.abs(cl[key][l] / ref["cl_" + key][l] - 1.0))
        assert err < 1e-3, (key, err)
    te = np.max(np.abs(cl["te"][l] - ref["cl_te"][l]) / np.sqrt(ref["cl_tt"][l] * ref["cl_ee"][l]))
    assert te < 1e-3, ("te", te)
    lp = np.arange(2, 2001)
    pp = np.max(np.abs(cl["pp"][lp] / ref["cl_pp"][lp] - 1.0))
    assert pp < 1e-3, ("pp", pp)
