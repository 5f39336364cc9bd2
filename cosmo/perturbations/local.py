"""Background and thermodynamics quantities at one time, as the perturbations need them.

The equivalent of CLASS's ``pvecback``/``pvecthermo`` vectors: everything the
Einstein-Boltzmann equations and the source functions read at a given ``ln a``.
Background quantities are exact (closed-form densities); conformal time, x_e, T_b
and the optical depth come from the fixed-grid tables of the previous stages.
Units: densities in CLASS units [1/Mpc^2] (``H^2 = sum rho``), rates in 1/Mpc,
conformal time in Mpc; primes are derivatives with respect to conformal time.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import constants as const
from ..background import Background
from ..background.ncdm import fd_integrals, fd_pseudo_pressure
from ..interpolation import hermite_uniform, spline_derivative, spline_eval
from ..thermodynamics import Thermodynamics

__all__ = ["Local", "LocalTable", "local_quantities", "local_table"]

#: k_B / (m_H c^2) [1/K]: converts T_b into the baryon sound speed squared.
_KB_OVER_MH_C2 = const.k_B_SI / (const.m_H_SI * const.c_SI**2)


class Local(eqx.Module):
    """Background and thermodynamics at one ``ln a`` (all fields are scalars)."""

    a: Float[Array, ""]
    aH: Float[Array, ""]  #: conformal Hubble rate a'/a [1/Mpc]
    aH_prime: Float[Array, ""]  #: (a'/a)' [1/Mpc^2]
    tau: Float[Array, ""]  #: conformal time [Mpc]
    rho_g: Float[Array, ""]
    rho_b: Float[Array, ""]
    rho_cdm: Float[Array, ""]
    rho_ur: Float[Array, ""]
    rho_fld: Float[Array, ""]  #: dark-energy fluid density (0 without a fluid)
    w_fld: Float[Array, ""]  #: its equation of state w0 + wa (1 - a)
    cs2_fld: Float[Array, ""]  #: its rest-frame sound speed squared (PPF transition scale)
    aM_ncdm: Float[Array, " n_ncdm"]  #: a m / (k_B T_ncdm0) of each massive-neutrino species
    rho_ncdm: Float[Array, " n_ncdm"]  #: their densities
    p_ncdm: Float[Array, " n_ncdm"]  #: their pressures
    pseudo_p_ncdm: Float[Array, " n_ncdm"]  #: their pseudo-pressures (CLASS; fluid approximation)
    dkappa: Float[Array, ""]  #: Thomson scattering rate kappa' = a n_e sigma_T [1/Mpc]
    ddkappa: Float[Array, ""]  #: kappa'' [1/Mpc^2]
    exp_m_kappa: Float[Array, ""]  #: exp(-kappa), kappa counted from today
    cb2: Float[Array, ""]  #: baryon sound speed squared (c = 1)
    K: Float[Array, ""]  #: spatial curvature [1/Mpc^2] (``H^2 = sum rho - K / a^2``)

    @property
    def g(self) -> Float[Array, ""]:
        """Visibility function kappa' exp(-kappa) [1/Mpc]."""
        return self.dkappa * self.exp_m_kappa

    @property
    def g_prime(self) -> Float[Array, ""]:
        """Derivative of the visibility with respect to conformal time [1/Mpc^2]:
        ``(kappa'' + kappa'^2) exp(-kappa)`` (``kappa`` is the optical depth to today,
        so ``d exp(-kappa) / d tau = kappa' exp(-kappa)``)."""
        return (self.ddkappa + self.dkappa**2) * self.exp_m_kappa


def _ncdm(a, M, norm, q, wq, rho_g):
    """Per-species (a M, rho, p, pseudo-p) of the massive neutrinos at scale factor ``a``."""
    aM = a * M
    I_rho, I_p = fd_integrals(aM, q, wq)
    return aM, norm * I_rho * rho_g, norm * I_p * rho_g, norm * fd_pseudo_pressure(aM, q, wq) * rho_g


