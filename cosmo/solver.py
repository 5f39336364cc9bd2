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

from .background import Background, compute_background, matter_radiation_equality
from .fourier import MatterPower, matter_power, pk_modes, sigma_R
from .harmonic import AngularSpectra, compute_cl, compute_tensor_cl
from .lensing import lens_spectra
from .params import CosmoParams, resolve
from .perturbations import compute_perturbations
from .precision import Precision, get_precision
from .shooting import h_from_theta_s
from .thermodynamics import Thermodynamics, compute_thermodynamics
from .transfer import cmb_perturbations, compute_transfer
from .transfer.curved import compute_transfer_curved
from .transfer.tensor import compute_tensor_transfer, tensor_perturbations

__all__ = ["Solution", "solve", "derived_parameters", "DERIVED_PARAMETERS"]


class Solution(eqx.Module):
    """Everything computed for one cosmology (a pytree: vmap/grad over it)."""

    params: CosmoParams
    background: Background
    thermo: Thermodynamics
    pk: MatterPower | None = None  #: linear P(k, z), when solved with ``pk=True``
    cl: AngularSpectra | None = None  #: unlensed C_l (dimensionless), when solved with ``l_max``
    #: the tensor-mode part of ``cl`` (included in it), when ``r`` was given
    cl_tensor: AngularSpectra | None = None
    #: lensed C_l (dimensionless) for l <= l_max, when solved with ``lensing=True``
    lensed_cl: AngularSpectra | None = None
    prec: Precision | None = eqx.field(static=True, default=None)  #: the precision it was solved with

    def pk_lin(self, k, z=0.0):
        """Linear matter power spectrum [Mpc^3] at k [1/Mpc] (classy ``pk_lin``)."""
        if self.pk is None:
            raise ValueError("P(k) was not computed: call cosmo.solve(params, pk=True)")
        return self.pk(jnp.asarray(k), jnp.asarray(z))

    def pk_nl(self, k, z=0.0):
        """Non-linear (Halofit, Takahashi 2012 + Bird 2012, as CLASS) P(k, z) [Mpc^3], k in 1/Mpc
        (classy ``pk`` with ``non_linear = halofit``)."""
        if self.pk is None:
            raise ValueError("P(k) was not computed: call cosmo.solve(params, pk=True)")
        from .halofit import halofit

        return halofit(self.pk, self.background, self.prec, jnp.atleast_1d(jnp.asarray(k, dtype=float)),
                       jnp.asarray(z, dtype=float)).reshape(jnp.shape(k))

    def sigma8_at(self, z=0.0):
        """sigma8 at redshift z (R = 8 Mpc/h)."""
        if self.pk is None:
            raise ValueError("sigma8 needs P(k): call cosmo.solve(params, pk=True)")
        return sigma_R(self.pk, 8.0 / self.background.h, jnp.asarray(z))

    @property
    def sigma8(self):
        """sigma8 today (classy ``sigma8``)."""
        return self.sigma8_at(0.0)


def cl_unlensed_l_max(prec: Precision, l_max: int, lensing: bool = False) -> int:
    """Highest multipole of the unlensed C_l returned for an output ``l_max`` (with lensing, the
    spectra up to ``l_max + lensing_delta_l_max`` enter the lensed ones, as CLASS)."""
    return int(l_max) + (prec.lensing_delta_l_max if lensing else 0)


def cl_internal_l_max(prec: Precision, l_max: int, lensing: bool = False) -> int:
    """Multipole up to which the C_l are computed internally for an output ``l_max``
    (the k range and the l sampling scale with it; C_l near the end converge slowly). With
    lensing the spectra beyond l_max + 500 enter at the 1e-4 level per percent (measured), so
    they need no further margin."""
    return max(int(l_max) + prec.cl_l_max_margin, cl_unlensed_l_max(prec, l_max, lensing))


#: CLASS's default ``l_max_tensors``.
L_MAX_TENSORS = 500


