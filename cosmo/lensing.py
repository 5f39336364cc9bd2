"""Lensed CMB spectra: the full-sky correlation-function method.

Challinor & Lewis 2005 (Phys. Rev. D 71, 103010), as CLASS ``lensing.c`` with
``accurate_lensing = 1`` and CAMB: the unlensed spectra are summed into the lensed
correlation functions xi(beta) (TT), xi_+ / xi_- (EE +- BB) and xi_X (TE) on Gauss-Legendre
nodes mu = cos(beta) covering the whole sphere, with the lensing deflection entering through

    C_gl(beta)  = sum_l (2l+1)/(4 pi) l(l+1) C_l^phiphi d^l_11(beta),
    C_gl2(beta) = sum_l (2l+1)/(4 pi) l(l+1) C_l^phiphi d^l_1-1(beta),
    sigma^2(beta) = C_gl(0) - C_gl(beta),

the non-perturbative exponentials X_ijk(sigma^2) and terms up to second order in C_gl2.
Only the *difference* lensed - unlensed is integrated back (exactly as CAMB does): the
unlensed part is returned exactly and the quadrature only acts on the small lensing
correction. Gauss-Legendre quadrature with ``n_mu`` nodes integrates the back transform of
a polynomial of degree 2 n_mu - 1 exactly; the exponentials of sigma^2 make the correction's
effective degree higher than l_unlensed + l_max, and about l_unlensed + 1500 nodes converge
it to 1e-6 (measured; CLASS cl_ref uses l_unlensed + 1000).

Wigner functions d^l_mm'(mu) come from the three-term recurrence in l (parameter independent:
they are generated at run time in chunks of nodes, never stored as constants). Each chunk is
rematerialised in reverse mode (``jax.checkpoint``), so the memory is one chunk's tables.

Units: dimensionless C_l (temperature in units of T_cmb), as classy's ``raw_cl`` /
``lensed_cl``; ``pp`` is C_l^phiphi of the lensing potential. Lensing leaves pp unchanged.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float
from scipy.special import roots_legendre

from .harmonic import AngularSpectra

__all__ = ["WIGNER_PAIRS", "gauss_legendre", "lens_spectra", "wigner_d"]

#: (m, m') of every Wigner function the lensed correlation functions use.
WIGNER_PAIRS: tuple[tuple[int, int], ...] = (
    (0, 0), (1, 1), (1, -1), (2, -2), (2, 0), (3, -1), (4, -2), (2, 2), (3, 1), (3, -3), (4, 0), (4, -4),
)
_IDX = {pair: i for i, pair in enumerate(WIGNER_PAIRS)}


@functools.lru_cache(maxsize=8)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes mu (ascending) and weights on [-1, 1]."""
    mu, w = roots_legendre(int(n))
    return mu, w


@functools.lru_cache(maxsize=8)
def _recurrence(l_max: int) -> tuple[np.ndarray, ...]:
    """Coefficients of d^{l+1} = a_l (mu - c_l) d^l - b_l d^{l-1} for l = 0 .. l_max - 1 and each
    pair, plus the starting degree l0 = max(|m|, |m'|), normalisation and powers of
    d^{l0}_{l0 m'} = norm ((1+mu)/2)^p ((1-mu)/2)^q (here every pair has m = l0)."""
    pairs = np.array(WIGNER_PAIRS, dtype=float)
    m, mp = pairs[:, 0:1], pairs[:, 1:2]
    l = np.arange(l_max, dtype=float)[None, :]
    l0 = np.maximum(np.abs(m), np.abs(mp))
    recur = (l + 1.0) > l0  # d^{l+1} comes from the recurrence (else 0 or the start value)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = np.sqrt(np.clip(((l + 1) ** 2 - m**2) * ((l + 1) ** 2 - mp**2), 0.0, None))
        a = (2 * l + 1) * (l + 1) / den
        c = np.where(l > 0, m * mp / (l * (l + 1)), 0.0)
        b = np.where(l > 0, (l + 1) * np.sqrt(np.clip((l**2 - m**2) * (l**2 - mp**2), 0.0, None)) / (l * den), 0.0)
    a, b, c = (np.where(recur, x, 0.0) for x in (a, b, c))
    j = l0[:, 0]
    p = (j + pairs[:, 1]) / 2.0
    q = (j - pairs[:, 1]) / 2.0
    # norm = sqrt((2j)! / ((j+m')! (j-m')!)), written via p + q = j, 2p = j + m', 2q = j - m'
    norm = np.array([math.sqrt(math.factorial(int(2 * jj)) / (math.factorial(int(2 * pp_)) * math.factorial(int(2 * qq))))
                     for jj, pp_, qq in zip(j, p, q)])
    return a, b, c, j.astype(int), norm, p, q


