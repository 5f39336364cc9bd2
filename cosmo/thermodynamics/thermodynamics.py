"""Thermal history: ionisation fraction, baryon temperature, optical depth, visibility,
recombination and drag epochs (the CLASS ``thermodynamics`` module; RECFAST or HyRec rates).

Approximation regimes follow CLASS v3 exactly (redshift limits are fixed, so they
do not make outputs jump when parameters move):

=========  =================  ==================================================
regime     redshift range     ionisation fractions
=========  =================  ==================================================
brec       z > 8050           Saha He III <-> He II (x_H = x_He = 1)
He1        8050 > z > 4600    Saha He III <-> He II
He1f       4600 > z > 3550    Saha He II <-> He I, expanded (He I still ionised)
He2        3550 > z > 2870    Saha He II <-> He I
H          2870 > z > 1600    Saha for H (with He II correction); He I ODE
frec       1600 > z > 50      H and He I ODEs
reio       50 > z             ODEs for x_noreio; tanh reionization on top
=========  =================  ==================================================

Above z = 2870 the baryon temperature is the tight-coupling steady state
``T_b = T_r - eps``, ``eps = T_r H / Gamma_Compton`` (CLASS integrates the full equation
there; the difference is O(eps^2), below 1e-12 relative). Below, the stiff system for
``(x_H, x_He, T_b - T_r)`` is integrated with diffrax's Kvaerno5 (L-stable ESDIRK) on a
fixed grid in ``ln(1+z)``: once from 2870 to 1600 (H in Saha equilibrium), once from 1600 to
0 without reionization (which gives x_e before reionization), and once from 50 to 0 with it; stored x_e is blended across regime switches with CLASS's cubic ``f2``
over ``2 delta_z``. All epochs (z_star, z_rec, z_d) are roots/extrema of cubic
splines found by optimistix with implicit-function derivatives.

Units: conformal time, distances [Mpc]; ``dkappa`` = a n_e sigma_T [1/Mpc];
visibility ``g = dkappa exp(-kappa)`` [1/Mpc]; temperatures [K].
"""

from __future__ import annotations

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, Float

from .. import constants as const
from ..background import Background
from ..interpolation import (
    natural_spline_second_derivatives,
    spline_cumulative_integral,
    spline_derivative,
    spline_eval,
)
from ..params import CosmoParams
from ..precision import Precision
from . import hyrec, recfast
from .bbn import helium_from_bbn_at
from .reionization import (
    Z_REIO_START_MAX,
    OpticalDepthGrid,
    ReionizationModel,
    gauss_nodes,
    optical_depth,
    solve_z_reio,
)

__all__ = ["Thermodynamics", "compute_thermodynamics"]

# Regime ids and their upper redshift limits (CLASS precisions.h defaults).
HE1, HE1F, HE2, HREC, FREC, REIO = range(6)
#: z at which each regime ends (= where the next one starts), from HE1 to REIO.
REGIME_END = (4600.0, 3550.0, 2870.0, 1600.0, Z_REIO_START_MAX, 0.0)
Z_BREC_END = 8050.0
#: smoothing delta_z applied to x_e at the start of each regime (HE1 ... REIO)
REGIME_DELTA = (50.0, 100.0, 50.0, 50.0, 50.0, 2.0)
#: Highest redshift of the stored tables (above: analytic Saha, brec regime).
Z_TABLE_MAX = 1.0e5


def _f2(s):
    """CLASS's cubic step: 0 at s = 0, 1 at s = 1, flat at both ends."""
    return s * s * (0.5 - s / 3.0) * 6.0


