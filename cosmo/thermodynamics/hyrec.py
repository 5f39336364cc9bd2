"""HyRec 2020 recombination rates, as CLASS v3 uses them (``recombination = HyRec``, CLASS's default).

CLASS integrates its own thermodynamics system (approximation regimes, baryon temperature) and
takes from HyRec-2 only the two rate functions ``dx_H/dz`` and ``dx_He/dz``
(``external/HyRec2020/wrap_hyrec.c``). This module writes those two functions in JAX:

* Hydrogen, HyRec's default ``SWIFT`` model (Lee & Ali-Haimoud 2020): the effective
  multilevel atom with the 2s and 2p states (Ali-Haimoud & Hirata 2010), whose effective
  recombination coefficients ``A_2s, A_2p (T_r, T_m/T_r)`` and 2p -> 2s transfer rate
  ``R_2p2s(T_r)`` are tabulated (``Alpha_inf.dat``, ``R_inf.dat``), with the Lyman-alpha escape
  rate corrected by the SWIFT function ``Delta K / K (T_r)`` (``fit_swift.dat``: a fiducial curve and
  its linear response to omega_cb, omega_b (1 - Y_He) and N_eff), which stands for the
  two-photon and radiative-transfer effects of HyRec's ``FULL`` model. Once photoionisation from
  n = 2 is unlikely (probability < 1e-2, z < 900) or T_r is below the fitted range, the plain
  effective multilevel atom; below T_r = 0.004 eV (z ~ 16) or T_m/T_r = 0.1, Peebles' atom.
* Helium I (``helium.c``): 2^1P -> 1^1S Sobolev escape with hydrogen continuum opacity, 2^1S
  two-photon decay and the 2^3P -> 1^1S intercombination line; frozen once x_HeII < 1e-6.

Units as in HyRec: temperatures in eV (``KBOLTZ`` is HyRec's Boltzmann constant), densities in
cm^-3, rates in 1/s. Fine-structure constant and electron mass have today's values. Tables are
interpolated as HyRec does (four-point Lagrange cubics in ln T_r and T_m/T_r); HyRec's sharp model
switches at Pion = 1e-2 and x_HeII = 1e-6 are narrow C1 blends here (:func:`.recfast.smooth_step`),
so that x_e is a smooth function of the parameters.

The tables are third-party data (the ``hyrec2020`` dataset of :mod:`data.registry`, official
source CLASS v3.3.4's ``external/HyRec2020``): read from the data directory, or from the copy
that the pinned ``classy`` package installs, always checked against their sha256.
"""

from __future__ import annotations

import functools
import math
import pathlib

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .recfast import RecombinationState, alpha_B_H, smooth_step

__all__ = ["HyRecCosmology", "HyRecTables", "dxH_dz", "dxHe_dz", "hyrec_tables", "table_directory"]

# ---------------------------------------------------------------- HyRec constants (hydrogen.h, helium.c)
KBOLTZ = 8.617343e-5  #: Boltzmann constant [eV/K] (HyRec's value)
EI = 13.598286071938324  #: H ionisation energy [eV] (reduced mass)
SAHA_FACT = 3.016103031869581e21  #: (2 pi mu_e)^{3/2} / h^3 [eV^-3/2 cm^-3]
LYA_FACT = 4.662899067555897e15  #: 8 pi / (3 lambda_Lya^3) [cm^-3]
L2S1S = 8.2206  #: 2s -> 1s two-photon rate [1/s]
TR_MIN, TR_MAX, NTR = 0.004, 0.4, 100  #: T_r range [eV] and size of the effective-rate tables
T_RATIO_MIN, T_RATIO_MAX, NTM = 0.1, 1.0, 40  #: T_m/T_r range and size
PION_MAX = 1.0e-2  #: below this photoionisation probability from n = 2: no SWIFT correction
Z_PION = 900.0  #: HyRec estimates Pion only below this redshift (Pion = 1 above)
XHEII_MIN = 1.0e-6  #: He I recombination stops below this x_HeII
#: SWIFT correction function: fiducial cosmology of its linear response.
SWIFT_OCBH2, SWIFT_OBH2_XH, SWIFT_NEFF, SWIFT_T0 = 0.14175, 0.02242 * (1.0 - 0.246738546372), 3.046, 2.7255
SWIFT_DT = 10.0  #: step of the correction table in T_r [K]

#: Files of the ``hyrec2020`` dataset (data registry) read here.
TABLE_FILES = ("Alpha_inf.dat", "R_inf.dat", "fit_swift.dat")

