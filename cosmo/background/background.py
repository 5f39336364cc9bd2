"""Homogeneous background: Friedmann equation, conformal time, distances, sound horizon.

Species: photons, baryons, CDM, massless neutrinos (``N_ur``), any number of
massive neutrino species (momentum-integrated Fermi-Dirac), a cosmological
constant or a w0wa fluid ``w(a) = w0 + wa (1 - a)``, and spatial curvature
``K = -Omega_k H0^2``. Units: c = 1, lengths and times in Mpc, H in 1/Mpc,
densities in 1/Mpc^2 (``H^2 = sum rho_i - K / a^2``), as CLASS.

Integrals (conformal time ``tau``, proper time ``t`` and the sound-horizon
integral ``S = int c_s dtau``) are tabulated on a fixed uniform grid in ``ln a``
with Gauss-Legendre quadrature inside each interval, and interpolated with cubic
Hermite polynomials using the exactly known integrands as slopes. The grid does
not depend on the parameters, so every output is a smooth function of them.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import constants as const
from ..interpolation import hermite_uniform
from ..params import CosmoParams
from ..precision import Precision
from .ncdm import FD_NORM, fd_integrals, mass_parameter, momentum_quadrature

__all__ = ["Background", "compute_background", "sin_K"]


def _sinc_like(u: Float[Array, "..."]) -> Float[Array, "..."]:
    """``sin(sqrt(u))/sqrt(u)`` for u > 0, ``sinh(sqrt(-u))/sqrt(-u)`` for u < 0; smooth at 0."""
    small = jnp.abs(u) < 1.0e-3
    u_safe = jnp.where(small, 1.0, u)
    r = jnp.sqrt(jnp.abs(u_safe))
    exact = jnp.where(u_safe > 0, jnp.sin(r) / r, jnp.sinh(r) / r)
    series = 1.0 - u / 6.0 + u**2 / 120.0 - u**3 / 5040.0
    return jnp.where(small, series, exact)


def sin_K(chi: Float[Array, "..."], K: Float[Array, ""]) -> Float[Array, "..."]:
    """Transverse comoving distance ``sin_K(chi)`` [Mpc] for curvature ``K`` [1/Mpc^2]."""
    return chi * _sinc_like(K * chi**2)


class Background(eqx.Module):
    """Solved background. Densities today are ``Omega0_x`` (fractions of the critical
    density); tables live on the uniform grid ``ln a = loga_ini + i dloga``."""

    h: Float[Array, ""]
    H0: Float[Array, ""]  #: [1/Mpc]
    T_cmb: Float[Array, ""]  #: [K]
    Omega0_g: Float[Array, ""]
    Omega0_b: Float[Array, ""]
    Omega0_cdm: Float[Array, ""]
    Omega0_ur: Float[Array, ""]
    Omega0_ncdm: Float[Array, " n_ncdm"]
    Omega0_lambda: Float[Array, ""]
    Omega0_fld: Float[Array, ""]
    Omega0_k: Float[Array, ""]
    K: Float[Array, ""]  #: curvature [1/Mpc^2]
    w0_fld: Float[Array, ""]
    wa_fld: Float[Array, ""]
    M_ncdm: Float[Array, " n_ncdm"]  #: m / (k_B T_ncdm T_cmb)
    ncdm_norm: Float[Array, " n_ncdm"]  #: deg T_ncdm^4 15/pi^4
    q_ncdm: Float[Array, " nq"]
    wq_ncdm: Float[Array, " nq"]
    tau_table: Float[Array, " n"]  #: conformal time [Mpc]
    t_table: Float[Array, " n"]  #: proper time [Mpc]
    S_table: Float[Array, " n"]  #: int c_s dtau [Mpc]
    conformal_age: Float[Array, ""]  #: [Mpc]
    age_Mpc: Float[Array, ""]  #: proper age [Mpc]
    loga_ini: float = eqx.field(static=True)
    dloga: float = eqx.field(static=True)

    # ------------------------------------------------------------------ densities
    def densities(self, loga: Float[Array, "..."]) -> dict[str, Float[Array, "..."]]:
        """Energy densities and pressures [1/Mpc^2] at ``ln a`` (keys ``rho_x``, ``p_x``)."""
        a = jnp.exp(loga)
        H02 = self.H0**2
        rho_g = self.Omega0_g * H02 / a**4
        out = {
            "rho_g": rho_g,
            "rho_b": self.Omega0_b * H02 / a**3,
            "rho_cdm": self.Omega0_cdm * H02 / a**3,
            "rho_ur": self.Omega0_ur * H02 / a**4,
            "rho_lambda": self.Omega0_lambda * H02 * jnp.ones_like(a),
        }
        w0, wa = self.w0_fld, self.wa_fld
        out["rho_fld"] = self.Omega0_fld * H02 * jnp.exp(-3.0 * (1.0 + w0 + wa) * loga + 3.0 * wa * (a - 1.0))
        out["w_fld"] = w0 + wa * (1.0 - a)
        if self.M_ncdm.shape[0] > 0:
            I_rho, I_p = fd_integrals(a[..., None] * self.M_ncdm, self.q_ncdm, self.wq_ncdm)
            out["rho_ncdm"] = jnp.sum(self.ncdm_norm * I_rho, axis=-1) * rho_g
            out["p_ncdm"] = jnp.sum(self.ncdm_norm * I_p, axis=-1) * rho_g
        else:
            out["rho_ncdm"] = jnp.zeros_like(a)
            out["p_ncdm"] = jnp.zeros_like(a)
        return out

    def hubble_loga(self, loga: Float[Array, "..."]) -> Float[Array, "..."]:
        """Hubble rate H [1/Mpc] at ``ln a`` (evaluated exactly, not interpolated)."""
        d = self.densities(loga)
        rho = d["rho_g"] + d["rho_b"] + d["rho_cdm"] + d["rho_ur"] + d["rho_lambda"] + d["rho_fld"] + d["rho_ncdm"]
        return jnp.sqrt(rho - self.K * jnp.exp(-2.0 * loga))

    def sound_speed_loga(self, loga: Float[Array, "..."]) -> Float[Array, "..."]:
        """Photon-baryon sound speed c_s = 1/sqrt(3 (1 + R)), R = 3 rho_b / (4 rho_g)."""
        R = 0.75 * self.Omega0_b / self.Omega0_g * jnp.exp(loga)
        return 1.0 / jnp.sqrt(3.0 * (1.0 + R))

    # ------------------------------------------------------------------ tables
    def _interp(self, table: Float[Array, " n"], slope, loga):
        n = table.shape[0]
        grid = self.loga_ini + self.dloga * jnp.arange(n)
        return hermite_uniform(loga, self.loga_ini, self.dloga, table, slope(grid))

    def conformal_time_loga(self, loga: Float[Array, "..."]) -> Float[Array, "..."]:
        """Conformal time tau(ln a) [Mpc]."""
        return self._interp(self.tau_table, lambda x: 1.0 / (jnp.exp(x) * self.hubble_loga(x)), loga)

    def proper_time_loga(self, loga: Float[Array, "..."]) -> Float[Array, "..."]:
        """Proper time t(ln a) [Mpc]."""
        return self._interp(self.t_table, lambda x: 1.0 / self.hubble_loga(x), loga)

    def sound_horizon_loga(self, loga: Float[Array, "..."]) -> Float[Array, "..."]:
        """Comoving sound horizon r_s(ln a) [Mpc].

        ``r_s = sin_K(S)`` with ``S = int c_s dtau``: the solution of CLASS's
        ``dr_s/dtau = c_s sqrt(1 - K r_s^2)``.
        """
        S = self._interp(
            self.S_table, lambda x: self.sound_speed_loga(x) / (jnp.exp(x) * self.hubble_loga(x)), loga
        )
        return sin_K(S, self.K)

    # ------------------------------------------------------------------ classy-like, in z
    def hubble(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        """H(z) [1/Mpc] (classy ``Hubble``)."""
        return self.hubble_loga(-jnp.log1p(z))

    def conformal_time(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        return self.conformal_time_loga(-jnp.log1p(z))

    def comoving_distance(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        """Line-of-sight comoving distance chi(z) = tau_0 - tau(z) [Mpc]."""
        return self.conformal_age - self.conformal_time(z)

    def transverse_distance(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        """Transverse comoving distance D_M(z) = sin_K(chi) [Mpc]."""
        return sin_K(self.comoving_distance(z), self.K)

    def angular_distance(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        """Angular-diameter distance D_A = D_M / (1 + z) [Mpc]."""
        return self.transverse_distance(z) / (1.0 + z)

    def luminosity_distance(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        """Luminosity distance D_L = D_M (1 + z) [Mpc]."""
        return self.transverse_distance(z) * (1.0 + z)

    def sound_horizon(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        return self.sound_horizon_loga(-jnp.log1p(z))

    def proper_time(self, z: Float[Array, "..."]) -> Float[Array, "..."]:
        return self.proper_time_loga(-jnp.log1p(z))

    # ------------------------------------------------------------------ derived
    @property
    def age(self) -> Float[Array, ""]:
        """Age of the universe [Gyr]."""
        return self.age_Mpc / const.Gyr_over_Mpc

    @property
    def Omega0_m(self) -> Float[Array, ""]:
        """Non-relativistic matter today: baryons + CDM + massive neutrinos (CLASS ``Omega_m``)."""
        return self.Omega0_b + self.Omega0_cdm + jnp.sum(self.Omega0_ncdm)

    @property
    def Neff(self) -> Float[Array, ""]:
        """Effective number of relativistic species at the start of the tables (CLASS ``Neff``)."""
        d = self.densities(jnp.asarray(self.loga_ini))
        rho_r = d["rho_ur"] + 3.0 * d["p_ncdm"]
        return rho_r / (const.neutrino_energy_ratio * d["rho_g"])

    def Neff_at(self, z: Float[Array, ""]) -> Float[Array, ""]:
        """N_eff(z) = (rho_ur + 3 p_ncdm) / (7/8 (4/11)^{4/3} rho_g) at redshift z."""
        d = self.densities(-jnp.log1p(z))
        return (d["rho_ur"] + 3.0 * d["p_ncdm"]) / (const.neutrino_energy_ratio * d["rho_g"])


def compute_background(cp: CosmoParams, prec: Precision) -> Background:
    """Solve the background for resolved parameters ``cp`` (pure, jit/grad-able)."""
    h = cp.h
    H0 = h * const.H0_over_h
    T_cmb = cp.T_cmb
    Omega0_g = (4.0 * const.sigma_B_SI / const.c_SI * T_cmb**4) / (
        3.0 * const.c_SI**2 * (1.0e5 * h / const.Mpc_SI) ** 2 / (8.0 * math.pi * const.G_SI)
    )
    Omega0_b = cp.omega_b / h**2
    Omega0_cdm = cp.omega_cdm / h**2
    Omega0_ur = cp.N_ur * const.neutrino_energy_ratio * Omega0_g

    q, wq = momentum_quadrature(prec.ncdm_q_size, prec.ncdm_q_max)
    q, wq = jnp.asarray(q), jnp.asarray(wq)
    M_ncdm = mass_parameter(cp.m_ncdm, cp.T_ncdm, T_cmb)
    ncdm_norm = cp.deg_ncdm * cp.T_ncdm**4 * FD_NORM
    if cp.N_ncdm > 0:
        I_rho_today, _ = fd_integrals(M_ncdm, q, wq)
        Omega0_ncdm = ncdm_norm * I_rho_today * Omega0_g
    else:
        Omega0_ncdm = jnp.zeros((0,), dtype=jnp.float64)

    Omega0_k = cp.Omega_k
    Omega_rest = Omega0_g + Omega0_b + Omega0_cdm + Omega0_ur + jnp.sum(Omega0_ncdm)
    fill = 1.0 - Omega0_k - Omega_rest
    if cp.lambda_given:
        Omega0_lambda = cp.Omega_Lambda_input
        Omega0_fld = fill - Omega0_lambda
    elif cp.has_fld:
        Omega0_lambda = jnp.zeros_like(fill)
        Omega0_fld = fill
    else:
        Omega0_lambda = fill
        Omega0_fld = jnp.zeros_like(fill)

    n = prec.background_intervals
    loga_ini = math.log(prec.a_ini)
    dloga = -loga_ini / n
    bg = Background(
        h=h, H0=H0, T_cmb=T_cmb, Omega0_g=Omega0_g, Omega0_b=Omega0_b, Omega0_cdm=Omega0_cdm,
        Omega0_ur=Omega0_ur, Omega0_ncdm=Omega0_ncdm, Omega0_lambda=Omega0_lambda, Omega0_fld=Omega0_fld,
        Omega0_k=Omega0_k, K=-Omega0_k * H0**2, w0_fld=cp.w0_fld, wa_fld=cp.wa_fld,
        M_ncdm=M_ncdm, ncdm_norm=ncdm_norm, q_ncdm=q, wq_ncdm=wq,
        tau_table=jnp.zeros(n + 1), t_table=jnp.zeros(n + 1), S_table=jnp.zeros(n + 1),
        conformal_age=jnp.zeros(()), age_Mpc=jnp.zeros(()), loga_ini=loga_ini, dloga=dloga,
    )

    # Gauss-Legendre nodes inside every interval of the uniform ln(a) grid.
    t_gl, w_gl = np.polynomial.legendre.leggauss(prec.background_gauss_nodes)
    left = loga_ini + dloga * np.arange(n)
    nodes = jnp.asarray(left[:, None] + 0.5 * dloga * (t_gl[None, :] + 1.0))
    weights = jnp.asarray(0.5 * dloga * w_gl)
    H = bg.hubble_loga(nodes)
    a = jnp.exp(nodes)
    dtau = jnp.sum(weights / (a * H), axis=1)
    dt = jnp.sum(weights / H, axis=1)
    dS = jnp.sum(weights * bg.sound_speed_loga(nodes) / (a * H), axis=1)

    # Initial values deep in radiation domination (as CLASS): tau = 1/(aH), t = 1/(2H), S = tau/sqrt(3).
    H_ini = bg.hubble_loga(jnp.asarray(loga_ini))
    tau_ini = 1.0 / (prec.a_ini * H_ini)
    t_ini = 0.5 / H_ini
    zero = jnp.zeros((1,))
    tau_table = tau_ini + jnp.concatenate([zero, jnp.cumsum(dtau)])
    t_table = t_ini + jnp.concatenate([zero, jnp.cumsum(dt)])
    S_table = tau_ini / math.sqrt(3.0) + jnp.concatenate([zero, jnp.cumsum(dS)])
    return eqx.tree_at(
        lambda b: (b.tau_table, b.t_table, b.S_table, b.conformal_age, b.age_Mpc),
        bg,
        (tau_table, t_table, S_table, tau_table[-1], t_table[-1]),
    )

