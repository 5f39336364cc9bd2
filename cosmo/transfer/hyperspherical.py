"""Hyperspherical Bessel functions ``Phi_l^nu(chi)``: the radial functions of the line-of-sight
integrals in curved FLRW universes (CLASS ``tools/hyperspherical.c``; Tram 2017,
arXiv:1311.0839; Kosowsky 1998, astro-ph/9805173).

Conventions
-----------
``sgnK = -1`` (open, ``S(chi) = sinh chi``) or ``+1`` (closed, ``S(chi) = sin chi``), a static
int; ``chi = sqrt|K| (tau0 - tau) >= 0`` and ``nu = q / sqrt|K| > 0`` are dimensionless and
traced (``nu`` need not be an integer, also when closed). With ``cot_K = S'/S`` and
``a_l = sqrt(nu^2 - sgnK l^2)``, CLASS's normalisation is fixed by

* ``Phi_0 = sin(nu chi) / (nu S)``, ``a_1 Phi_1 = (sin(nu chi) cot_K - nu cos(nu chi)) / (nu S)``,
* ``a_{l+1} Phi_{l+1} = (2l+1) cot_K Phi_l - a_l Phi_{l-1}``,

so that ``Phi_l -> j_l(nu chi)`` when ``chi -> 0`` at fixed ``nu chi``; near ``chi = 0``,
``Phi_l = c_l chi^l (1 + b_l chi^2 + ...)`` with ``c_l = prod_{k<=l} a_k / (2l+1)!!`` and
``b_l = (sgnK l(l+3)/3 - nu^2 + sgnK) / (4l+6)``. ``u = S Phi_l`` solves
``u'' + (nu^2 - l(l+1)/S^2) u = 0``, i.e.
``Phi'' + 2 cot_K Phi' + (nu^2 - sgnK - l(l+1)/S^2) Phi = 0``, and the ladder relations are
``Phi_l' = l cot_K Phi_l - a_{l+1} Phi_{l+1} = a_l Phi_{l-1} - (l+1) cot_K Phi_l``.
Closed: ``Phi_l`` is real only for ``l < nu`` (for integer ``nu`` it vanishes identically at
``l >= nu``, and it goes to 0 like ``sqrt(nu - l)`` when ``nu -> l+``); this module returns exactly 0
where ``l >= nu - 1e-9``. Everything is computed from ``Phi_l`` and ``P_{l+1} = a_{l+1} Phi_{l+1}``
(real for every ``l``):

* ``Phi_l' = l cot_K Phi_l - P_{l+1}``,
* ``Phi_l'' = (l(l-1)/S^2 + 2 sgnK l - nu^2 + sgnK) Phi_l + 2 cot_K P_{l+1}``,

forms without the ``1/chi`` cancellations of the ODE at small ``chi``. Domain: ``chi >= 0``,
open: accurate to ``chi = 3`` (see the margin below; ``sinh`` overflows at ``chi ~ 700``); closed:
``0 <= chi <= pi/2`` (for integer ``nu`` use ``Phi_l(pi - chi) = (-1)^(nu-l-1) Phi_l(chi)``,
``Phi_l'(pi - chi) = -(-1)^(nu-l-1) Phi_l'(chi)``, as CLASS's ``ClosedModY``).

Algorithm and stability
-----------------------
At fixed ``chi`` the recurrence in ``l`` (with frozen coefficients: ``rho^2 - (2l+1) cot_K rho +
a_l^2 = 0`` for ``rho = P_{l+1} / Phi_l``) has complex roots, i.e. is oscillatory with two solutions
of equal size, iff ``(l+1/2)^2 (cot_K^2 + sgnK) < nu^2 + O(1)``; since ``cot_K^2 + sgnK = 1/S^2``
for both signs this is ``l < l_tp``, ``l_tp (l_tp + 1) = nu^2 S^2`` (the turning point of the ODE).
Above it the recurrence is evanescent and ``Phi_l`` is its minimal solution, decaying with ``l``.
Upward recurrence is stable in the oscillatory region (errors grow at most linearly) and unstable
in the evanescent one (they grow like ``1/Phi_l``); there the backward recurrence of the ratio
``rho_l = P_l / Phi_{l-1} = a_l^2 / ((2l+1) cot_K - rho_{l+1})`` converges to the minimal solution.
So, per ``chi``, with ``l_match = floor(l_tp)`` clipped to ``[0, L_top]``:

1. one backward ``lax.scan`` from ``L_top = max(ls) + margin`` down to ``l = 1`` computes
   ``rho_l`` (set to 0 at ``l <= l_match``, where it is not used and has poles), started on the
   local minimal root of the characteristic equation. Its start error is damped, per step, by the
   ratio of the two roots: ``margin = max(10 l^(1/3) + 16, 197)`` covers the Airy region above a
   turning point (``~7 l^(1/3)`` steps for 1e-16) and the weak evanescence of the open case at
   large ``chi`` (``l >> nu S``: roots ``tanh(chi/2)^(+-1)``, 197 steps for 1e-17 at ``chi = 3``);
2. one forward ``lax.scan`` from ``l = 0``: three-term recurrence while ``l <= l_match`` (from the
   closed forms of ``Phi_0``, ``P_1``), ``P_{l+1} = rho_{l+1} Phi_l`` above. It writes only the
   requested ``l`` into an ``(n_ls, n_chi)`` buffer (in place).

Only ``a_l^2`` enters the ratios, written ``(nu - l)(nu + l)`` when closed, so nothing cancels as
``l -> nu``. ``nu S < 3/2`` (including small ``nu chi``, where the closed form of ``P_1`` cancels)
is pure ratio from the exact ``Phi_0``. Closed, non-integer ``nu``: above ``nu`` the ratio of the
roots is ``tan^2(chi/2) -> 1`` at ``chi = pi/2``, so the backward start is not forgotten there, and
the last ``l < nu`` (``l_tp <= nu - 1/2`` never reaches it) lost up to 6e-3 near ``pi/2``; where
``nu - l_tp < 2`` the upward recurrence therefore runs up to the last ``l < nu`` (the evanescent
band is then thinner than 2 steps). Integer ``nu`` is exact either way: ``a_nu = 0`` cuts the
recurrence. For ``chi < 1e-100`` (``chi = 0`` included, and where ``Phi_2 / S^2`` would underflow)
the two-term series above is used, ``c_l`` in logs (double ``where``: no NaN in values or
gradients). The flat limit holds up to curvature corrections of relative size ``chi^2/6``
(amplitude) and ``~ l^2 nu chi / (6 nu^2)`` (phase).

Accuracy (tests/test_hyperspherical.py; independent references: ``np.longdouble`` Miller
recurrence, mpmath Legendre functions): ``nu`` in [0.01, 2e4], ``l <= 2500``, ``chi <= 1.2``
(open also to 3): errors <= 1e-12 of ``max_chi |Phi_l|`` for ``Phi`` and ``Phi'``; relative errors
<= 5e-9 where ``|Phi| > 1e-6 max|Phi_l|`` (the rounding of ``nu chi`` in ``sin(nu chi)`` near zeros
of ``Phi``; <= 2e-10 for ``nu <= 4000``, ``chi <= 1``).

Derivatives: a ``jax.custom_jvp`` whose rule needs no per-step residuals: ``d/dchi`` is analytic
(``Phi', Phi'', Phi'''`` from ``Phi_l, P_{l+1}``), and ``d/dnu`` is the forward-mode tangent of
the same two scans (``jax.jvp`` in ``nu``: the recurrences run on (value, d/dnu) pairs), computed
only when a ``nu`` tangent is present. The rule is linear in the tangents, so reverse mode
transposes it. Memory: the ``rho`` array, ``8 max(ls) n_chi`` bytes per ``nu`` (twice that with the
``nu`` tangent), plus the outputs; nothing per scan step.

Cost (2 CPU cores shared with another heavy job; 150 requested ``l`` up to 2500, 1000 ``chi``, one
``nu``, ``jit``, either sign): 11 ms per call after compilation (compile 0.7 s; 22 MB of
temporaries); ``jax.grad`` in ``nu`` and ``chi`` of a weighted sum 25 ms (compile 1.0 s; 44 MB).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.custom_derivatives import SymbolicZero
from jaxtyping import Array, ArrayLike, Float

__all__ = ["hyperspherical", "hyperspherical_l_top", "hyperspherical_turning_point"]

#: below this chi the small-chi series replaces the recurrence (values, not accuracy, drive it:
#: Phi_2 / S^2 underflows near chi ~ 1e-150)
_CHI_SERIES = 1e-100
#: closed case: Phi_l is returned as 0 where l >= nu - _CLOSED_EPS
_CLOSED_EPS = 1e-9
#: open case: the recurrence margin is sized for chi <= _CHI_MAX_OPEN (errors then grow like
#: tanh(chi/2)^(2 margin)); the ratio of the two solutions far above the turning point is
#: tanh^2(chi/2) per step
_CHI_MAX_OPEN = 3.0
_MARGIN_MIN = int(np.ceil(np.log(1e17) / -np.log(np.tanh(_CHI_MAX_OPEN / 2.0) ** 2)))
#: closed case: where nu - l_tp < _CLOSED_BAND the upward recurrence runs up to the last l < nu
_CLOSED_BAND = 2.0


def hyperspherical_l_top(l_max: int) -> int:
    """The highest multipole of the recurrences for requested multipoles up to ``l_max``: the
    backward ratio recurrence needs ``~7 l^(1/3)`` steps above a turning point (Airy region) and
    ``39 / -ln tanh^2(chi/2)`` steps where ``l >> nu S`` (open, large chi), 197 for ``chi = 3``."""
    return int(l_max) + max(int(np.ceil(10.0 * l_max ** (1.0 / 3.0))) + 16, _MARGIN_MIN)


def hyperspherical_turning_point(nu: Float[ArrayLike, ""], chi: Float[ArrayLike, "..."], sgnK: int) -> Float[Array, "..."]:
    """The turning point ``l_tp(chi)``, root of ``l (l+1) = nu^2 S(chi)^2``: ``Phi_l`` oscillates in
    ``chi`` (and in ``l``) below it and decays fast with ``l`` above."""
    S = jnp.sinh(chi) if sgnK == -1 else jnp.sin(chi)
    return jnp.sqrt((nu * S) ** 2 + 0.25) - 0.5


def hyperspherical(
    ls: Sequence[int] | np.ndarray, nu: Float[ArrayLike, ""], chi: Float[ArrayLike, " n_chi"], sgnK: int
) -> tuple[Float[Array, "n_l n_chi"], Float[Array, "n_l n_chi"], Float[Array, "n_l n_chi"]]:
    """``(Phi_l^nu(chi), dPhi/dchi, d2Phi/dchi2)`` for the static sorted multipoles ``ls`` (ints
    ``>= 2``), at the traced scalar ``nu > 0`` and the traced 1-d ``chi >= 0`` (closed: ``<= pi/2``).

    ``sgnK = -1`` open, ``+1`` closed (static). Closed: exactly 0 where ``l >= nu - 1e-9``.
    Differentiable in ``nu`` and ``chi`` (custom JVP, no per-step residuals), jit- and vmap-able.
    """
    ls_t = tuple(int(l) for l in np.asarray(ls).ravel())
    if not ls_t or min(ls_t) < 2 or any(b <= a for a, b in itertools.pairwise(ls_t)):
        raise ValueError(f"ls must be strictly increasing integers >= 2, got {ls_t[:5]}...")
    if sgnK not in (-1, 1):
        raise ValueError(f"sgnK must be -1 (open) or +1 (closed), got {sgnK!r}")
    nu = jnp.asarray(nu, dtype=jnp.float64)
    chi = jnp.asarray(chi, dtype=jnp.float64)
    if nu.ndim != 0 or chi.ndim != 1:
        raise ValueError(f"nu must be a scalar and chi 1-d (vmap for batches); got {nu.shape}, {chi.shape}")
    return _hyperspherical(ls_t, int(sgnK), nu, chi)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _hyperspherical(ls_t, sgnK, nu, chi):
    phi, dphi, d2phi, _ = _raw(ls_t, sgnK, nu, chi)
    return phi, dphi, d2phi


def _hyperspherical_jvp(ls_t, sgnK, primals, tangents):
    nu, chi = primals
    nu_dot, chi_dot = tangents
    if isinstance(nu_dot, SymbolicZero):
        phi, dphi, d2phi, d3phi = _raw(ls_t, sgnK, nu, chi)
        out_dot = [jnp.zeros_like(phi)] * 3
    else:
        # d/dnu: forward mode through the scans (value, tangent) pairs; chi is a constant here so
        # no chi-tangent (with its 1/chi factors at chi = 0) is ever formed
        (phi, dphi, d2phi, d3phi), dnu = jax.jvp(lambda n: _raw(ls_t, sgnK, n, chi), (nu,), (jnp.ones_like(nu),))
        out_dot = [d * nu_dot for d in dnu[:3]]
    if not isinstance(chi_dot, SymbolicZero):
        out_dot = [o + d * chi_dot[None, :] for o, d in zip(out_dot, (dphi, d2phi, d3phi))]
    return (phi, dphi, d2phi), tuple(out_dot)


_hyperspherical.defjvp(_hyperspherical_jvp, symbolic_zeros=True)


def _raw(ls_t: tuple[int, ...], sgnK: int, nu: Array, chi: Array):
    """Phi, Phi', Phi'', Phi''' of the multipoles ``ls_t`` (no custom derivative)."""
    K = float(sgnK)
    L = ls_t[-1]
    L_top = hyperspherical_l_top(L)
    ls_f = np.asarray(ls_t, dtype=np.float64)[:, None]
    E = nu * nu - K  # the constant of the Phi equation

    def a2(l):  # a_l^2 = nu^2 - sgnK l^2, without cancellation when closed
        return nu * nu + l * l if sgnK == -1 else (nu - l) * (nu + l)

    def phys(l):  # Phi_l is returned (closed: l < nu - _CLOSED_EPS)
        return nu - l > _CLOSED_EPS if sgnK == 1 else jnp.ones_like(l * nu, dtype=bool)

    tiny = chi < _CHI_SERIES
    x = jnp.where(tiny, 1.0, chi)
    if sgnK == -1:
        S, cot = jnp.sinh(x), 1.0 / jnp.tanh(x)
    else:
        S, cot = jnp.sin(x), jnp.cos(x) / jnp.sin(x)
    l_tp = jnp.sqrt((nu * S) ** 2 + 0.25) - 0.5
    l_match = jnp.floor(l_tp)
    if sgnK == 1:  # thin evanescent band below nu (chi ~ pi/2): upward up to the last l < nu
        l_last = jnp.ceil(nu - _CLOSED_EPS) - 1.0
        l_match = jnp.where(nu - l_tp < _CLOSED_BAND, jnp.maximum(l_match, l_last), l_match)
    l_match = jnp.clip(l_match, 0.0, float(L_top))

    # (1) backward ratio rho_l = P_l / Phi_{l-1}, from the local minimal root at L_top + 1
    B = (2.0 * L_top + 3.0) * cot
    A = a2(L_top + 1.0)
    disc = B * B - 4.0 * A  # complex roots (< 0): start from 0 (double where: no NaN tangent)
    den = B + jnp.where(disc > 0.0, jnp.sqrt(jnp.where(disc > 0.0, disc, 1.0)), 0.0)
    rho_start = jnp.where(den > 0.0, 2.0 * A / jnp.where(den > 0.0, den, 1.0), 0.0)

    def back(rho_next, l):
        ev = l > l_match
        d = (2.0 * l + 1.0) * cot - rho_next
        ok = ev & (d != 0.0)
        rho = jnp.where(ok, a2(l) / jnp.where(ok, d, 1.0), 0.0)
        return rho, rho

    rho_top, _ = lax.scan(back, rho_start, jnp.arange(L_top, L + 1, -1, dtype=jnp.float64))
    rho_2, rho = lax.scan(back, rho_top, jnp.arange(2, L + 2, dtype=jnp.float64), reverse=True)
    rho_1, _ = back(rho_2, 1.0)  # rho[i] = rho_{i+2}, i = 0..L-1

    # (2) forward: state (Phi_l, P_{l+1}); step l -> l + 1 for l = 0..L-1
    snu, cnu = jnp.sin(nu * x), jnp.cos(nu * x)
    phi0 = snu / (nu * S)
    P1 = jnp.where(l_match >= 1.0, (snu * cot - nu * cnu) / (nu * S), rho_1 * phi0)
    n_ls = len(ls_t)
    row = np.full(L, n_ls, dtype=np.int32)  # row of l + 1 in the buffers (n_ls: discarded)
    row[np.asarray(ls_t) - 1] = np.arange(n_ls)
    buf = jnp.zeros((n_ls + 1, chi.shape[0]))

    def fwd(carry, xs):
        phi, P, bphi, bP = carry
        l, rho_l2, r = xs  # rho_l2 = rho_{l+2}
        l1 = l + 1.0
        ok = phys(l1)
        a_1 = jnp.sqrt(jnp.where(ok, a2(l1), 1.0))
        phi1 = jnp.where(ok, P / a_1, 0.0)
        P2 = jnp.where(l + 2.0 <= l_match, (2.0 * l1 + 1.0) * cot * phi1 - a_1 * phi, rho_l2 * phi1)
        bphi = lax.dynamic_update_slice(bphi, phi1[None], (r, jnp.int32(0)))
        bP = lax.dynamic_update_slice(bP, P2[None], (r, jnp.int32(0)))
        return (phi1, P2, bphi, bP), None

    xs = (jnp.arange(L, dtype=jnp.float64), rho, jnp.asarray(row))
    (_, _, bphi, bP), _ = lax.scan(fwd, (phi0, P1, buf, buf), xs)
    Phi, P = bphi[:n_ls], bP[:n_ls]

    inv_S2 = 1.0 / (S * S)
    dphi = ls_f * cot * Phi - P
    d2phi = Phi * (ls_f * (ls_f - 1.0) * inv_S2 + 2.0 * K * ls_f - E) + 2.0 * cot * P
    d3phi = cot * Phi * (ls_f * (ls_f - 1.0) * (ls_f - 2.0) * inv_S2 + 2.0 * K * ls_f**2 - ls_f * E + 2.0 * a2(ls_f + 1.0)) + P * (
        E + 4.0 * K - (ls_f**2 + ls_f + 6.0) * inv_S2
    )

    # chi < _CHI_SERIES: Phi = c_l chi^l (1 + b_l chi^2), in logs (c_l over/underflows)
    k = jnp.arange(1, L + 1, dtype=jnp.float64)
    a2k = a2(k)
    log_c = jnp.cumsum(0.5 * jnp.log(jnp.where(a2k > 0.0, a2k, 1.0)) - jnp.log(2.0 * k + 1.0))[np.asarray(ls_t) - 1][:, None]
    b = (K * ls_f * (ls_f + 3.0) / 3.0 - E) / (4.0 * ls_f + 6.0)
    pos = tiny & (chi > 0.0)
    log_x = jnp.log(jnp.where(pos, chi, 1.0))

    def cx(n):  # c_l chi^n where tiny (chi^0 = 1), 0 for n < 0
        e = jnp.exp(jnp.minimum(log_c + np.maximum(n, 0.0) * log_x, 700.0))
        return jnp.where(n < 0.0, 0.0, jnp.where((n == 0.0) | pos, e, 0.0))

    lf = ls_f
    ser = (
        cx(lf) + b * cx(lf + 2.0),
        lf * cx(lf - 1.0) + (lf + 2.0) * b * cx(lf + 1.0),
        lf * (lf - 1.0) * cx(lf - 2.0) + (lf + 2.0) * (lf + 1.0) * b * cx(lf),
        lf * (lf - 1.0) * (lf - 2.0) * cx(lf - 3.0) + (lf + 2.0) * (lf + 1.0) * lf * b * cx(lf - 1.0),
    )
    valid = phys(ls_f)
    return tuple(jnp.where(valid, jnp.where(tiny, s, r), 0.0) for s, r in zip(ser, (Phi, dphi, d2phi, d3phi)))