# widths of the blended switches (in ln Pion and ln x_HeII)
_PION_WIDTH = 0.05
_XHEII_WIDTH = 0.2
_HE_T_FLOOR = 1000.0  # K


class HyRecTables(eqx.Module):
    """HyRec's tables: ``log_alpha[m, j, i]`` = ln A_m(T_r = exp(logTR_i), T_m/T_r = ratio_j) [cm^3/s]
    (m = 0, 1: 2s, 2p for T_m <= T_r; 2, 3: for T_m > T_r with the inverse ratio), ``log_r2p2s[i]`` =
    ln R_2p2s [1/s], ``swift[c, n]``: T_r [K] (c = 0) on 10 K steps, Delta K/K of the fiducial (c = 1)
    and its derivatives with respect to omega_cb, omega_b (1 - Y_He), N_eff (c = 2, 3, 4)."""

    log_alpha: Float[Array, "4 ntm ntr"]
    log_r2p2s: Float[Array, " ntr"]
    swift: Float[Array, "5 n"]


class HyRecCosmology(eqx.Module):
    """The cosmology as HyRec's SWIFT correction reads it: ``ocbh2`` = (Omega_b + Omega_cdm) h^2,
    ``obh2``, ``YHe``, ``Neff`` (CLASS's early-time N_eff), ``T_cmb`` [K]."""

    ocbh2: Float[Array, ""]
    obh2: Float[Array, ""]
    YHe: Float[Array, ""]
    Neff: Float[Array, ""]
    T_cmb: Float[Array, ""]


def table_directory() -> pathlib.Path:
    """Folder holding HyRec's tables with their registered sha256 (:func:`data.registry.locate`:
    the ``hyrec2020`` dataset in the data directory, else the copy installed with ``classy``)."""
    from data import registry

    return registry.locate("hyrec2020")


@functools.cache
def _table_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    folder = table_directory()
    alpha = np.loadtxt(folder / "Alpha_inf.dat").reshape(NTR, NTM, 4)  # file order: T_r, T_ratio, level
    r2p2s = np.loadtxt(folder / "R_inf.dat").reshape(NTR)
    swift = np.loadtxt(folder / "fit_swift.dat").reshape(-1, 5).T
    return np.log(alpha).transpose(2, 1, 0).copy(), np.log(r2p2s), swift.copy()


def hyrec_tables() -> HyRecTables:
    """HyRec's tables as arrays (read once per process; see :func:`table_directory`)."""
    log_alpha, log_r2p2s, swift = _table_arrays()
    return HyRecTables(log_alpha=jnp.asarray(log_alpha), log_r2p2s=jnp.asarray(log_r2p2s), swift=jnp.asarray(swift))


def _lagrange4(u: Float[Array, ""], n: int) -> tuple[Array, list[Array]]:
    """HyRec's four-point Lagrange interpolation at the fractional index ``u`` of a uniform table
    of ``n`` points: the first index ``i - 1`` and the four weights (``rec_interp1d``)."""
    i = jnp.clip(jnp.floor(u), 1, n - 3)
    f = u - i
    w = [f * (f - 1.0) * (2.0 - f) / 6.0, (1.0 + f) * (1.0 - f) * (2.0 - f) / 2.0,
         (1.0 + f) * f * (2.0 - f) / 2.0, (1.0 + f) * f * (f - 1.0) / 6.0]
    return i.astype(int) - 1, w


def _interp1d(table: Float[Array, " n"], u: Float[Array, ""]) -> Float[Array, ""]:
    i0, w = _lagrange4(u, table.shape[0])
    return sum(w[k] * table[i0 + k] for k in range(4))