@partial(jax.jit, static_argnames=("prec", "pk", "l_max", "lensing", "non_linear", "l_max_tensors"))
def _solve(
    cp: CosmoParams, prec: Precision, pk: bool = False, l_max: int | None = None, lensing: bool = False,
    non_linear: str | None = None, l_max_tensors: int = L_MAX_TENSORS,
) -> Solution:
    if l_max is not None and cp.curvature_sign == 2:
        raise ValueError(
            "C_l with a traced Omega_k: the sign of the curvature must be static. Resolve the parameters "
            "with a concrete Omega_k (cosmo.params.resolve) and differentiate the resolved pytree's Omega_k"
        )
    if l_max is not None and cp.curvature_sign != 0 and cp.has_tensors:
        raise ValueError("tensor modes with spatial curvature are not implemented (give Omega_k = 0 or no r)")
    cp, h_valid = h_from_theta_s(cp, prec)  # no-op unless the input was 100*theta_s
    bg = compute_background(cp, prec)
    th = compute_thermodynamics(cp, bg, prec)
    if l_max is not None:
        th = eqx.error_if(th, (cp.curvature_sign == 0) & (bg.K != 0.0), "Omega_k != 0 with a flat curvature_sign")
    mp = matter_power(cp, compute_perturbations(cp, bg, th, prec, pk_modes(prec))) if pk else None
    cl = lensed = cl_tensor = None
    if l_max is not None:
        l_int = cl_internal_l_max(prec, l_max, lensing)
        l_unl = cl_unlensed_l_max(prec, l_max, lensing)
        pert = cmb_perturbations(cp, bg, th, prec, l_int)
        nl = cp if non_linear == "halofit" else None
        if cp.curvature_sign == 0:
            tr = compute_transfer(pert, bg, th, prec, l_int, nonlinear_lensing=nl)
        else:
            tr = compute_transfer_curved(pert, bg, th, prec, l_int, cp.curvature_sign, nonlinear_lensing=nl)
        cl = compute_cl(cp, tr, l_int).truncate(l_unl)
        if cp.has_tensors:
            tr_t = compute_tensor_transfer(tensor_perturbations(cp, bg, th, prec, l_max_tensors), bg, prec, l_max_tensors)
            cl_tensor = compute_tensor_cl(cp, tr_t, l_unl)
            cl = cl + cl_tensor
        if lensing:
            lensed = lens_spectra(
                cl.as_dict(), l_max, n_mu=l_unl + prec.lensing_num_mu_minus_lmax, chunk=prec.lensing_mu_chunk
            )
    sol = Solution(params=cp, background=bg, thermo=th, pk=mp, cl=cl, cl_tensor=cl_tensor, lensed_cl=lensed, prec=prec)
    if cp.h_from_theta_s:  # no h gives the requested theta_s: every output is NaN
        poison = jnp.where(h_valid, 0.0, jnp.nan)
        sol = jax.tree_util.tree_map(lambda x: x + poison if eqx.is_inexact_array(x) else x, sol)
    return sol