def wigner_d(mu: Float[Array, " n"], l_max: int) -> Float[Array, "l pair n"]:
    """d^l_mm'(mu) for l = 0 .. l_max and every (m, m') in :data:`WIGNER_PAIRS` (zero for l < l0).

    Convention: d^1_11 = (1 + mu)/2, d^2_20 = sqrt(3/8) (1 - mu^2), as CLASS and CAMB.
    """
    a, b, c, l0, norm, p, q = (jnp.asarray(x) for x in _recurrence(int(l_max)))
    start = norm[:, None] * ((1 + mu[None, :]) / 2) ** p[:, None] * ((1 - mu[None, :]) / 2) ** q[:, None]
    d0 = jnp.where((l0 == 0)[:, None], start, 0.0)

    def step(carry, inputs):
        d_prev, d_cur = carry
        a_l, b_l, c_l, l_next = inputs
        d_next = a_l[:, None] * (mu[None, :] - c_l[:, None]) * d_cur - b_l[:, None] * d_prev
        d_next = jnp.where((l0 == l_next)[:, None], start, d_next)
        return (d_cur, d_next), d_next

    ls = jnp.arange(1, int(l_max) + 1)
    _, ds = jax.lax.scan(step, (jnp.zeros_like(d0), d0), (a.T, b.T, c.T, ls))
    return jnp.concatenate([d0[None], ds], axis=0)


def _chunk_corrections(cl: dict[str, Array], mu: Array, w: Array, l_max: int) -> Array:
    """Back-transformed lensing corrections (TT, TE, +, -) for l = 0 .. l_max from the nodes ``mu``."""
    l_unl = cl["tt"].shape[0] - 1
    d = wigner_d(mu, l_unl)  # (l, pair, n)
    ell = jnp.arange(l_unl + 1, dtype=float)
    fac1 = jnp.where(ell >= 2, (2 * ell + 1) / (4 * math.pi), 0.0)
    llp1 = ell * (ell + 1)

    def D(m, mp):
        return d[:, _IDX[(m, mp)], :]

    pp_w = fac1 * llp1 * cl["pp"]
    cgl = pp_w @ D(1, 1)
    cgl2 = pp_w @ D(1, -1)
    sigma2 = jnp.sum(pp_w) - cgl  # d^l_11(mu = 1) = 1

    s2, g2 = sigma2[None, :], cgl2[None, :]
    L = llp1[:, None]
    sq = lambda x: jnp.sqrt(jnp.clip(x, 0.0, None))
    sqrt1 = sq((ell + 2) * (ell - 1) * ell * (ell + 1))[:, None]
    sqrt2 = sq((ell + 2) * (ell - 1))[:, None]
    sqrt3 = sq((ell + 3) * (ell - 2))[:, None]
    sqrt4 = sq((ell + 4) * (ell + 3) * (ell - 2) * (ell - 3))[:, None]
    sqrt5 = jnp.where(ell > 0, jnp.sqrt(llp1), 1.0)[:, None]

    x000 = jnp.exp(-L * s2 / 4)
    xp000 = -L / 4 * x000
    x220 = 0.25 * sqrt1 * jnp.exp(-(L - 2) * s2 / 4)
    x022 = jnp.exp(-(L - 4) * s2 / 4)
    xp022 = -(L - 4) / 4 * x022
    x121 = -0.5 * sqrt2 * jnp.exp(-(L - 8.0 / 3.0) * s2 / 4)
    x132 = -0.5 * sqrt3 * jnp.exp(-(L - 20.0 / 3.0) * s2 / 4)
    x242 = 0.25 * sqrt4 * jnp.exp(-(L - 10) * s2 / 4)
    inv_llp1 = jnp.where(ell >= 2, 1.0 / jnp.where(ell >= 2, llp1, 1.0), 0.0)[:, None]

    # lensed - unlensed kernels (expm1 keeps the small differences exact)
    k_tt = (jnp.expm1(-L * s2 / 2) * D(0, 0) + xp000**2 * D(1, -1) * g2 * 8 * inv_llp1
            + (xp000**2 * D(0, 0) + x220**2 * D(2, -2)) * g2**2)
    k_te = (jnp.expm1(-(2 * L - 4) * s2 / 4) * D(2, 0) + g2 * 2 * xp000 / sqrt5 * (x121 * D(1, 1) + x132 * D(3, -1))
            + 0.5 * g2**2 * ((2 * xp022 * xp000 + x220**2) * D(2, 0) + x220 * x242 * D(4, -2)))
    k_p = (jnp.expm1(-(L - 4) * s2 / 2) * D(2, 2) + 2 * g2 * x132 * x121 * D(3, 1)
           + g2**2 * (xp022**2 * D(2, 2) + x242 * x220 * D(4, 0)))
    k_m = (jnp.expm1(-(L - 4) * s2 / 2) * D(2, -2) + g2 * (x121**2 * D(1, -1) + x132**2 * D(3, -3))
           + 0.5 * g2**2 * (2 * xp022**2 * D(2, -2) + x220**2 * D(0, 0) + x242**2 * D(4, -4)))

    xi = jnp.stack([
        (fac1 * cl["tt"]) @ k_tt,
        (fac1 * cl["te"]) @ k_te,
        (fac1 * (cl["ee"] + cl["bb"])) @ k_p,
        (fac1 * (cl["ee"] - cl["bb"])) @ k_m,
    ])  # (4, n)
    n_out = l_max + 1
    back = jnp.stack([D(0, 0)[:n_out], D(2, 0)[:n_out], D(2, 2)[:n_out], D(2, -2)[:n_out]])  # (4, l, n)
    return jnp.einsum("cn,cln->cl", xi * w[None, :], back)