def _rates(TR: Float[Array, ""], TM: Float[Array, ""], tab: HyRecTables):
    """Effective rates (HyRec's ``interpolate_rates``): A_2s, A_2p at (T_r, T_m), their excess over
    T_m = T_r, the photoionisation rates B_2s, B_2p and R_2p2s. Temperatures in eV."""
    u_tr = (jnp.log(TR) - math.log(TR_MIN)) / ((math.log(TR_MAX) - math.log(TR_MIN)) / (NTR - 1))
    i_tr, w_tr = _lagrange4(u_tr, NTR)
    in_tr = lambda row: sum(w_tr[k] * row[..., i_tr + k] for k in range(4))  # noqa: E731
    ratio = TM / TR
    hot = ratio > 1.0  # T_m > T_r (only with extra heating): tables 2, 3 at T_r/T_m
    t_ratio = jnp.where(hot, 1.0 / ratio, ratio)
    i_tm, w_tm = _lagrange4((t_ratio - T_RATIO_MIN) / ((T_RATIO_MAX - T_RATIO_MIN) / (NTM - 1)), NTM)
    alpha_eq, alpha, beta = [], [], []
    boltz = SAHA_FACT * TR * jnp.sqrt(TR) * jnp.exp(-0.25 * EI / TR)
    for level in (0, 1):
        a_eq = jnp.exp(in_tr(tab.log_alpha[level, NTM - 1]))
        rows = jnp.where(hot, tab.log_alpha[level + 2], tab.log_alpha[level])  # (NTM, NTR)
        a = jnp.exp(sum(w_tm[k] * in_tr(rows[i_tm + k]) for k in range(4)))
        alpha_eq.append(a_eq)
        alpha.append(a)
        beta.append(a_eq * boltz / (2.0 * level + 1.0))
    r2p2s = jnp.exp(in_tr(tab.log_r2p2s))
    d_alpha = [alpha[m] - alpha_eq[m] for m in (0, 1)]
    return alpha, d_alpha, beta, r2p2s


def _alpha_b_ppb(T: Float[Array, ""]) -> Float[Array, ""]:
    """Case-B recombination coefficient [cm^3/s] (Pequignot et al. 1991, RECFAST's fit) at T [eV]."""
    return alpha_B_H(T / KBOLTZ) * 1.0e6


def _swift_correction(TR_K: Float[Array, ""], cosmo: HyRecCosmology, tab: HyRecTables) -> Float[Array, ""]:
    """SWIFT's Delta K / K at T_r [K] (zero above the table; the table starts at 1775 K)."""
    u = (TR_K - tab.swift[0, 0]) / SWIFT_DT
    t_ratio3 = (SWIFT_T0 / cosmo.T_cmb) ** 3
    diff = (
        (cosmo.ocbh2 - SWIFT_OCBH2) * t_ratio3,
        (cosmo.obh2 * (1.0 - cosmo.YHe) - SWIFT_OBH2_XH) * t_ratio3,
        cosmo.Neff - SWIFT_NEFF,
    )
    dk = _interp1d(tab.swift[1], u) + sum(d * _interp1d(tab.swift[c + 2], u) for c, d in enumerate(diff))
    return jnp.where(TR_K > tab.swift[0, -1], 0.0, dk)


def dxH_dz(
    x_H: Float[Array, ""], x: Float[Array, ""], s: RecombinationState, cosmo: HyRecCosmology, tab: HyRecTables,
) -> Float[Array, ""]:
    """d x_H / d z of HyRec's SWIFT model (x = n_e/n_H without reionization; CLASS's ``hyrec_dx_H_dz``)."""
    nH = s.nH * 1.0e-6  # cm^-3
    TR, TM = s.Trad * KBOLTZ, s.Tmat * KBOLTZ
    one_m = 1.0 - x_H
    rlya = LYA_FACT * s.Hz / nH / one_m
    saha = SAHA_FACT * TR * jnp.sqrt(TR) * jnp.exp(-EI / TR) / nH
    dxe2 = x * x_H - saha * one_m

    # Peebles (no fudge) where the tables end: T_r <= 0.004 eV or T_m/T_r <= 0.1
    a_tm, a_tr = _alpha_b_ppb(TM), _alpha_b_ppb(TR)
    # 4 B (photoionisation from n = 2) in logs: it underflows at late times, and ln Pion needs it
    log_four_beta = math.log(SAHA_FACT) + 1.5 * jnp.log(TR) - 0.25 * EI / TR + jnp.log(a_tr)
    four_beta = jnp.exp(log_four_beta)
    c_peebles = (3.0 * rlya + L2S1S) / (3.0 * rlya + L2S1S + four_beta)
    peebles = -nH * (saha * one_m * (a_tm - a_tr) + dxe2 * a_tm) * c_peebles / s.Hz

    # effective multilevel atom, with SWIFT's Lyman-alpha correction while photoionisation from
    # n = 2 is likely (Pion >= 1e-2, estimated below z = 900) and T_r is in the fitted range
    safe = (TR > TR_MIN) & (TM / TR > T_RATIO_MIN)
    TR_s = jnp.where(safe, TR, 0.1)
    TM_s = jnp.where(safe, TM, 0.1)
    alpha, d_alpha, beta, r2p2s = _rates(TR_s, TM_s, tab)
    log_pion = log_four_beta - jnp.logaddexp(jnp.log(3.0 * rlya + L2S1S), log_four_beta)
    w_swift = smooth_step(jnp.where(s.z < Z_PION, log_pion, 0.0), math.log(PION_MAX), _PION_WIDTH)
    w_swift = jnp.where(s.Trad < tab.swift[0, 0], 0.0, w_swift)
    dk = _swift_correction(s.Trad, cosmo, tab)
    rlya_fit = rlya / (1.0 + w_swift * dk)
    g2s = beta[0] + 3.0 * r2p2s + L2S1S
    g2p = beta[1] + r2p2s + rlya_fit
    c2s = (L2S1S + 3.0 * r2p2s * rlya_fit / g2p) / (g2s - 3.0 * r2p2s * r2p2s / g2p)
    c2p = (rlya_fit + r2p2s * L2S1S / g2s) / (g2p - 3.0 * r2p2s * r2p2s / g2s)
    emla = -nH / s.Hz * ((saha * one_m * d_alpha[0] + alpha[0] * dxe2) * c2s
                         + (saha * one_m * d_alpha[1] + alpha[1] * dxe2) * c2p)
    dxdlna = jnp.where(safe, emla, peebles)
    return -dxdlna / (1.0 + s.z)


