"""Adapters: a :class:`~likelihoods.theory.Theory` from classy, from our solver, from a file.

The likelihoods never see which code made the spectra. Units on output: CMB D_l in muK^2,
``pp`` = [l(l+1)]^2 C_l^phiphi / 2pi, D_M and D_H = c/H in Mpc, r_drag in Mpc.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from .theory import CMB_KEYS, Requirements, Theory


def cl_to_theory_units(cls: dict[str, Any], T_cmb: float) -> dict[str, Any]:
    """Dimensionless C_l (classy's convention, l from 0) -> D_l [muK^2] and the ``pp`` convention."""
    n = max(len(v) for k, v in cls.items() if k in (*CMB_KEYS, "pp"))
    ell = jnp.arange(n, dtype=jnp.float64)
    out = {}
    for key in CMB_KEYS:
        if key in cls:
            out[key] = ell * (ell + 1.0) / (2.0 * math.pi) * (T_cmb * 1.0e6) ** 2 * jnp.asarray(cls[key])
    if "pp" in cls:
        out["pp"] = (ell * (ell + 1.0)) ** 2 / (2.0 * math.pi) * jnp.asarray(cls["pp"])
    return out


def from_classy(cosmo, requirements: Requirements, lensed: bool = True) -> Theory:
    """Theory from a computed ``classy.Class`` (validation; not differentiable).

    CLASS must have been run with ``output`` containing ``tCl,pCl,lCl`` (and ``lensing: yes``
    for lensed spectra) and ``l_max_scalars`` >= ``requirements.l_max``.
    """
    cl = {}
    if requirements.cl:
        l_max = requirements.l_max
        raw = cosmo.lensed_cl(l_max) if lensed else cosmo.raw_cl(l_max)
        cl = cl_to_theory_units({k: np.asarray(raw[k]) for k in (*CMB_KEYS, "pp") if k in raw}, cosmo.T_cmb())
    z = tuple(requirements.z)
    kwargs: dict[str, Any] = {"z": z}
    if z:
        kwargs["D_M"] = jnp.asarray([cosmo.angular_distance(zi) * (1.0 + zi) for zi in z])
        kwargs["D_H"] = jnp.asarray([1.0 / cosmo.Hubble(zi) for zi in z])
    if requirements.r_drag or z:
        kwargs["r_drag"] = jnp.asarray(cosmo.rs_drag())
    return Theory(cl=cl, **kwargs)


def from_solution(sol, requirements: Requirements, allow_unlensed: bool = False) -> Theory:
    """Theory from our solver's :class:`cosmo.Solution` (differentiable end to end).

    Background quantities come from ``sol.background``/``sol.thermo``. CMB spectra are the
    lensed ones (``cosmo.solve(params, l_max=L, lensing=True)``); C^phiphi alone needs no
    lensing. ``allow_unlensed=True`` lets unlensed spectra stand in for the lensed ones (a
    stated approximation for quick tests: a ~1-sigma shift of A_s and the damping tail).
    """
    cl = {}
    if requirements.cl:
        needs_cmb = any(key in CMB_KEYS for key in requirements.cl)
        hint = f"solve with cosmo.solve(params, l_max={requirements.l_max}{', lensing=True' if needs_cmb else ''})"
        if sol.cl is None:
            raise ValueError(f"the likelihoods need spectra up to l = {requirements.l_max}: {hint}")
        spectra = sol.lensed_cl if sol.lensed_cl is not None else sol.cl
        if needs_cmb and sol.lensed_cl is None and not allow_unlensed:
            raise ValueError(f"the likelihoods need lensed CMB spectra: {hint} "
                             "(or pass allow_unlensed=True to use the unlensed ones, an approximation)")
        cl = cl_to_theory_units({k: v for k, v in spectra.as_dict().items() if k in (*CMB_KEYS, "pp")},
                                sol.background.T_cmb)
    z = tuple(requirements.z)
    kwargs: dict[str, Any] = {"z": z}
    if z:
        zs = jnp.asarray(z)
        kwargs["D_M"] = sol.background.transverse_distance(zs)
        kwargs["D_H"] = 1.0 / sol.background.hubble(zs)
    if requirements.r_drag or z:
        kwargs["r_drag"] = sol.thermo.rs_d
    return Theory(cl=cl, **kwargs)


def read_cls_file(path, lensing_column: str = "pp") -> dict[str, np.ndarray]:
    """Spectra from a CAMB-style text file: columns l, D_TT, D_EE, D_BB, D_TE [, lensing] (muK^2).

    This is CAMB's ``*_lensedCls.dat`` / ``*_totCls.dat`` column order (l, TT, EE, BB, TE); an
    optional sixth column is the lensing potential as [l(l+1)]^2 C_l^phiphi / 2pi
    (``lensing_column="pp"``, CAMB's ``*_lenspotentialCls.dat`` convention) or already as the
    convergence power [l(l+1)]^2 C_l^phiphi / 4 (``"kk"``). Lines starting with ``#`` are
    comments. Returns arrays indexed by l from 0 (zero where the file has no entry).
    """
    table = np.atleast_2d(np.loadtxt(path))
    if table.shape[1] < 5:
        raise ValueError(f"{path}: expected at least 5 columns (l, TT, EE, BB, TE), got {table.shape[1]}")
    ell = table[:, 0].astype(int)
    n = int(ell.max()) + 1
    out = {}
    for col, key in enumerate(("tt", "ee", "bb", "te"), start=1):
        out[key] = np.zeros(n)
        out[key][ell] = table[:, col]
    if table.shape[1] >= 6:
        pp = np.zeros(n)
        pp[ell] = table[:, 5] if lensing_column == "pp" else table[:, 5] * 2.0 / np.pi
        out["pp"] = pp
    return out