def local_quantities(bg: Background, th: Thermodynamics, loga: Float[Array, ""], cs2_fld=1.0) -> Local:
    """Evaluate :class:`Local` at ``ln a`` (above the thermodynamics table: fully ionised)."""
    a = jnp.exp(loga)
    d = bg.densities(loga)
    rho_tot = d["rho_g"] + d["rho_b"] + d["rho_cdm"] + d["rho_ur"] + d["rho_lambda"] + d["rho_fld"] + d["rho_ncdm"]
    p_tot = (d["rho_g"] + d["rho_ur"]) / 3.0 - d["rho_lambda"] + d["w_fld"] * d["rho_fld"] + d["p_ncdm"]
    aH = a * jnp.sqrt(rho_tot - bg.K / a**2)
    aH_prime = -0.5 * a**2 * (rho_tot + 3.0 * p_tot)

    # Thermodynamics tables in ln(1+z) = -ln a; clamp above their top (z = 1e5, fully ionised).
    lnz_top = th.lnz[-1]
    lnz = -loga
    lnz_c = jnp.minimum(lnz, lnz_top)
    x_e = spline_eval(lnz_c, th.lnz, th.x_e, th.x_e_y2)
    dx_e_dlnz = jnp.where(lnz < lnz_top, spline_derivative(lnz_c, th.lnz, th.x_e, th.x_e_y2), 0.0)
    T_b_c = spline_eval(lnz_c, th.lnz, th.T_b, th.T_b_y2)
    dT_b_dlnz = spline_derivative(lnz_c, th.lnz, th.T_b, th.T_b_y2)
    above = lnz >= lnz_top
    T_b = jnp.where(above, T_b_c * jnp.exp(lnz - lnz_top), T_b_c)
    dlnT_dlnz = jnp.where(above, 1.0, dT_b_dlnz / T_b_c)
    kappa_c = spline_eval(lnz_c, th.lnz, th.kappa, th.kappa_y2)
    one_plus_z2 = jnp.exp(2.0 * lnz)
    dkappa = one_plus_z2 * th.nH0 * x_e * const.sigma_T_SI * const.Mpc_SI
    # d kappa'/d tau = -aH d kappa'/d ln(1+z)
    ddkappa = -aH * dkappa * (2.0 + dx_e_dlnz / x_e)
    # Beyond the table the optical depth is astronomically large: exp(-kappa) = 0 there.
    exp_m_kappa = jnp.where(above, 0.0, jnp.exp(-kappa_c))
    mu_inv = 1.0 + (1.0 / const.not4 - 1.0) * th.YHe + x_e * (1.0 - th.YHe)
    cb2 = _KB_OVER_MH_C2 * mu_inv * T_b * (1.0 + dlnT_dlnz / 3.0)
    aM, rho_n, p_n, pp_n = _ncdm(a, bg.M_ncdm, bg.ncdm_norm, bg.q_ncdm, bg.wq_ncdm, d["rho_g"])
    return Local(
        a=a, aH=aH, aH_prime=aH_prime, tau=bg.conformal_time_loga(loga),
        rho_g=d["rho_g"], rho_b=d["rho_b"], rho_cdm=d["rho_cdm"], rho_ur=d["rho_ur"],
        rho_fld=d["rho_fld"], w_fld=d["w_fld"], cs2_fld=jnp.asarray(cs2_fld, dtype=float),
        aM_ncdm=aM, rho_ncdm=rho_n, p_ncdm=p_n, pseudo_p_ncdm=pp_n, dkappa=dkappa, ddkappa=ddkappa, exp_m_kappa=exp_m_kappa, cb2=cb2,
        K=jnp.asarray(bg.K, dtype=float),
    )