def solve(
    params: Mapping[str, Any] | CosmoParams, prec: Precision | str | None = None, pk: bool = False,
    l_max: int | None = None, lensing: bool = False, non_linear: str | None = None,
    l_max_tensors: int = L_MAX_TENSORS,
) -> Solution:
    """Solve background and thermodynamics for CLASS-named ``params`` (jit-compiled, differentiable).

    ``params`` is a dict (validated, CLASS defaults filled) or a resolved :class:`CosmoParams`.
    ``prec`` is a :class:`Precision` or a preset name (``"default"``, ``"fast"``).
    With ``pk=True`` the perturbations are solved too and the solution carries the linear
    matter power spectrum (``sol.pk_lin(k, z)``, ``sol.sigma8``). With ``l_max`` (an int,
    e.g. 2500) it carries the unlensed C_l^TT, EE, TE, phi-phi, T-phi for l <= l_max
    (``sol.cl``, dimensionless as classy's ``raw_cl``). With ``lensing=True`` (needs ``l_max``)
    it also carries the lensed C_l^TT, EE, TE, BB for l <= l_max (``sol.lensed_cl``, as classy's
    ``lensed_cl``; full-sky correlation-function method), and ``sol.cl`` then extends to
    ``l_max + prec.lensing_delta_l_max``, the unlensed multipoles that enter the lensing.
    With ``non_linear="halofit"`` the lensing potential (C^phiphi, and so the lensed spectra)
    includes Halofit's non-linear correction, as CLASS's ``non_linear`` option (``sol.pk_nl`` is
    Halofit regardless). When ``r`` is among the parameters, tensor modes are added (CLASS
    ``modes = s,t``): ``sol.cl`` is the sum of scalar and tensor spectra (``bb`` from tensors; the
    tensor part alone is ``sol.cl_tensor``, zero above ``l_max_tensors``, CLASS's default 500) and
    the lensed spectra lens the sum, as CLASS. Spectra: flat space only, so far (LCDM, massless and
    massive neutrinos, w0wa fluid with PPF perturbations).
    """
    if l_max is not None and (int(l_max) != l_max or l_max < 2):
        raise ValueError(f"l_max must be an integer >= 2, got {l_max!r}")
    if lensing and l_max is None:
        raise ValueError("lensing=True needs l_max (the highest lensed multipole), e.g. l_max=2500")
    if int(l_max_tensors) != l_max_tensors or l_max_tensors < 2:
        raise ValueError(f"l_max_tensors must be an integer >= 2, got {l_max_tensors!r}")
    if non_linear not in (None, "halofit"):
        raise ValueError(f"non_linear must be None or 'halofit' (HMcode is not implemented), got {non_linear!r}")
    return _solve(resolve(params), get_precision(prec), pk, None if l_max is None else int(l_max), bool(lensing),
                  non_linear, int(l_max_tensors))


#: Derived parameters that need the matter power spectrum (``cosmo.solve(..., pk=True)``).
PK_DERIVED = ("sigma8", "S8")


def _derived_table(sol: Solution) -> dict[str, Float[Array, ""]]:
    bg, th, cp = sol.background, sol.thermo, sol.params
    h = bg.h
    eq = matter_radiation_equality(bg)
    table = {
        "h": h,
        "H0": h * 100.0,
        "Omega_m": bg.Omega0_m,
        "Omega0_m": bg.Omega0_m,
        "omega_m": bg.Omega0_m * h**2,
        "Omega_b": bg.Omega0_b,
        "omega_b": bg.Omega0_b * h**2,
        "Omega_cdm": bg.Omega0_cdm,
        "omega_cdm": bg.Omega0_cdm * h**2,
        "Omega_Lambda": bg.Omega0_lambda,
        "Omega0_lambda": bg.Omega0_lambda,
        "Omega_fld": bg.Omega0_fld,
        "Omega0_fld": bg.Omega0_fld,
        "Omega_k": bg.Omega0_k,
        "Omega0_k": bg.Omega0_k,
        "Omega_g": bg.Omega0_g,
        "Omega_ur": bg.Omega0_ur,
        "Omega_nu": jnp.sum(bg.Omega0_ncdm),
        "omega_nu": jnp.sum(bg.Omega0_ncdm) * h**2,
        # classy's m_ncdm_tot: Omega_ncdm h^2 x 93.14 eV (its definition, not the sum of masses)
        "m_ncdm_tot": jnp.sum(bg.Omega0_ncdm) * h**2 * 93.14,
        "Neff": bg.Neff,
        "age": bg.age,
        "conformal_age": bg.conformal_age,
        "YHe": th.YHe,
        "z_reio": th.z_reio,
        "tau_reio": th.tau_reio,
        "conf_time_reio": bg.conformal_time(th.z_reio),
        "z_star": th.z_star,
        "tau_star": th.tau_star,
        "rs_star": th.rs_star,
        "ds_star": th.ds_star,
        "ra_star": th.ra_star,
        "da_star": th.da_star,
        "z_rec": th.z_rec,
        "tau_rec": th.tau_rec,
        "rs_rec": th.rs_rec,
        "rs_rec_h": th.rs_rec * h,
        "ds_rec": th.ds_rec,
        "ds_rec_h": th.ds_rec * h,
        "ra_rec": th.ra_rec,
        "ra_rec_h": th.ra_rec * h,
        "da_rec": th.da_rec,
        "da_rec_h": th.da_rec * h,
        "100*theta_s": th.theta_s_100,
        "100*theta_star": th.theta_star_100,
        "theta_s_100": th.theta_s_100,
        "theta_star_100": th.theta_star_100,
        "z_d": th.z_d,
        "tau_d": bg.conformal_time(th.z_d),
        "rs_d": th.rs_d,
        "rs_d_h": th.rs_d * h,
        "ds_d": th.ds_d,
        "ds_d_h": th.ds_d * h,
        "rs_drag": th.rs_d,
        "T_cmb": bg.T_cmb,
        "A_s": cp.A_s,
        "ln10^{10}A_s": jnp.log(1.0e10 * cp.A_s),
        "ln_A_s_1e10": jnp.log(1.0e10 * cp.A_s),
        "n_s": cp.n_s,
        "alpha_s": cp.alpha_s,
        "exp_m_2_tau_As": jnp.exp(-2.0 * th.tau_reio) * cp.A_s,
        "a_eq": eq.a_eq,
        "z_eq": eq.z_eq,
        "H_eq": eq.H_eq,
        "tau_eq": eq.tau_eq,
        "k_eq": eq.k_eq,
    }
    if sol.pk is not None:
        table["sigma8"] = sol.sigma8
        table["S8"] = sol.sigma8 * jnp.sqrt(bg.Omega0_m / 0.3)
    return table


