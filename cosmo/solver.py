"""Functional entry point: parameters -> background -> thermodynamics (-> later stages).

Example::

    import jax, cosmo
    params = {"omega_b": 0.02237, "omega_cdm": 0.1200, "h": 0.6736, "tau_reio": 0.0544}
    sol = cosmo.solve(params)                       # jit-compiled on first call
    sol.thermo.theta_s_100, sol.background.angular_distance(1.0)
    jax.grad(lambda p: cosmo.solve(p).thermo.theta_s_100)(params)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .background import Background, compute_background
from .fourier import MatterPower, matter_power, pk_modes, sigma_R
from .harmonic import AngularSpectra, compute_cl
from .params import CosmoParams, resolve
from .perturbations import compute_perturbations
from .precision import Precision, get_precision
from .thermodynamics import Thermodynamics, compute_thermodynamics
from .transfer import cmb_perturbations, compute_transfer

__all__ = ["Solution", "solve", "derived_parameters", "DERIVED_PARAMETERS"]


class Solution(eqx.Module):
    """Everything computed for one cosmology (a pytree: vmap/grad over it)."""

    params: CosmoParams
    background: Background
    thermo: Thermodynamics
    pk: MatterPower | None = None  #: linear P(k, z), when solved with ``pk=True``
    cl: AngularSpectra | None = None  #: unlensed C_l (dimensionless), when solved with ``l_max``

    def pk_lin(self, k, z=0.0):
        """Linear matter power spectrum [Mpc^3] at k [1/Mpc] (classy ``pk_lin``)."""
        if self.pk is None:
            raise ValueError("P(k) was not computed: call cosmo.solve(params, pk=True)")
        return self.pk(jnp.asarray(k), jnp.asarray(z))

    def sigma8_at(self, z=0.0):
        """sigma8 at redshift z (R = 8 Mpc/h)."""
        if self.pk is None:
            raise ValueError("sigma8 needs P(k): call cosmo.solve(params, pk=True)")
        return sigma_R(self.pk, 8.0 / self.background.h, jnp.asarray(z))

    @property
    def sigma8(self):
        """sigma8 today (classy ``sigma8``)."""
        return self.sigma8_at(0.0)


def cl_internal_l_max(prec: Precision, l_max: int) -> int:
    """Multipole up to which the C_l are computed internally for an output ``l_max``
    (the k range and the l sampling scale with it; C_l near the end converge slowly)."""
    return int(l_max) + prec.cl_l_max_margin


@partial(jax.jit, static_argnames=("prec", "pk", "l_max"))
def _solve(cp: CosmoParams, prec: Precision, pk: bool = False, l_max: int | None = None) -> Solution:
    bg = compute_background(cp, prec)
    th = compute_thermodynamics(cp, bg, prec)
    if pk or l_max is not None:
        th = eqx.error_if(
            th, bg.K != 0.0, "P(k) and C_l with spatial curvature are not implemented yet (Omega_k must be 0)"
        )
    mp = matter_power(cp, compute_perturbations(cp, bg, th, prec, pk_modes(prec))) if pk else None
    cl = None
    if l_max is not None:
        l_int = cl_internal_l_max(prec, l_max)
        tr = compute_transfer(cmb_perturbations(cp, bg, th, prec, l_int), bg, th, prec, l_int)
        cl = compute_cl(cp, tr, l_int).truncate(l_max)
    return Solution(params=cp, background=bg, thermo=th, pk=mp, cl=cl)


def solve(
    params: Mapping[str, Any] | CosmoParams, prec: Precision | str | None = None, pk: bool = False,
    l_max: int | None = None,
) -> Solution:
    """Solve background and thermodynamics for CLASS-named ``params`` (jit-compiled, differentiable).

    ``params`` is a dict (validated, CLASS defaults filled) or a resolved :class:`CosmoParams`.
    ``prec`` is a :class:`Precision` or a preset name (``"default"``, ``"fast"``).
    With ``pk=True`` the perturbations are solved too and the solution carries the linear
    matter power spectrum (``sol.pk_lin(k, z)``, ``sol.sigma8``). With ``l_max`` (an int,
    e.g. 2500) it carries the unlensed C_l^TT, EE, TE, phi-phi, T-phi for l <= l_max
    (``sol.cl``, dimensionless as classy's ``raw_cl``). Spectra: flat space only, so far
    (LCDM, massless and massive neutrinos, w0wa fluid with PPF perturbations).
    """
    if l_max is not None and (int(l_max) != l_max or l_max < 2):
        raise ValueError(f"l_max must be an integer >= 2, got {l_max!r}")
    return _solve(resolve(params), get_precision(prec), pk, None if l_max is None else int(l_max))


def _derived_table(sol: Solution) -> dict[str, Float[Array, ""]]:
    bg, th = sol.background, sol.thermo
    return {
        "h": bg.h,
        "H0": bg.h * 100.0,
        "Omega_m": bg.Omega0_m,
        "Omega_b": bg.Omega0_b,
        "omega_b": bg.Omega0_b * bg.h**2,
        "Omega_cdm": bg.Omega0_cdm,
        "omega_cdm": bg.Omega0_cdm * bg.h**2,
        "Omega_Lambda": bg.Omega0_lambda,
        "Omega_fld": bg.Omega0_fld,
        "Omega_k": bg.Omega0_k,
        "Omega_g": bg.Omega0_g,
        "Omega_ur": bg.Omega0_ur,
        "Omega_nu": jnp.sum(bg.Omega0_ncdm),
        "omega_nu": jnp.sum(bg.Omega0_ncdm) * bg.h**2,
        "Neff": bg.Neff,
        "age": bg.age,
        "conformal_age": bg.conformal_age,
        "YHe": th.YHe,
        "z_reio": th.z_reio,
        "tau_reio": th.tau_reio,
        "z_star": th.z_star,
        "tau_star": th.tau_star,
        "rs_star": th.rs_star,
        "ds_star": th.ds_star,
        "ra_star": th.ra_star,
        "da_star": th.da_star,
        "z_rec": th.z_rec,
        "tau_rec": th.tau_rec,
        "rs_rec": th.rs_rec,
        "ds_rec": th.ds_rec,
        "ra_rec": th.ra_rec,
        "da_rec": th.da_rec,
        "100*theta_s": th.theta_s_100,
        "100*theta_star": th.theta_star_100,
        "theta_s_100": th.theta_s_100,
        "theta_star_100": th.theta_star_100,
        "z_d": th.z_d,
        "rs_d": th.rs_d,
        "ds_d": th.ds_d,
        "rs_drag": th.rs_d,
        "T_cmb": bg.T_cmb,
    }


#: Names accepted by :func:`derived_parameters` (classy's names and units).
DERIVED_PARAMETERS: tuple[str, ...] = (
    "h", "H0", "Omega_m", "Omega_b", "omega_b", "Omega_cdm", "omega_cdm", "Omega_Lambda", "Omega_fld",
    "Omega_k", "Omega_g", "Omega_ur", "Omega_nu", "omega_nu", "Neff", "age", "conformal_age", "YHe",
    "z_reio", "tau_reio", "z_star", "tau_star", "rs_star", "ds_star", "ra_star", "da_star", "z_rec",
    "tau_rec", "rs_rec", "ds_rec", "ra_rec", "da_rec", "100*theta_s", "100*theta_star", "theta_s_100",
    "theta_star_100", "z_d", "rs_d", "ds_d", "rs_drag", "T_cmb",
)


def derived_parameters(sol: Solution, names: Sequence[str] | None = None) -> dict[str, Float[Array, ""]]:
    """Derived parameters by classy name (units as classy: Mpc, Gyr, dimensionless)."""
    table = _derived_table(sol)
    if names is None:
        return table
    unknown = [n for n in names if n not in table]
    if unknown:
        raise KeyError(f"unknown derived parameter(s) {unknown}; available: {sorted(table)}")
    return {n: table[n] for n in names}