class LocalTable(eqx.Module):
    """:class:`Local` tabulated on a uniform ``ln a`` grid, for cheap evaluation inside the
    integrators (cubic Hermite interpolation with exact slopes from ``jax.jvp``).

    Smooth positive quantities are tabulated as logarithms. Photon, baryon, CDM,
    massless-neutrino and w0wa-fluid densities are closed forms and are not tabulated;
    massive-neutrino densities are evaluated with the background's momentum quadrature.
    """

    loga0: float = eqx.field(static=True)
    dloga: float = eqx.field(static=True)
    values: Float[Array, "n 7"]
    slopes: Float[Array, "n 7"]
    rho0_g: Float[Array, ""]  #: rho_g a^4 [1/Mpc^2]
    rho0_b: Float[Array, ""]  #: rho_b a^3
    rho0_cdm: Float[Array, ""]
    rho0_ur: Float[Array, ""]
    rho0_fld: Float[Array, ""]
    w0_fld: Float[Array, ""]
    wa_fld: Float[Array, ""]
    cs2_fld: Float[Array, ""]
    M_ncdm: Float[Array, " n_ncdm"]
    ncdm_norm: Float[Array, " n_ncdm"]
    q_ncdm: Float[Array, " nq"]
    wq_ncdm: Float[Array, " nq"]
    K: Float[Array, ""]  #: spatial curvature [1/Mpc^2]

    def at(self, loga: Float[Array, ""]) -> Local:
        col = [hermite_uniform(loga, self.loga0, self.dloga, self.values[:, j], self.slopes[:, j]) for j in range(7)]
        a = jnp.exp(loga)
        aH = jnp.exp(col[0])
        dkappa = jnp.exp(col[2])
        rho_g = self.rho0_g / a**4
        rho_ur = self.rho0_ur / a**4
        w0, wa = self.w0_fld, self.wa_fld
        rho_fld = self.rho0_fld * jnp.exp(-3.0 * (1.0 + w0 + wa) * loga + 3.0 * wa * (a - 1.0))
        aM, rho_n, p_n, pp_n = _ncdm(a, self.M_ncdm, self.ncdm_norm, self.q_ncdm, self.wq_ncdm, rho_g)
        return Local(
            a=a, aH=aH, aH_prime=col[6] * aH**2, tau=jnp.exp(col[1]),
            rho_g=rho_g, rho_b=self.rho0_b / a**3, rho_cdm=self.rho0_cdm / a**3, rho_ur=rho_ur,
            rho_fld=rho_fld, w_fld=w0 + wa * (1.0 - a), cs2_fld=self.cs2_fld,
            aM_ncdm=aM, rho_ncdm=rho_n, p_ncdm=p_n, pseudo_p_ncdm=pp_n, dkappa=dkappa, ddkappa=col[3] * aH * dkappa, exp_m_kappa=col[4], cb2=col[5],
            K=self.K,
        )


def _columns(bg: Background, th: Thermodynamics, loga):
    loc = local_quantities(bg, th, loga)
    return jnp.stack([
        jnp.log(loc.aH), jnp.log(loc.tau), jnp.log(loc.dkappa), loc.ddkappa / (loc.aH * loc.dkappa),
        loc.exp_m_kappa, loc.cb2, loc.aH_prime / loc.aH**2,
    ])


def local_table(bg: Background, th: Thermodynamics, loga_min: float, dloga: float, cs2_fld=1.0) -> LocalTable:
    """Tabulate :class:`Local` on ``[loga_min, 0]`` with spacing ``dloga`` (about)."""
    n = int(math.ceil(-loga_min / dloga))
    d = -loga_min / n
    grid = loga_min + d * jnp.arange(n + 1)
    values, slopes = jax.vmap(lambda x: jax.jvp(lambda xx: _columns(bg, th, xx), (x,), (jnp.ones_like(x),)))(grid)
    H02 = bg.H0**2
    return LocalTable(
        loga0=loga_min, dloga=d, values=values, slopes=slopes,
        rho0_g=bg.Omega0_g * H02, rho0_b=bg.Omega0_b * H02, rho0_cdm=bg.Omega0_cdm * H02, rho0_ur=bg.Omega0_ur * H02,
        rho0_fld=bg.Omega0_fld * H02, w0_fld=jnp.asarray(bg.w0_fld, dtype=float), wa_fld=jnp.asarray(bg.wa_fld, dtype=float),
        cs2_fld=jnp.asarray(cs2_fld, dtype=float),
        M_ncdm=bg.M_ncdm, ncdm_norm=bg.ncdm_norm, q_ncdm=bg.q_ncdm, wq_ncdm=bg.wq_ncdm,
        K=jnp.asarray(bg.K, dtype=float),
    )