class _Physics(eqx.Module):
    """Cosmology-dependent constants used by the rate equations (SI units)."""

    nH0: Float[Array, ""]  #: n_H today [m^-3]
    fHe: Float[Array, ""]
    T_cmb: Float[Array, ""]
    bg: Background
    #: HyRec's view of the cosmology and its tables (``recombination = 'hyrec'``), else None (RECFAST).
    hyrec: tuple[hyrec.HyRecCosmology, hyrec.HyRecTables] | None = None

    def Hz(self, z):
        return self.bg.hubble(z) * const.c_SI / const.Mpc_SI

    def rate_gamma_b(self, z, x):
        """Compton heating rate of baryons by photons [1/s]."""
        rho_g = self.bg.Omega0_g * self.bg.H0**2 * (1.0 + z) ** 4 * const.Jm3_over_Mpc2
        return 2.0 * const.sigma_T_SI / const.m_e_SI / const.c_SI * (4.0 / 3.0) * rho_g * x / (1.0 + x + self.fHe)

    def saha_rhs(self, z, Tmat, T_ion):
        """(2 pi m_e k T / h^2)^{3/2} exp(-T_ion / T) / n_H0 (1+z)^3 (dimensionless)."""
        return jnp.exp(1.5 * jnp.log(const.saha_prefactor * Tmat / (1.0 + z) ** 2) - T_ion / Tmat) / self.nH0


def _regime_fractions(regime: int, z, y, ph: _Physics):
    """(x, x_H, x_He) in a regime, x = n_e / n_H without reionization. ``y = (x_H, x_He, D_Tmat)``."""
    Tmat = y[2] + ph.T_cmb * (1.0 + z)
    fHe = ph.fHe
    if regime == -1 or regime == HE1:  # brec and He1: Saha He III <-> He II
        rhs = ph.saha_rhs(z, Tmat, const.T_ion_HeII)
        if regime == -1:
            r = 1.0 / rhs
            x = 2.0 * (1 + 2.0 * fHe) / (1.0 - r * (1.0 + fHe) + jnp.sqrt((1.0 - r * (1.0 + fHe)) ** 2 + 4.0 * r * (1.0 + 2 * fHe)))
        else:
            x = 0.5 * (jnp.sqrt((rhs - 1.0 - fHe) ** 2 + 4.0 * (1.0 + 2.0 * fHe) * rhs) - (rhs - 1.0 - fHe))
        return x, jnp.ones_like(x), jnp.ones_like(x)
    if regime == HE1F:
        r = 0.25 / ph.saha_rhs(z, Tmat, const.T_ion_HeI)
        x = 2.0 * (1 + fHe) / (1.0 - r + jnp.sqrt((1.0 - r) ** 2 + 4.0 * r * (1.0 + fHe)))
        return x, jnp.ones_like(x), jnp.ones_like(x)
    if regime == HE2:
        rhs = 4.0 * ph.saha_rhs(z, Tmat, const.T_ion_HeI)
        x = 0.5 * (jnp.sqrt((rhs - 1.0) ** 2 + 4.0 * (1.0 + fHe) * rhs) - (rhs - 1.0))
        return x, jnp.ones_like(x), (x - 1.0) / fHe
    if regime == HREC:
        rhs = ph.saha_rhs(z, Tmat, const.T_ion_H)
        xHeII = y[1] * fHe
        b = 1.0 + xHeII / rhs
        x_H = 2.0 / (b + jnp.sqrt(b * b + 4.0 / rhs))
        return x_H + fHe * y[1], x_H, y[1]
    # FREC, REIO: from the ODE state
    return y[0] + fHe * y[1], y[0], y[1]


def _derivative(regime: int, t, y, args):
    """d y / d ln a for the state ``(x_H, x_He, D_Tmat)`` in ``regime``. ``t = ln a``."""
    ph, reio, z_reio = args
    z = jnp.expm1(-t)
    x_noreio, x_H, x_He = _regime_fractions(regime, z, y, ph)
    x = reio.x_e(z, z_reio, x_noreio) if regime == REIO else x_noreio
    Trad = ph.T_cmb * (1.0 + z)
    Tmat = y[2] + Trad
    Hz = ph.Hz(z)
    state = recfast.RecombinationState(z=z, nH=ph.nH0 * (1.0 + z) ** 3, Hz=Hz, Tmat=Tmat, Trad=Trad, fHe=ph.fHe)
    zero = jnp.zeros_like(z)
    if ph.hyrec is None:
        dxH = recfast.dxH_dz(x_H, x_noreio, state) if regime >= FREC else zero
        dxHe = recfast.dxHe_dz(x_He, x_noreio, x_H, state) if regime >= HREC else zero
    else:
        dxH = hyrec.dxH_dz(x_H, x_noreio, state, *ph.hyrec) if regime >= FREC else zero
        dxHe = hyrec.dxHe_dz(x_He, x_H, state) if regime >= HREC else zero
    # dT_b/dz = 2 T_b/(1+z) + Gamma (T_b - T_r)/(H (1+z)) and dT_r/dz = T_cmb, written for
    # D = T_b - T_r without the catastrophic cancellation of T_b - T_r.
    D = y[2]
    dT = 2.0 * D / (1.0 + z) + ph.T_cmb + ph.rate_gamma_b(z, x) * D / (Hz * (1.0 + z))
    # d/dlna = -(1+z) d/dz
    return -(1.0 + z) * jnp.stack([dxH, dxHe, dT])