def dxHe_dz(x_He: Float[Array, ""], x_H: Float[Array, ""], s: RecombinationState) -> Float[Array, ""]:
    """d x_He / d z of HyRec's He I recombination (``rec_helium_dxHeIIdlna``; x_He = x_HeII / f_He,
    CLASS's convention). Fixed once x_HeII < 1e-6, as CLASS's wrapper does (blended)."""
    fHe = s.fHe
    xHeII = x_He * fHe
    xH1 = jnp.maximum(1.0 - x_H, 1.0e-30)
    xe = xHeII + x_H
    xHeI = fHe - xHeII
    # Once frozen (x_HeII below the blend) the rate is not evaluated, and never below T_r = 1000 K
    # (z ~ 370, long after x_HeII < 1e-6 everywhere in the parameter space): its Boltzmann factors
    # e^{E/T_r} overflow at late times (inf x 0 = NaN where the blend holds x_HeII at its edge).
    active = xHeII > XHEII_MIN * math.exp(-0.5 * _XHEII_WIDTH)
    Tr = jnp.where(active, jnp.maximum(s.Trad, _HE_T_FLOOR), 5000.0)
    nH = s.nH * 1.0e-6
    H = s.Hz
    s0 = 2.414194e15 * Tr * jnp.sqrt(Tr) / nH * 4.0
    saha = s0 * jnp.exp(-285325.0 / Tr)
    y2s = jnp.exp(46090.0 / Tr) / s0
    y2p = jnp.exp(39101.0 / Tr) / s0 * 3.0
    etacinv = 9.15776e22 * H / nH / xH1
    g2pinc = (
        1.976e6 / -jnp.expm1(-6989.0 / Tr)
        + 6.03e6 / jnp.expm1(19754.0 / Tr)
        + 1.06e8 / jnp.expm1(21539.0 / Tr)
        + 2.18e6 / jnp.expm1(28496.0 / Tr)
        + 3.37e7 / jnp.expm1(29224.0 / Tr)
        + 1.04e6 / jnp.expm1(32414.0 / Tr)
        + 1.51e7 / jnp.expm1(32781.0 / Tr)
    )
    tau2p = 4.277e-8 * nH / H * xHeI
    dnuline = g2pinc * tau2p / (4.0 * math.pi**2)
    tauc = dnuline / etacinv
    enh = jnp.sqrt(1.0 + math.pi**2 * tauc) + 7.74 * tauc / (1.0 + 70.0 * tauc)
    pesc = enh / tau2p
    pesc = pesc + (-jnp.expm1(-1.023e-7 * tau2p)) * (0.964525 * jnp.exp(2947.0 / Tr) - enh * jnp.exp(-6.14e13 / etacinv)) / tau2p
    ydown = 50.94 * y2s + 1.7989e9 * y2p * pesc
    dxHeII_dlna = ydown * (xHeI * saha - xHeII * xe) / H
    w = smooth_step(jnp.log(jnp.maximum(xHeII, 1e-300)), math.log(XHEII_MIN), _XHEII_WIDTH)
    return jnp.where(active, -w * dxHeII_dlna / fHe / (1.0 + s.z), 0.0)
