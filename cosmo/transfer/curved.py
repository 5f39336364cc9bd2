"""Line-of-sight transfer functions in curved space (``Omega_k != 0``; CLASS ``transfer.c``).

A mode of Laplacian eigenvalue ``-k^2`` projects onto the sky through the hyperspherical Bessel
functions ``Phi_l^nu(chi)`` (:mod:`.hyperspherical`) with ``q^2 = k^2 + K``, ``nu = q / sqrt|K|``
and ``chi = sqrt|K| (tau0 - tau)``. The radial functions of the scalar sources are CLASS's:

* t0: ``Phi``; t1: ``sqrt|K| / k Phi'``; t2: ``(3 |K| / k^2 Phi'' + Phi) / (2 s_2)``;
* E: ``sqrt(3/8 (l+2)(l+1)l(l-1)) / s_2 cscK^2 Phi`` with ``cscK = sqrt|K| / (k S(chi))``;
* lensing potential: ``Phi`` (exact, ``l <= l_switch_limber``), else CLASS's curved Limber form
  ``I_l S_phi(tau_l) / q (1 - K l^2 / q^2)^(-1/4)`` at ``sqrt|K| (tau0 - tau_l) = asinh((l + 1/2) / nu)``
  (open) or ``asin(sqrt(l (l+1)) / nu)`` (closed);

``s_2 = sqrt(1 - 3K/k^2)``, ``S = sinh`` (open, ``K < 0``) or ``sin`` (closed). ``' = d/dchi``. The
sources are the same functions of (k, tau) as in flat space (:mod:`cosmo.perturbations.sources`),
on the same transfer k grid; ``C_l = 4 pi int dk/k P_R(k) Delta_l(q(k))^2`` (:mod:`cosmo.harmonic`).

Modes exist for ``k^2 > |K|`` (open: no supercurvature modes) and ``nu >= 3`` (closed), as in CLASS.
Closed universes are treated with a continuous ``nu`` (the sum over integer ``nu`` of the
closed spectrum replaced by the integral; ``Phi_l`` vanishes for ``l >= nu``).

Cost: the hyperspherical functions are computed for every transfer wavenumber by recurrences in
``l`` over the quadrature nodes (no cosmology-independent table exists: they depend on ``nu`` and
``chi`` separately). Wavenumbers are processed in chunks, each up to the highest multipole it can
reach (``nu S(chi) >= l - 10 l^(1/3) - 10``, with a static bound on the curvature,
``Precision.curvature_chi_max``); the nodes after ``transfer_late_source_z`` enter only the
multipoles up to ``transfer_late_source_l`` (the late sources above it, the late ISW at
``l > 400``, are below 1e-6 of the C_l).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..background import Background
from ..precision import Precision
from ..thermodynamics import Thermodynamics
from .bessel import bessel_zero_below
from .hyperspherical import hyperspherical
from .transfer import (
    Transfer, late_source_start, l_sampling, lensing_k_grid, los_inputs, transfer_k_grid,
)

__all__ = ["compute_transfer_curved", "curved_chunks"]

#: Smallest conformal age [Mpc] assumed by the static bound on sqrt|K| (any sensible cosmology
#: has tau0 > 10 Gpc; checked at run time through curvature_chi_max).
_TAU0_MIN = 10000.0


def _l_top_count(prec: Precision, ls: np.ndarray, k: float) -> int:
    """How many of the sampled multipoles ``ls`` a wavenumber ``k`` can reach: ``nu S(chi) <= q tau0
    sinh(chi_max)/chi_max`` must exceed the Bessel zero region of ``l``."""
    c = prec.curvature_chi_max
    q = k + c / _TAU0_MIN
    x = q * prec.bessel_chi_max * math.sinh(c) / c
    return int(sum(bessel_zero_below(int(l)) <= x for l in ls))


def curved_chunks(prec: Precision, ls: np.ndarray, kq: np.ndarray, size: int) -> list[tuple[np.ndarray, int]]:
    """Chunks of ``size`` consecutive transfer wavenumbers (indices, padded by repeating the last)
    grouped into classes that share a number of multipoles: ``[(indices[n_chunks, size], n_l)]``."""
    n = len(kq)
    starts = list(range(0, n, size))
    classes: dict[int, list[np.ndarray]] = {}
    for s in starts:
        idx = np.arange(s, min(n, s + size))
        idx = np.concatenate([idx, np.full(size - len(idx), idx[-1])])
        n_l = _l_top_count(prec, ls, float(kq[idx].max()))
        # round the multipole count up to a few levels (fewer compiled bodies)
        level = next(v for v in (*(int(len(ls) * f) for f in (0.15, 0.3, 0.45, 0.6, 0.75, 0.9)), len(ls)) if v >= n_l)
        classes.setdefault(max(level, 1), []).append(idx)
    return [(np.stack(v), n_l) for n_l, v in sorted(classes.items())]


def _nu(k, K, sqrtK, sgnK):
    """``nu = sqrt(k^2 + K) / sqrt|K|`` and whether the mode exists: open, ``k^2 > |K|`` (no
    supercurvature modes, as CLASS); closed, ``nu >= 3`` (CLASS's first mode). Invalid modes get
    a harmless ``nu`` (their transfer functions are set to 0)."""
    q2 = k * k + K
    nu = jnp.sqrt(jnp.where(q2 > 0.0, q2, 1.0e-30)) / sqrtK
    valid = (q2 > 0.0) if sgnK < 0 else (nu >= 3.0)
    return jnp.where(valid, nu, 3.5), valid


def compute_transfer_curved(
    pert, bg: Background, th: Thermodynamics, prec: Precision, l_max: int, sgnK: int, nonlinear_lensing=None,
) -> Transfer:
    """Line-of-sight integrals with spatial curvature of sign ``sgnK`` (static: -1 open, +1 closed;
    ``bg.K`` must have the matching sign). Same inputs and output as
    :func:`cosmo.transfer.compute_transfer`; ``Transfer.k`` holds the wavenumbers ``k``."""
    ls = l_sampling(prec, l_max)
    kq, kl = transfer_k_grid(prec, l_max), lensing_k_grid(prec, l_max)
    inp = los_inputs(pert, bg, th, prec, l_max, nonlinear_lensing)
    K = bg.K
    absK = jnp.abs(K)
    sqrtK = jnp.sqrt(absK)
    tau0 = bg.conformal_age
    K_ok = (jnp.sign(-K) == -sgnK) & (sqrtK * tau0 <= prec.curvature_chi_max)
    sqrtK = eqx.error_if(
        sqrtK, ~K_ok,
        f"curved line of sight: K must have sign {'-' if sgnK < 0 else '+'} and sqrt|K| tau0 <= "
        f"Precision.curvature_chi_max = {prec.curvature_chi_max} (|Omega_k| too large for this preset)",
    )
    chi = sqrtK * inp.chi  # dimensionless
    n_late = late_source_start(prec)
    ls_f = np.asarray(ls, dtype=float)
    e_fac = jnp.asarray(np.sqrt(0.375 * (ls_f + 2.0) * (ls_f + 1.0) * ls_f * (ls_f - 1.0)))
    kq_j = jnp.asarray(kq)
    n_q, n_l = len(kq), len(ls)

    def radial_sums(k_idx, n_lc, nodes, with_e_t):
        """Delta_T, Delta_E, Delta_phi (exact) of the wavenumbers ``k_idx`` (one chunk) at the first
        ``n_lc`` multipoles, integrating the quadrature ``nodes`` (a static slice)."""
        k = kq_j[k_idx]
        nu, valid = _nu(k, K, sqrtK, sgnK)
        x = chi[nodes]
        S = jnp.sinh(x) if sgnK < 0 else jnp.sin(x)
        S_safe = jnp.where(S > 0.0, S, 1.0)
        ls_c = ls[:n_lc]

        def one(nu_i, k_i, i):
            phi, dphi, d2phi = hyperspherical(ls_c, nu_i, x, sgnK)
            s2 = jnp.sqrt(1.0 - 3.0 * K / (k_i * k_i))
            r1 = sqrtK / k_i * dphi
            r2 = (3.0 * absK / (k_i * k_i) * d2phi + phi) / (2.0 * s2)
            csc2 = jnp.where(S > 0.0, (sqrtK / (k_i * S_safe)) ** 2, 0.0)
            t0, t1, t2 = (inp.s_t[j, i, nodes] for j in range(3))
            d_t = phi @ t0 + r1 @ t1 + r2 @ t2
            d_e = e_fac[:n_lc] / s2 * ((phi * csc2[None, :]) @ inp.s_e[i, nodes])
            d_p = phi @ inp.s_p[i, nodes]
            return d_t, d_e, d_p

        d_t, d_e, d_p = (jnp.where(valid[:, None], a, 0.0) for a in jax.vmap(one)(nu, k, k_idx))  # (chunk, n_lc)
        pad = ((0, 0), (0, n_l - n_lc))
        return tuple(jnp.pad(a, pad) for a in (d_t, d_e, d_p))

    def accumulate(chunks, nodes, l_limit=None):
        out = [jnp.zeros((n_q, n_l)) for _ in range(3)]
        for idx, n_lc in chunks:
            if l_limit is not None:
                n_lc = min(n_lc, int(np.sum(ls <= l_limit)))
            res = jax.lax.map(jax.checkpoint(lambda ix, n=n_lc: radial_sums(ix, n, nodes, True)), jnp.asarray(idx))
            flat_idx = idx.reshape(-1)
            for j in range(3):
                # padded repeats of the last index write the same value twice: use a max-free set
                out[j] = out[j].at[flat_idx].set(res[j].reshape(len(flat_idx), n_l))
        return out

    size = prec.curvature_q_chunk
    chunks = curved_chunks(prec, ls, kq, size)
    early = slice(0, n_late)
    late = slice(n_late, inp.chi.shape[0])
    a_t, a_e, a_p = accumulate(chunks, early)
    l_late = prec.transfer_late_source_l
    b_t, b_e, b_p = accumulate(chunks, late, l_limit=l_late)
    d_t, d_e, d_p = a_t + b_t, a_e + b_e, a_p + b_p

    # lensing potential: exact up to l_switch_limber (on the CMB grid), Limber above (lensing grid)
    kl_j = jnp.asarray(kl)
    nu_l, valid_l = _nu(kl_j, K, sqrtK, sgnK)
    ql = nu_l * sqrtK
    chi_rev, s_phi = inp.chi[::-1], inp.s_phi

    def limber(ll):
        arg = (ll + 0.5) / nu_l if sgnK < 0 else jnp.sqrt(ll * (ll + 1.0)) / nu_l
        if sgnK < 0:
            x_l = jnp.arcsinh(arg)
            inside = jnp.ones_like(arg, dtype=bool)
        else:
            inside = arg < 1.0
            x_l = jnp.arcsin(jnp.where(inside, arg, 0.5))
        r_l = x_l / sqrtK
        s = jax.vmap(lambda c, row: jnp.interp(c, chi_rev, row[::-1], left=0.0, right=0.0))(r_l, s_phi)
        i_phi_flat = jnp.sqrt(jnp.pi / (2.0 * ll)) * (1.0 - 0.25 / ll + 1.0 / (32.0 * ll * ll))
        fac = (1.0 - K * ll * ll / (ql * ql)) ** -0.25
        return jnp.where(inside & valid_l, i_phi_flat * s / ql * fac, 0.0)

    n_exact = int(np.sum(ls <= prec.l_switch_limber))
    phi_exact = jnp.pad(d_p[:, :n_exact].T, ((0, 0), (0, len(kl) - n_q)))
    phi_limber = jax.vmap(limber)(jnp.asarray(ls_f[n_exact:]))
    phi = jnp.concatenate([phi_exact, phi_limber])
    return Transfer(l=tuple(int(v) for v in ls), k=kq_j, t=d_t.T, e=d_e.T, k_phi=kl_j, phi=phi)