def _integrate_segment(regime: int, y0, t_grid, args):
    """Integrate one regime on the fixed grid ``t_grid`` (ln a, increasing); returns y at all nodes."""
    term = diffrax.ODETerm(lambda t, y, a: _derivative(regime, t, y, a))
    sol = diffrax.diffeqsolve(
        term,
        diffrax.Kvaerno5(root_finder=optx.Newton(rtol=1e-7, atol=1e-8)),
        t0=t_grid[0],
        t1=t_grid[-1],
        dt0=None,
        y0=y0,
        args=args,
        stepsize_controller=diffrax.StepTo(ts=t_grid),
        saveat=diffrax.SaveAt(ts=t_grid),
        max_steps=int(t_grid.shape[0]) + 1,
    )
    return sol.ys


def _segment_grids(prec: Precision) -> list[np.ndarray]:
    """Fixed ln a grids of each regime from z = 8050 to 0 (nodes shared at regime limits)."""
    limits = (Z_BREC_END,) + REGIME_END
    grids = []
    for z_hi, z_lo in zip(limits[:-1], limits[1:]):
        pieces = []
        for a_hi, a_lo, step in ((z_hi, max(z_lo, prec.thermo_z_late), prec.thermo_dlnz_early),
                                 (min(z_hi, prec.thermo_z_late), z_lo, prec.thermo_dlnz_late)):
            if a_hi <= a_lo:
                continue
            l_hi, l_lo = math.log1p(a_hi), math.log1p(a_lo)
            n = max(2, int(math.ceil((l_hi - l_lo) / step)))
            pieces.append(-np.linspace(l_hi, l_lo, n + 1))
        grid = np.concatenate([pieces[0]] + [p[1:] for p in pieces[1:]])
        grids.append(grid)
    return grids


class Thermodynamics(eqx.Module):
    """Thermal history on a grid in ``ln(1+z)`` (ascending), with derived epochs.

    Scalars follow classy's ``get_current_derived_parameters`` names and units.
    """

    YHe: Float[Array, ""]
    fHe: Float[Array, ""]
    nH0: Float[Array, ""]  #: n_H today [m^-3]
    z_reio: Float[Array, ""]
    tau_reio: Float[Array, ""]
    lnz: Float[Array, " n"]  #: ln(1+z), ascending
    x_e: Float[Array, " n"]
    x_e_y2: Float[Array, " n"]
    T_b: Float[Array, " n"]  #: [K]
    T_b_y2: Float[Array, " n"]
    dkappa: Float[Array, " n"]  #: a n_e sigma_T [1/Mpc]
    kappa: Float[Array, " n"]  #: optical depth from today
    kappa_y2: Float[Array, " n"]  #: spline second derivatives of kappa(ln(1+z))
    g: Float[Array, " n"]  #: visibility dkappa exp(-kappa) [1/Mpc]
    kappa_b: Float[Array, " n"]  #: baryon-drag optical depth
    z_star: Float[Array, ""]
    z_rec: Float[Array, ""]
    z_d: Float[Array, ""]
    tau_star: Float[Array, ""]
    tau_rec: Float[Array, ""]
    rs_star: Float[Array, ""]
    ds_star: Float[Array, ""]
    da_star: Float[Array, ""]
    ra_star: Float[Array, ""]
    rs_rec: Float[Array, ""]
    ds_rec: Float[Array, ""]
    da_rec: Float[Array, ""]
    ra_rec: Float[Array, ""]
    rs_d: Float[Array, ""]
    ds_d: Float[Array, ""]

    def ionization_fraction(self, z):
        """x_e = n_e / n_H at redshift z (classy ``ionization_fraction``)."""
        return spline_eval(jnp.log1p(z), self.lnz, self.x_e, self.x_e_y2)

    def baryon_temperature(self, z):
        """T_b [K] at redshift z (classy ``baryon_temperature``)."""
        return spline_eval(jnp.log1p(z), self.lnz, self.T_b, self.T_b_y2)

    @property
    def theta_s_100(self):
        """100 theta_s = 100 r_s(z_rec) / r_A(z_rec) (classy ``100*theta_s``)."""
        return 100.0 * self.rs_rec / self.ra_rec

    @property
    def theta_star_100(self):
        """100 theta_* = 100 r_s(z_*) / r_A(z_*) (classy ``100*theta_star``)."""
        return 100.0 * self.rs_star / self.ra_star