#: Names accepted by :func:`derived_parameters` (classy's names and units; ``S8`` =
#: sigma8 sqrt(Omega_m / 0.3) in addition; sigma8 and S8 need ``pk=True``).
DERIVED_PARAMETERS: tuple[str, ...] = (
    "h", "H0", "Omega_m", "Omega0_m", "omega_m", "Omega_b", "omega_b", "Omega_cdm", "omega_cdm", "Omega_Lambda",
    "Omega0_lambda", "Omega_fld", "Omega0_fld", "Omega_k", "Omega0_k", "Omega_g", "Omega_ur", "Omega_nu",
    "omega_nu", "m_ncdm_tot", "Neff", "age", "conformal_age", "YHe", "z_reio", "tau_reio", "conf_time_reio",
    "z_star", "tau_star", "rs_star", "ds_star", "ra_star", "da_star", "z_rec", "tau_rec", "rs_rec", "rs_rec_h",
    "ds_rec", "ds_rec_h", "ra_rec", "ra_rec_h", "da_rec", "da_rec_h", "100*theta_s", "100*theta_star",
    "theta_s_100", "theta_star_100", "z_d", "tau_d", "rs_d", "rs_d_h", "ds_d", "ds_d_h", "rs_drag", "T_cmb",
    "A_s", "ln10^{10}A_s", "ln_A_s_1e10", "n_s", "alpha_s", "exp_m_2_tau_As", "a_eq", "z_eq", "H_eq",
    "tau_eq", "k_eq", *PK_DERIVED,
)


def derived_parameters(sol: Solution, names: Sequence[str] | None = None) -> dict[str, Float[Array, ""]]:
    """Derived parameters by classy name (units as classy: Mpc, Gyr, dimensionless)."""
    table = _derived_table(sol)
    if names is None:
        return table
    need_pk = [n for n in names if n in PK_DERIVED and n not in table]
    if need_pk:
        raise ValueError(f"{need_pk} need the matter power spectrum: solve with cosmo.solve(params, pk=True)")
    unknown = [n for n in names if n not in table]
    if unknown:
        raise KeyError(f"unknown derived parameter(s) {unknown}; available: {sorted(table)}")
    return {n: table[n] for n in names}

