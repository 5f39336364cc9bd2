"""Line-of-sight transfer functions Delta_l(k) of the CMB temperature, E polarisation and
lensing potential (flat space, scalar modes; CLASS ``transfer.c`` conventions).

With ``chi = tau0 - tau`` and ``x = k chi`` (trapezoid in tau on the quadrature nodes):

* ``Delta^T_l = int dtau [t0 j_l(x) + t1 j_l'(x) + t2 (3 j_l''(x) + j_l(x)) / 2]``
* ``Delta^E_l = int dtau e sqrt(3/8 (l+2)(l+1)l(l-1)) j_l(x) / x^2``
* ``Delta^phi_l = int dtau S_phi j_l(x)``, ``S_phi = (phi+psi) (tau_rec - tau) / ((tau0 - tau)(tau0 - tau_rec))``
  for ``tau > tau_rec`` (``tau_rec``: maximum of the visibility); above ``l_switch_limber``
  CLASS's Limber form ``I_l S_phi(k, tau0 - (l+1/2)/k) / k`` with
  ``I_l = int_0^inf j_l(x) dx ~ sqrt(pi/(2l)) (1 - 1/(4l) + 1/(32 l^2))``.

The sources of the evolved modes are splined in k onto a finer fixed transfer grid, and in
ln a onto the quadrature nodes: the stored nodes through recombination, then nodes uniform
in (fiducial) conformal time, fine enough for the oscillations of j_l(k chi) (both are
constant linear maps). Normalisation: comoving curvature R = 1;
``C_l = 4 pi int dk/k P_R(k) Delta_l Delta_l'`` (:mod:`cosmo.harmonic`).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..background import Background
from ..interpolation import natural_spline_matrix, trapezoid_weights
from ..perturbations import Perturbations
from ..perturbations.evolve import fiducial_loga, fiducial_tau
from ..perturbations.perturbations import source_grid
from ..precision import Precision
from ..thermodynamics import Thermodynamics
from .bessel import bessel_table

__all__ = ["Transfer", "cmb_modes", "transfer_k_grid", "l_sampling", "quadrature_loga", "compute_transfer"]

#: Fiducial distances used only to lay out parameter-independent k grids [Mpc].
_TAU0_FID = 14000.0
_CHI_REC_FID = 13860.0
_RS_FID = 145.0


def k_max_cmb(prec: Precision, l_max: int) -> float:
    """Largest wavenumber [1/Mpc] of the sources and transfer functions for ``l_max``."""
    return prec.cmb_k_max_over_l * l_max / _TAU0_FID


def _log_then_linear(
    k_min: float, k_max: float, per_decade: int, step: float, step_low: float | None = None, k_low_end: float = 0.0
) -> np.ndarray:
    """Logarithmic steps (``per_decade``) while shorter than ``step`` (``step_low`` below
    ``k_low_end``), then linear ones."""
    ratio = 10.0 ** (1.0 / per_decade)
    ks = [k_min]
    while ks[-1] < k_max:
        cap = step_low if (step_low is not None and ks[-1] < k_low_end) else step
        ks.append(ks[-1] + min(ks[-1] * (ratio - 1.0), cap))
    ks[-1] = k_max
    return np.asarray(ks)


def cmb_modes(prec: Precision, l_max: int) -> np.ndarray:
    """Wavenumbers [1/Mpc] of the evolved modes for C_l up to ``l_max`` (parameter independent)."""
    step = prec.cmb_k_step_sub * 2.0 * math.pi / _RS_FID
    return _log_then_linear(
        prec.cmb_k_min, k_max_cmb(prec, l_max), prec.cmb_k_per_decade, step, prec.cmb_k_step_mid, prec.cmb_k_mid_end
    )


def transfer_k_grid(prec: Precision, l_max: int) -> np.ndarray:
    """Wavenumbers [1/Mpc] of the transfer functions (resolving the oscillations of j_l(k chi_rec))."""
    step = prec.q_linstep * 2.0 * math.pi / _CHI_REC_FID
    return _log_then_linear(prec.q_k_min, k_max_cmb(prec, l_max), prec.q_per_decade, step)


def l_sampling(prec: Precision, l_max: int) -> np.ndarray:
    """Multipoles where the transfer functions and C_l are computed (CLASS-like sampling)."""
    ls = list(range(2, min(prec.l_all, l_max) + 1))
    while ls[-1] < l_max:
        ls.append(min(l_max, ls[-1] + max(1, min(prec.l_linstep, int(ls[-1] * (prec.l_logstep - 1.0))))))
    return np.asarray(ls)


def quadrature_loga(prec: Precision) -> np.ndarray:
    """ln a nodes of the time integrals: the stored source nodes down to ``cmb_z_rec_end``,
    then uniform in fiducial conformal time with step ``cmb_dtau_late`` until today."""
    src = source_grid(prec, cmb=True)
    rec = src[src <= -math.log1p(prec.cmb_z_rec_end) + 1e-12]
    tau_a, tau_b = float(fiducial_tau(np.exp(rec[-1]))), float(fiducial_tau(np.array(1.0)))
    n = int(math.ceil((tau_b - tau_a) / prec.cmb_dtau_late))
    late = fiducial_loga(np.linspace(tau_a, tau_b, n + 1)[1:])
    late[-1] = 0.0
    return np.concatenate([rec, late])


class Transfer(eqx.Module):
    """Transfer functions ``delta[type][i_l, i_k]`` at multipoles ``l`` and wavenumbers ``k``."""

    l: tuple[int, ...] = eqx.field(static=True)  #: sampled multipoles
    k: Float[Array, " n_k"]
    t: Float[Array, "n_l n_k"]
    e: Float[Array, "n_l n_k"]
    phi: Float[Array, "n_l n_k"]


def compute_transfer(
    pert: Perturbations, bg: Background, th: Thermodynamics, prec: Precision, l_max: int
) -> Transfer:
    """Line-of-sight integrals of the sources (``pert`` from ``compute_perturbations(..., cmb=True)``
    on the modes :func:`cmb_modes`) at the multipoles :func:`l_sampling`."""
    ls = l_sampling(prec, l_max)
    kq = transfer_k_grid(prec, l_max)
    ks = cmb_modes(prec, l_max)
    if pert.k.shape != ks.shape:
        raise ValueError("the sources must be computed on the modes cmb_modes(prec, l_max)")
    table = bessel_table(ls, prec.bessel_dx, prec.bessel_x_max)
    loga_q = quadrature_loga(prec)
    M_k = jnp.asarray(natural_spline_matrix(tuple(ks), tuple(kq)))
    M_t = jnp.asarray(natural_spline_matrix(tuple(source_grid(prec, cmb=True)), tuple(loga_q)))

    tau = bg.conformal_time_loga(jnp.asarray(loga_q))
    tau0 = bg.conformal_age
    chi = tau0 - tau
    w = trapezoid_weights(tau)
    tau_rec = th.tau_rec
    lens_w = jnp.where(
        (tau > tau_rec) & (chi > 0.0), (tau_rec - tau) / jnp.where(chi > 0.0, chi, 1.0) / (tau0 - tau_rec), 0.0
    )

    def on_quadrature(name):
        return M_k @ pert.source(name) @ M_t.T  # (n_q, n_tau)

    s_phi = on_quadrature("phi_plus_psi") * lens_w[None, :]
    s0, s1, s2, se = (on_quadrature(n) * w[None, :] for n in ("t0", "t1", "t2", "e"))
    sp = s_phi * w[None, :]
    kq_j = jnp.asarray(kq)
    x = kq_j[:, None] * chi[None, :]

    def limber(ll):
        chi_l = (ll + 0.5) / kq_j
        s = jax.vmap(lambda c, row: jnp.interp(c, chi[::-1], row[::-1], left=0.0, right=0.0))(chi_l, s_phi)
        i_phi_flat = jnp.sqrt(jnp.pi / (2.0 * ll)) * (1.0 - 0.25 / ll + 1.0 / (32.0 * ll * ll))
        return i_phi_flat * s / kq_j  # = int dchi S j_l(k chi) with S at chi = (l + 1/2)/k

    @jax.checkpoint
    def one_l(il):
        r = table.radial(il, x)
        ll = table.l[il].astype(x.dtype)
        delta_t = jnp.sum(s0 * r[..., 0] + s1 * r[..., 1] + s2 * r[..., 2], axis=1)
        e_factor = jnp.sqrt(0.375 * (ll + 2.0) * (ll + 1.0) * ll * (ll - 1.0))
        delta_e = e_factor * jnp.sum(se * r[..., 3], axis=1)
        delta_p = jnp.where(ll > prec.l_switch_limber, limber(ll), jnp.sum(sp * r[..., 0], axis=1))
        return delta_t, delta_e, delta_p

    dt, de, dp = jax.lax.map(one_l, jnp.arange(len(ls)))
    return Transfer(l=tuple(int(v) for v in ls), k=kq_j, t=dt, e=de, phi=dp)