def _root_in_spline(x, y, y2, target, guess_index, derivative=False):
    """Root of s(x) = target (or of s'(x) = 0 when ``derivative``), started at ``x[guess_index]``."""

    def fn(xq, _):
        if derivative:
            return spline_derivative(xq, x, y, y2)
        return spline_eval(xq, x, y, y2) - target

    sol = optx.root_find(fn, optx.Newton(rtol=1e-11, atol=1e-11), x[guess_index], max_steps=64,
                         adjoint=optx.ImplicitAdjoint())
    return sol.value


def compute_thermodynamics(cp: CosmoParams, bg: Background, prec: Precision) -> Thermodynamics:
    """Solve recombination and reionization for parameters ``cp`` on background ``bg``."""
    # ---- helium and hydrogen content
    if cp.YHe_from_bbn:
        YHe = helium_from_bbn_at(cp.omega_b, bg)
    else:
        YHe = cp.YHe_input
    fHe = YHe / (const.not4 * (1.0 - YHe))
    H0_SI = bg.H0 * const.c_SI / const.Mpc_SI
    nH0 = 3.0 * H0_SI**2 * bg.Omega0_b / (8.0 * math.pi * const.G_SI * const.m_H_SI) * (1.0 - YHe)
    hyrec_inputs = None
    if cp.recombination == "hyrec":
        hyrec_inputs = (
            hyrec.HyRecCosmology(ocbh2=(bg.Omega0_b + bg.Omega0_cdm) * bg.h**2, obh2=bg.Omega0_b * bg.h**2, YHe=YHe,
                                 Neff=bg.Neff, T_cmb=bg.T_cmb),
            hyrec.hyrec_tables(),
        )
    ph = _Physics(nH0=nH0, fHe=fHe, T_cmb=bg.T_cmb, bg=bg, hyrec=hyrec_inputs)
    reio = ReionizationModel(
        fHe=fHe, width=cp.reionization_width, exponent=cp.reionization_exponent,
        he_redshift=cp.helium_fullreio_redshift, he_width=cp.helium_fullreio_width,
    )

    # ---- z > 2870: Saha fractions and the tight-coupling steady state T_b = T_r - eps
    grids = _segment_grids(prec)
    dummy_z = jnp.zeros(())

    def steady_state(regime, z):
        x = _regime_fractions(regime, z, jnp.zeros(3), ph)[0]
        eps = ph.T_cmb * (1.0 + z) * ph.Hz(z) / ph.rate_gamma_b(z, x)
        return jnp.stack([jnp.ones_like(z), jnp.ones_like(z), -eps])

    states = []
    for regime in (HE1, HE1F, HE2):
        z_nodes = jnp.expm1(-jnp.asarray(grids[regime]))
        states.append(jax.vmap(lambda zz: steady_state(regime, zz))(z_nodes))
    y = states[-1][-1]

    # ---- 2870 > z > 1600: H in Saha equilibrium, He I and T_b by the ODE
    grid = jnp.asarray(grids[HREC])
    y = y.at[1].set(_regime_fractions(HE2, jnp.expm1(-grid[0]), y, ph)[2])  # He I ODE starts from Saha
    ys = _integrate_segment(HREC, y, grid, (ph, reio, dummy_z))
    states.append(ys)
    y = ys[-1]

    # ---- z < 1600: full H and He ODEs, first without reionization down to z = 0
    y = y.at[0].set(_regime_fractions(HREC, jnp.expm1(-grid[-1]), y, ph)[1])  # H ODE starts from Saha
    n_frec = grids[FREC].shape[0]
    grid_noreio = jnp.asarray(np.concatenate([grids[FREC], grids[REIO][1:]]))
    ys_noreio_all = _integrate_segment(FREC, y, grid_noreio, (ph, reio, dummy_z))
    states.append(ys_noreio_all[:n_frec])
    y_start_reio = ys_noreio_all[n_frec - 1]
    ys_noreio = ys_noreio_all[n_frec - 1:]
    grid_reio = jnp.asarray(grids[REIO])
    x_noreio = ys_noreio[:, 0] + fHe * ys_noreio[:, 1]
    lnz_r = -grid_reio[::-1]  # ascending ln(1+z)
    xb = x_noreio[::-1]
    xb_y2 = natural_spline_second_derivatives(lnz_r, xb)
    n_int = prec.reio_samples - 1
    dz = Z_REIO_START_MAX / n_int
    z_nodes, w_nodes = gauss_nodes(n_int, dz)
    z_nodes = jnp.asarray(z_nodes)
    z_knots = jnp.asarray(dz * np.arange(n_int + 1))

    def dkappa_dz_per_x(z):
        return (1.0 + z) ** 2 * nH0 * const.sigma_T_SI * const.Mpc_SI / bg.hubble(z)

    tau_grid = OpticalDepthGrid(
        z_nodes=z_nodes,
        weights=jnp.asarray(w_nodes),
        dkappa_dz_per_x=dkappa_dz_per_x(z_nodes),
        dkappa_dz_per_x_knots=dkappa_dz_per_x(z_knots),
        x_before_nodes=spline_eval(jnp.log1p(z_nodes), lnz_r, xb, xb_y2),
        x_before_knots=spline_eval(jnp.log1p(z_knots), lnz_r, xb, xb_y2),
        dz=dz,
    )
    if cp.reio_parametrised_by == "tau_reio":
        z_reio = solve_z_reio(reio, tau_grid, cp.reio_input)
    else:
        z_reio = cp.reio_input
    ys_reio = _integrate_segment(REIO, y_start_reio, grid_reio, (ph, reio, z_reio))
    states.append(ys_reio)
    tau_reio = optical_depth(reio, tau_grid, z_reio)

    # ---- stored x_e with CLASS's smoothing across regime switches
    limits = (Z_BREC_END,) + REGIME_END
    lna_parts, x_parts, Tb_parts = [], [], []
    for regime, (grid_np, ys) in enumerate(zip(grids, states)):
        grid = jnp.asarray(grid_np)
        z = jnp.expm1(-grid)
        frac = jax.vmap(lambda zz, yy: _regime_fractions(regime, zz, yy, ph)[0])(z, ys)
        if regime == REIO:
            frac_cur = reio.x_e(z, z_reio, frac)
        else:
            frac_cur = frac
        prev = regime - 1 if regime > HE1 else -1
        s = jnp.clip((limits[regime] - z) / (2.0 * REGIME_DELTA[regime]), 0.0, 1.0)
        w = _f2(s)
        # The previous regime's formula is only needed inside the blending window; evaluate it at
        # the regime limit elsewhere (weight 0) so that no out-of-range Saha factor enters the gradient.
        z_prev = jnp.where(s < 1.0, z, limits[regime])
        frac_prev = jax.vmap(lambda zz, yy: _regime_fractions(prev, zz, yy, ph)[0])(z_prev, ys)
        x = w * frac_cur + (1.0 - w) * frac_prev
        start = 0 if regime == HE1 else 1  # nodes at regime limits are shared
        lna_parts.append(grid[start:])
        x_parts.append(x[start:])
        Tb_parts.append(ys[start:, 2] + ph.T_cmb * (1.0 + z[start:]))

    # ---- analytic high-z part (brec regime, steady-state T_b)
    n_hi = max(4, int(math.ceil(math.log((1.0 + Z_TABLE_MAX) / (1.0 + Z_BREC_END)) / prec.thermo_dlnz_late)))
    lna_hi = jnp.asarray(-np.linspace(math.log1p(Z_TABLE_MAX), math.log1p(Z_BREC_END), n_hi + 1)[:-1])
    z_hi = jnp.expm1(-lna_hi)
    x_hi0 = 1.0 + 2.0 * fHe
    eps_hi = ph.T_cmb * (1.0 + z_hi) * ph.Hz(z_hi) / ph.rate_gamma_b(z_hi, x_hi0)
    x_hi = jax.vmap(lambda zz, dT: _regime_fractions(-1, zz, jnp.stack([1.0, 1.0, dT]), ph)[0])(z_hi, -eps_hi)
    lna = jnp.concatenate([lna_hi] + lna_parts)
    x_e_desc = jnp.concatenate([x_hi] + x_parts)
    Tb_desc = jnp.concatenate([ph.T_cmb * (1.0 + z_hi) - eps_hi] + Tb_parts)

    lnz = -lna[::-1]
    x_e = x_e_desc[::-1]
    T_b = Tb_desc[::-1]
    z = jnp.expm1(lnz)

    # ---- optical depths and visibility (kappa counted from today)
    dkappa = (1.0 + z) ** 2 * nH0 * x_e * const.sigma_T_SI * const.Mpc_SI  # [1/Mpc]
    dtau_dlnz = (1.0 + z) / bg.hubble(z)  # |d tau / d ln(1+z)| [Mpc]
    f = dkappa * dtau_dlnz
    kappa = spline_cumulative_integral(lnz, f, natural_spline_second_derivatives(lnz, f))
    R_inv = 4.0 * bg.Omega0_g / (3.0 * bg.Omega0_b) * (1.0 + z)  # 1/R = 4 rho_g / (3 rho_b)
    fb = f * R_inv
    kappa_b = spline_cumulative_integral(lnz, fb, natural_spline_second_derivatives(lnz, fb))
    g = dkappa * jnp.exp(-kappa)

    # ---- epochs: kappa(z_star) = 1, kappa_b(z_d) = 1, max of g at z_rec (in ln(1+z))
    kappa_y2 = natural_spline_second_derivatives(lnz, kappa)
    kappa_b_y2 = natural_spline_second_derivatives(lnz, kappa_b)
    g_y2 = natural_spline_second_derivatives(lnz, g)
    i_star = jnp.argmin(jnp.abs(kappa - 1.0))
    i_d = jnp.argmin(jnp.abs(kappa_b - 1.0))
    window = (z > 500.0) & (z < 2000.0)  # CLASS's _Z_REC_MIN_, _Z_REC_MAX_
    i_rec = jnp.argmax(jnp.where(window, g, -jnp.inf))
    z_star = jnp.expm1(_root_in_spline(lnz, kappa, kappa_y2, 1.0, i_star))
    z_d = jnp.expm1(_root_in_spline(lnz, kappa_b, kappa_b_y2, 1.0, i_d))
    z_rec = jnp.expm1(_root_in_spline(lnz, g, g_y2, 0.0, i_rec, derivative=True))

    def at(zz):
        rs = bg.sound_horizon(zz)
        da = bg.angular_distance(zz)
        return bg.conformal_time(zz), rs, rs / (1.0 + zz), da, da * (1.0 + zz)

    tau_star, rs_star, ds_star, da_star, ra_star = at(z_star)
    tau_rec, rs_rec, ds_rec, da_rec, ra_rec = at(z_rec)
    rs_d = bg.sound_horizon(z_d)
    return Thermodynamics(
        YHe=YHe, fHe=fHe, nH0=nH0, z_reio=z_reio, tau_reio=tau_reio,
        lnz=lnz, x_e=x_e, x_e_y2=natural_spline_second_derivatives(lnz, x_e),
        T_b=T_b, T_b_y2=natural_spline_second_derivatives(lnz, T_b),
        dkappa=dkappa, kappa=kappa, kappa_y2=kappa_y2, g=g, kappa_b=kappa_b,
        z_star=z_star, z_rec=z_rec, z_d=z_d, tau_star=tau_star, tau_rec=tau_rec,
        rs_star=rs_star, ds_star=ds_star, da_star=da_star, ra_star=ra_star,
        rs_rec=rs_rec, ds_rec=ds_rec, da_rec=da_rec, ra_rec=ra_rec,
        rs_d=rs_d, ds_d=rs_d / (1.0 + z_d),
    )
