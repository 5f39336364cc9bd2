"""Line-of-sight transfer functions in curved space (``Omega_k != 0``; CLASS ``transfer.c``).

A mode of Laplacian eigenvalue ``-k^2`` projects onto the sky through the hyperspherical Bessel
functions ``Phi_l^nu(chi)`` (:mod:`.hyperspherical`) with ``q^2 = k^2 + K``, ``nu = q / sqrt|K|``
and ``chi = sqrt|K| (tau0 - tau)``. The radial functions of the scalar sources are CLASS's:

* t0: ``Phi``; t1: ``sqrt|K| / k Phi'``; t2: ``(3 |K| / k^2 Phi'' + Phi) / (2 s_2)``;
* E: ``sqrt(3/8 (l+2)(l+1)l(l-1)) / s_2 cscK^2 Phi`` with ``cscK = sqrt|K| / (k S(chi))``;
* lensing potential: ``Phi`` (exact, ``l <= l_switch_limber`` and ``k <= phi_exact_k_max``), else
  CLASS's curved Limber form
  ``I_l S_phi(tau_l) / q (1 - K l^2 / q^2)^(-1/4)`` at ``sqrt|K| (tau0 - tau_l) = asinh((l + 1/2) / nu)``
  (open) or ``asin(sqrt(l (l+1)) / nu)`` (closed);

``s_2 = sqrt(1 - 3K/k^2)``, ``S = sinh`` (open, ``K < 0``) or ``sin`` (closed). ``' = d/dchi``. The
sources are the same functions of (k, tau) as in flat space (:mod:`cosmo.perturbations.sources`),
on the same transfer k grid; ``C_l = 4 pi int dk/k P_R(k) Delta_l(q(k))^2`` (:mod:`cosmo.harmonic`).

Modes exist for ``k^2 > |K|`` (open: no supercurvature modes) and, in a closed universe, only at
integer ``nu >= 3``. There the C_l are a sum over modes: as CLASS (whose q list holds every integer
``nu`` up to ~4000 in cl_ref), a sum over the integer modes ``nu = 3 .. curvature_nu_discrete``
(weight ``dk/dnu``; sources splined in k to their traced wavenumbers), continued by the
trapezoid integral over the transfer grid from the last of them (a partial first interval: the
C_l stay smooth in K), joined by Euler-Maclaurin's end terms ``f(N)/2 - f'(N)/12`` with
``f'(N)`` from the modes ``N -+ 1`` (Gregory's rule); above ``N`` the integrand is smooth on the
scale ``delta nu = 1`` and the sum equals the integral. ``Phi_l`` vanishes for
``l >= nu``.

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
from ..interpolation import natural_spline_second_derivatives, spline_eval
from ..perturbations.equations import s2_squared
from ..precision import Precision
from ..thermodynamics import Thermodynamics
from .bessel import bessel_zero_below
from .hyperspherical import hyperspherical
from .transfer import (
    Transfer, late_source_start, l_sampling, lensing_k_grid, los_inputs, phi_exact_count, transfer_k_grid,
)

__all__ = ["compute_transfer_curved", "curved_chunks", "trapezoid_weights_from"]

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


def trapezoid_weights_from(x: Float[Array, " n"], x_c: Float[Array, ""]) -> Float[Array, " n"]:
    """Weights ``w`` with ``sum(w f) = int_{x_c}^{x_end} f`` by the trapezoid rule on the static
    ascending nodes ``x``, the value at the traced lower limit ``x_c`` interpolated linearly between
    its neighbours (continuous in ``x_c``; nodes below it get 0)."""
    h = jnp.diff(x)
    j = jnp.clip(jnp.searchsorted(x, x_c, side="right") - 1, 0, x.shape[0] - 2)
    t = (x_c - x[j]) / h[j]
    length = x[j + 1] - x_c
    i = jnp.arange(h.shape[0])
    left = jnp.where(i > j, 0.5 * h, jnp.where(i == j, 0.5 * length * (1.0 - t), 0.0))
    right = jnp.where(i > j, 0.5 * h, jnp.where(i == j, 0.5 * length * (1.0 + t), 0.0))
    zero = jnp.zeros(1, dtype=h.dtype)
    return jnp.concatenate([left, zero]) + jnp.concatenate([zero, right])


def _project(hyper, k, K, sqrtK, inv_S, e_fac, src):
    """Delta_T, Delta_E and Delta_phi (exact) of one wavenumber ``k`` from its hyperspherical
    functions ``hyper = (Phi, Phi', Phi'')`` (multipoles x nodes) and its weighted sources
    ``src = (t0, t1, t2, e, phi)`` on the same nodes; ``inv_S = 1 / S(chi)`` (0 at chi = 0)."""
    phi, dphi, d2phi = hyper
    n_l = phi.shape[0]
    s2 = jnp.sqrt(s2_squared(k, K))  # exact for every existing mode (s_2^2 >= 5/8); finite below
    r1 = sqrtK / k * dphi
    r2 = (3.0 * jnp.abs(K) / (k * k) * d2phi + phi) / (2.0 * s2)
    csc2 = (sqrtK / k * inv_S) ** 2
    d_t = phi @ src[0] + r1 @ src[1] + r2 @ src[2]
    d_e = e_fac[:n_l] / s2 * ((phi * csc2[None, :]) @ src[3])
    return d_t, d_e, phi @ src[4]


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

    def inverse_S(x):
        S = jnp.sinh(x) if sgnK < 0 else jnp.sin(x)
        return jnp.where(S > 0.0, 1.0 / jnp.where(S > 0.0, S, 1.0), 0.0)

    def radial_sums(k_idx, n_lc, nodes):
        """Delta_T, Delta_E, Delta_phi (exact) of the wavenumbers ``k_idx`` (one chunk) at the first
        ``n_lc`` multipoles, integrating the quadrature ``nodes`` (a static slice)."""
        k = kq_j[k_idx]
        nu, valid = _nu(k, K, sqrtK, sgnK)
        x = chi[nodes]
        inv_S = inverse_S(x)

        def one(nu_i, k_i, i):
            src = (inp.s_t[0, i, nodes], inp.s_t[1, i, nodes], inp.s_t[2, i, nodes], inp.s_e[i, nodes], inp.s_p[i, nodes])
            return _project(hyperspherical(ls[:n_lc], nu_i, x, sgnK), k_i, K, sqrtK, inv_S, e_fac, src)

        out = jax.vmap(one)(nu, k, k_idx)  # each (chunk, n_lc)
        return tuple(jnp.pad(jnp.where(valid[:, None], a, 0.0), ((0, 0), (0, n_l - n_lc))) for a in out)

    def accumulate(chunks, nodes, l_limit=None):
        out = [jnp.zeros((n_q, n_l)) for _ in range(3)]
        for idx, n_lc in chunks:
            if l_limit is not None:
                n_lc = min(n_lc, int(np.sum(ls <= l_limit)))
            res = jax.lax.map(jax.checkpoint(lambda ix, n=n_lc: radial_sums(ix, n, nodes)), jnp.asarray(idx))
            flat_idx = idx.reshape(-1)
            for j in range(3):  # a padded chunk repeats its last index with the same values
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

    # lensing potential: exact up to l_switch_limber for k <= phi_exact_k_max, Limber elsewhere
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
        use = inside & valid_l
        fac = jnp.where(use, 1.0 - K * ll * ll / (ql * ql), 1.0) ** -0.25  # > 0 where used (double where)
        return jnp.where(use, i_phi_flat * s / ql * fac, 0.0)

    n_exact = int(np.sum(ls <= prec.l_switch_limber))
    n_phi = phi_exact_count(prec, kq)
    phi_limber = jax.vmap(limber)(jnp.asarray(ls_f))
    phi_exact = jnp.concatenate([d_p[:n_phi, :n_exact].T, phi_limber[:n_exact, n_phi:]], axis=1)
    phi = jnp.concatenate([phi_exact, phi_limber[n_exact:]])
    if sgnK < 0:
        return Transfer(l=tuple(int(v) for v in ls), k=kq_j, t=d_t.T, e=d_e.T, k_phi=kl_j, phi=phi)

    # closed: the integer modes nu = 3 .. N (and N + 1 for the end correction), then the integral
    # from k(N) on the transfer grids
    nu_d = np.arange(3.0, prec.curvature_nu_discrete + 2.0)
    k_d = sqrtK * jnp.sqrt(jnp.asarray(nu_d) ** 2 - 1.0)
    k_N = k_d[-2]
    # sources at k_d: natural spline in k on the transfer grid below a static bound on k(N)
    k_bound = prec.curvature_chi_max / _TAU0_MIN * float(nu_d[-1])
    n_sub = min(n_q, int(np.searchsorted(kq, k_bound)) + 3)
    n_tau = inp.chi.shape[0]
    cols = jnp.concatenate([inp.s_t[0, :n_sub], inp.s_t[1, :n_sub], inp.s_t[2, :n_sub], inp.s_e[:n_sub], inp.s_p[:n_sub]], axis=1)
    k_sub = jnp.asarray(kq[:n_sub])
    y2 = natural_spline_second_derivatives(k_sub, cols)
    src = jax.vmap(lambda kk: spline_eval(kk, k_sub, cols, y2))(k_d).reshape(len(nu_d), 5, n_tau)
    ls_d = ls[ls < nu_d[-1]]
    n_ld = len(ls_d)
    inv_S = inverse_S(chi)

    def discrete(nu_i, k_i, s_i):
        out = _project(hyperspherical(ls_d, nu_i, chi, 1), k_i, K, sqrtK, inv_S, e_fac, tuple(s_i))
        return tuple(jnp.pad(a, (0, n_l - n_ld)) for a in out)

    dd_t, dd_e, dd_p = jax.vmap(discrete)(jnp.asarray(nu_d), k_d, src)  # (n_d, n_l)
    # a discrete sum: one unit of nu per integer mode, dk = (dk/dnu) dnu = sqrt(K) nu / sqrt(nu^2 - 1)
    # (a trapezoid in k gives the first mode half its weight: CLASS adds the missing half of nu = 3
    # in harmonic.c). The sum over nu >= N is the integral from N plus Euler-Maclaurin's end terms,
    # f(N)/2 - f'(N)/12 + ...; f'(N) = (f(N+1) - f(N-1))/2 (Gregory's rule). Without the f' term
    # the C_l at l ~ 0.3 N (the multipoles the modes near N project onto) were off by up to 7e-4.
    per_nu = np.ones(len(nu_d))
    per_nu[-3:] = (1.0 + 1.0 / 24.0, 0.5, -1.0 / 24.0)
    w_d = sqrtK * jnp.asarray(nu_d / np.sqrt(nu_d**2 - 1.0) * per_nu)
    return Transfer(
        l=tuple(int(v) for v in ls),
        k=jnp.concatenate([k_d, kq_j]),
        t=jnp.concatenate([dd_t.T, d_t.T], axis=1),
        e=jnp.concatenate([dd_e.T, d_e.T], axis=1),
        k_phi=jnp.concatenate([k_d, kl_j]),
        phi=jnp.concatenate([dd_p.T, phi], axis=1),
        dk=jnp.concatenate([w_d, trapezoid_weights_from(kq_j, k_N)]),
        dk_phi=jnp.concatenate([w_d, trapezoid_weights_from(kl_j, k_N)]),
    )
