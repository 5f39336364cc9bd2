"""RECFAST 1.5 recombination model as implemented in CLASS v3 (``recombination = RECFAST``).

Equations from Seager, Sasselov & Scott (1999, 2000), the helium updates of
RECFAST 1.4 (Wong, Moss & Scott 2008) and the double-Gaussian hydrogen fudge of
RECFAST 1.5 (Rubino-Martin et al. 2010), written as derivatives with respect to
redshift ``d x / d z`` like CLASS's ``wrap_recfast.c``. SI units: number densities
in m^-3, H in 1/s, temperatures in K.

CLASS switches some correction terms on and off with sharp thresholds in the
ionisation fractions (e.g. the Peebles factor is set to 1 while x_H > 0.995).
Sharp switches make the output a non-smooth function of the parameters, so here
each switch is a narrow C1 cubic blend (:func:`smooth_step`) around the same
threshold; the resulting x_e differs from CLASS's by far less than 1e-4.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import constants as const

# ---------------------------------------------------------------- RECFAST 1.5 settings (CLASS precisions.h)
FUDGE_H = 1.14 - 0.015  #: recfast_fudge_H + recfast_delta_fudge_H (Hswitch on)
FUDGE_HE = 0.86
A_GAUSS1, A_GAUSS2 = -0.14, 0.079
Z_GAUSS1, Z_GAUSS2 = 7.28, 6.73
W_GAUSS1, W_GAUSS2 = 0.18, 0.33
X_H0_TRIGGER2 = 0.995
X_HE0_TRIGGER2 = 0.995
X_H_LIMIT_KHE = 0.9999999
X_H_LIMIT_CFHE_T = 0.99999
Z_SWITCH_LATE = 800.0
MAX_EXP_BOLTZ = 680.0

# ---------------------------------------------------------------- derived constants (RECFAST naming)
_hc_over_k = const.h_P_SI * const.c_SI / const.k_B_SI
CDB = _hc_over_k * (const.L_H_ion - const.L_H_alpha)
CDB_He = _hc_over_k * (const.L_He1_ion - const.L_He_2s)
CR = const.saha_prefactor
CK = (1.0 / const.L_H_alpha) ** 3 / (8.0 * math.pi)
CK_He = (1.0 / const.L_He_2p) ** 3 / (8.0 * math.pi)
CL = _hc_over_k * const.L_H_alpha
CL_He = _hc_over_k * const.L_He_2s
CL_Het = _hc_over_k * const.L_He_2St
CDB_He2s2p = _hc_over_k * (const.L_He_2p - const.L_He_2s)
CL_PSt = _hc_over_k * (const.L_He_2Pt - const.L_He_2St)
T_He2St_ion = _hc_over_k * const.L_He2St_ion


def smooth_step(x: Float[Array, "..."], x0: float, width: float) -> Float[Array, "..."]:
    """C1 cubic blend: 0 for x <= x0 - width/2, 1 for x >= x0 + width/2 (exactly), smooth between."""
    s = jnp.clip((x - x0) / width + 0.5, 0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


class RecombinationState(eqx.Module):
    """Inputs shared by the rate equations at one redshift."""

    z: Float[Array, ""]
    nH: Float[Array, ""]  #: hydrogen nuclei density [m^-3]
    Hz: Float[Array, ""]  #: Hubble rate [1/s]
    Tmat: Float[Array, ""]  #: baryon temperature [K]
    Trad: Float[Array, ""]  #: photon temperature [K]
    fHe: Float[Array, ""]  #: n_He / n_H


def alpha_B_H(T: Float[Array, ""]) -> Float[Array, ""]:
    """Case-B H recombination coefficient [m^3/s] (Pequignot et al. 1991 fit, RECFAST units)."""
    t4 = T / 1.0e4
    return 1.0e-19 * const.a_PPB * t4**const.b_PPB / (1.0 + const.c_PPB * t4**const.d_PPB)


def _vf(T: Float[Array, ""], a: float, b: float) -> Float[Array, ""]:
    """Verner & Ferland (1996) He I recombination fit [m^3/s]."""
    s0 = jnp.sqrt(T / const.T_0_VF)
    s1 = jnp.sqrt(T / const.T_1_VF)
    return a / (s0 * (1.0 + s0) ** (1.0 - b) * (1.0 + s1) ** (1.0 + b))


def dxH_dz(x_H: Float[Array, ""], x: Float[Array, ""], s: RecombinationState) -> Float[Array, ""]:
    """Fudged Peebles equation for hydrogen, d x_H / d z.

    Photoionisation rates are evaluated at the matter temperature (CLASS default
    ``recfast_photoion_dependence = Tmat``) through detailed balance.
    """
    Rdown = alpha_B_H(s.Tmat)
    Rup = Rdown * (CR * s.Tmat) ** 1.5 * jnp.exp(-CDB / s.Tmat)
    lnz = jnp.log1p(s.z)
    K = CK / s.Hz * (
        1.0
        + A_GAUSS1 * jnp.exp(-(((lnz - Z_GAUSS1) / W_GAUSS1) ** 2))
        + A_GAUSS2 * jnp.exp(-(((lnz - Z_GAUSS2) / W_GAUSS2) ** 2))
    )
    KLn = K * const.Lambda_H * s.nH * (1.0 - x_H)
    C_full = (1.0 + KLn) / (1.0 / FUDGE_H + KLn / FUDGE_H + K * Rup * s.nH * (1.0 - x_H))
    # CLASS: C = 1 while x_H >= 0.995 and z >= 800 (blended here).
    use_full = jnp.maximum(smooth_step(-x_H, -X_H0_TRIGGER2, 1.0e-4), (s.z < Z_SWITCH_LATE).astype(x_H.dtype))
    C = use_full * C_full + (1.0 - use_full)
    return (x * x_H * s.nH * Rdown - Rup * (1.0 - x_H) * jnp.exp(-CL / s.Tmat)) * C / (s.Hz * (1.0 + s.z))


def dxHe_dz(
    x_He: Float[Array, ""], x: Float[Array, ""], x_H: Float[Array, ""], s: RecombinationState
) -> Float[Array, ""]:
    """Helium I recombination with RECFAST 1.4 corrections (CLASS Heswitch = 6), d x_He / d z."""
    n_He = s.fHe * s.nH
    Rdown_He = _vf(s.Tmat, const.a_VF, const.b_VF)
    Rup_He = 4.0 * Rdown_He * (CR * s.Tmat) ** 1.5 * jnp.exp(-CDB_He / s.Tmat)
    one_m = jnp.maximum(1.0 - x_He, 1.0e-12)

    # simplest K_He (Heflag = 0)
    K_He0 = CK_He / s.Hz
    # Sobolev escape + Doppler (continuum opacity of H) corrections
    tauHe_s = const.A2P_s * CK_He * 3.0 * n_He * one_m / s.Hz
    pHe_s = -jnp.expm1(-tauHe_s) / tauHe_s
    K_He_s = 1.0 / (const.A2P_s * pHe_s * 3.0 * n_He * one_m)
    doppler = const.c_SI * const.L_He_2p * jnp.sqrt(2.0 * const.k_B_SI * s.Tmat / (const.m_H_SI * const.not4 * const.c_SI**2))
    one_m_xH = jnp.maximum(1.0 - x_H, 1.0e-12)
    gamma_2Ps = (
        3.0 * const.A2P_s * s.fHe * one_m * const.c_SI**2
        / (math.sqrt(math.pi) * const.sigma_He_2Ps * 8.0 * math.pi * doppler * one_m_xH)
        / (const.c_SI * const.L_He_2p) ** 2
    )
    AHcon = const.A2P_s / (1.0 + 0.36 * gamma_2Ps**FUDGE_HE)
    K_He_d = 1.0 / ((const.A2P_s * pHe_s + AHcon) * 3.0 * n_He * one_m)
    # Doppler term only while x_H < 0.9999999 (blended in log(1 - x_H))
    w_dopp = smooth_step(jnp.log(one_m_xH), math.log(1.0 - X_H_LIMIT_KHE), 0.05)
    K_He_corr = w_dopp * K_He_d + (1.0 - w_dopp) * K_He_s

    # triplet channel (Heflag >= 3)
    sq0 = jnp.sqrt(s.Tmat / const.T_0_VF)
    sq1 = jnp.sqrt(s.Tmat / const.T_1_VF)
    Rdown_trip = const.a_trip / (sq0 * (1.0 + sq0) ** (1.0 - const.b_trip) * (1.0 + sq1) ** (1.0 + const.b_trip))
    # Rup_trip = vf(T) (CR T)^{3/2} (4/3) exp(-T_He2St_ion / T); kept in logs because both it and
    # the 2^3P -> 2^3S Boltzmann factor underflow at low temperature (ratios would be 0/0).
    log_Rup_trip = (
        jnp.log(Rdown_trip)
        + 1.5 * jnp.log(CR * s.Tmat)
        + math.log(4.0 / 3.0)
        - T_He2St_ion / s.Tmat
    )
    Rup_trip = jnp.exp(log_Rup_trip)
    tauHe_t = const.A2P_t * n_He * one_m * 3.0 / (8.0 * math.pi * s.Hz * const.L_He_2Pt**3)
    pHe_t = -jnp.expm1(-tauHe_t) / tauHe_t
    # CfHe = A e^{-CL_PSt/T} / (Rup_trip + A e^{-CL_PSt/T}) = sigmoid(log A - CL_PSt/T - log Rup_trip)
    CfHe_simple = jax.nn.sigmoid(jnp.log(const.A2P_t * pHe_t) - CL_PSt / s.Tmat - log_Rup_trip)
    doppler_t = const.c_SI * const.L_He_2Pt * jnp.sqrt(2.0 * const.k_B_SI * s.Tmat / (const.m_H_SI * const.not4 * const.c_SI**2))
    gamma_2Pt = (
        3.0 * const.A2P_t * s.fHe * one_m * const.c_SI**2
        / (math.sqrt(math.pi) * const.sigma_He_2Pt * 8.0 * math.pi * doppler_t * one_m_xH)
        / (const.c_SI * const.L_He_2Pt) ** 2
    )
    AHcon_t = const.A2P_t / (1.0 + 0.66 * gamma_2Pt**0.9) / 3.0
    CfHe_dopp = jax.nn.sigmoid(jnp.log(const.A2P_t * pHe_t + AHcon_t) - CL_PSt / s.Tmat - log_Rup_trip)
    w_trip_dopp = smooth_step(jnp.log(one_m_xH), math.log(1.0 - X_H_LIMIT_CFHE_T), 0.05)
    CfHe_t = w_trip_dopp * CfHe_dopp + (1.0 - w_trip_dopp) * CfHe_simple

    # Heflag: 0 for x_He > 0.995; 6 (all corrections) for z > 800; 2 (no triplet) below.
    # CLASS also drops the corrections below x_He = 5e-9; there He I carries < 4e-10 of x_e, and the
    # switch (sharp or blended) makes the ODE quasi-discontinuous exactly where the solution sits, so
    # the corrections stay on (see CHANGELOG, failed approaches).
    w_on = smooth_step(-x_He, -X_HE0_TRIGGER2, 1.0e-3)
    early = (s.z >= Z_SWITCH_LATE).astype(x_He.dtype)
    K_He = w_on * K_He_corr + (1.0 - w_on) * K_He0
    w_trip = w_on * early

    # C_He = (1 + B Lambda) / (1 + B (Lambda + Rup)), B = K n_He (1 - x_He) e^{CDB_He2s2p/T}; written with
    # 1/B so that the huge Boltzmann factor at low temperature cannot overflow (even in derivatives).
    log_B = jnp.log(K_He * n_He * one_m) + jnp.minimum(CDB_He2s2p / s.Tmat, MAX_EXP_BOLTZ)
    inv_B = jnp.exp(-log_B)
    C_He = (inv_B + const.Lambda_He) / (inv_B + const.Lambda_He + Rup_He)
    singlet = (x * x_He * s.nH * Rdown_He - Rup_He * one_m * jnp.exp(-CL_He / s.Tmat)) * C_He
    triplet = (x * x_He * s.nH * Rdown_trip - one_m * 3.0 * Rup_trip * jnp.exp(-CL_Het / s.Tmat)) * CfHe_t
    return (singlet + w_trip * triplet) / (s.Hz * (1.0 + s.z))