def lens_spectra(
    unlensed: dict[str, Float[Array, " L"]], l_max: int, n_mu: int | None = None, chunk: int = 256,
) -> AngularSpectra:
    """Lensed TT, EE, TE, BB for ``l <= l_max`` from unlensed spectra given for ``l = 0 .. L``.

    ``unlensed`` holds dimensionless C_l arrays ``tt, ee, te, pp`` (optionally ``bb``, e.g.
    tensors, and ``tp``) indexed by l from 0; all multipoles up to L enter the lensing (CLASS:
    L = l_max + delta_l_max). ``n_mu`` Gauss-Legendre nodes (default L + 1500, the default
    precision's; L + 1000 leaves 2.6e-5 in TT and 1e-3 in BB at l = 2500 for L = 3000, L + 2000
    1e-7) are processed in chunks of ``chunk`` nodes.
    """
    L = unlensed["tt"].shape[0] - 1
    l_max = int(l_max)
    if not 2 <= l_max <= L:
        raise ValueError(f"l_max must be in [2, {L}] (the unlensed spectra stop at l = {L}), got {l_max}")
    cl = {key: jnp.asarray(unlensed[key]) for key in ("tt", "ee", "te", "pp")}
    zeros = jnp.zeros_like(cl["tt"])
    cl["bb"] = jnp.asarray(unlensed.get("bb", zeros))
    if n_mu is None:
        n_mu = L + 1500
    n_chunks = -(-int(n_mu) // chunk)
    n_mu = n_chunks * chunk
    mu, w = gauss_legendre(n_mu)
    mu_c = jnp.asarray(mu.reshape(n_chunks, chunk))
    w_c = jnp.asarray(w.reshape(n_chunks, chunk))

    body = jax.checkpoint(lambda args: _chunk_corrections(cl, args[0], args[1], l_max))
    corr = jnp.sum(jax.lax.map(body, (mu_c, w_c)), axis=0)  # (4, l_max + 1)
    n = l_max + 1
    tt = cl["tt"][:n] + 2 * math.pi * corr[0]
    te = cl["te"][:n] + 2 * math.pi * corr[1]
    ee = cl["ee"][:n] + math.pi * (corr[2] + corr[3])
    bb = cl["bb"][:n] + math.pi * (corr[2] - corr[3])
    low = jnp.arange(n) >= 2
    tp = jnp.asarray(unlensed.get("tp", zeros))[:n]
    return AngularSpectra(
        ell=jnp.arange(n, dtype=float), tt=tt * low, ee=ee * low, te=te * low, bb=bb * low, pp=cl["pp"][:n],
        tp=tp,
    )
