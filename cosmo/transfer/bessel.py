"""Tables of the radial functions of the line-of-sight integrals (spherical Bessel functions).

For each sampled multipole ``l`` the table holds, on the uniform grid ``x = i dx``
(``0 <= x <= x_max``), the four radial functions of CLASS's flat-space scalar transfer
functions together with their exact x-derivatives:

* ``j_l(x)`` (temperature source t0, lensing potential),
* ``j_l'(x)`` (t1),
* ``(3 j_l''(x) + j_l(x)) / 2`` (t2),
* ``j_l(x) / x^2`` (E polarisation, without its l-dependent factor).

Values between nodes come from cubic Hermite interpolation (error ``dx^4 |R''''| / 384``,
relative ``~1e-6`` for ``dx = 0.25``). Each function is tabulated directly, rather than
derived from ``j_l`` at run time, because ``j_l'' `` and ``j_l / x^2`` would multiply the
interpolation error of ``j_l`` by ``l(l+1)/x^2`` at small x.

Tensor tables (``tensor=True``) hold the flat-space radial functions of CLASS's tensor transfer
functions instead: ``j_l / x^2`` (temperature, without its l-dependent factor),
``(j_l'' + 4 j_l'/x + (2/x^2 - 1) j_l) / 4`` (E) and ``(j_l' + 2 j_l / x) / 2`` (B).

The table does not depend on the cosmology: it is built once per ``(l, dx, x_max)`` in
numpy (upward recurrence where it is stable, ``x > l + 20``; ``scipy.special.spherical_jn``
in the turning-point region; exactly 0 where ``j_l`` is below ~1e-12 of its maximum), and
derivatives from Bessel's equation ``j'' = -2 j'/x - (1 - l(l+1)/x^2) j``.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int
from scipy.special import spherical_jn

__all__ = ["BesselTable", "bessel_table", "bessel_zero_below"]


class BesselTable(eqx.Module):
    """Radial functions ``R[il, ix, r]`` (scalar r: j, j', (3j''+j)/2, j/x^2; tensor r: T, E, B)
    and their slopes, stored together as ``packed[il, ix] = (R[..., :], dx dR/dx[..., :])``: one
    interpolation reads the two contiguous rows ``ix``, ``ix + 1`` with a single gather (XLA's
    gathers on CPU cost per index, not per byte: 1.3-1.5x faster than one gather per array)."""

    dx: float = eqx.field(static=True)
    l: Int[Array, " n_l"]
    packed: Float[Array, "n_l n_x 2*n_funcs"]

    @property
    def n_funcs(self) -> int:
        return self.packed.shape[2] // 2

    def radial(
        self, il: Int[Array, ""], x: Float[Array, "..."], funcs: tuple[int, ...] | None = None
    ) -> Float[Array, "... n_funcs"]:
        """The radial functions ``funcs`` (indices into the table's functions; default all) of
        the ``il``-th multipole at ``x`` (clipped to the table). Differentiable in ``x`` (the
        derivative of the interpolant, from the same gathered rows; the table is a constant)."""
        nf = self.n_funcs
        funcs = tuple(range(nf)) if funcs is None else funcs
        r = _hermite(self.dx, self.packed, jnp.asarray(il, jnp.int32), x)
        # every function is interpolated, then the wanted ones picked: slicing the gathered rows
        # first (one function) made XLA's gather ~10x slower per point (measured: 209 against 22 ns)
        if funcs == tuple(range(nf)):
            return r
        return jnp.stack([r[..., f] for f in funcs], axis=-1)


def _hermite_rows(dx: float, packed: Array, il: Array, x: Array):
    """Gathered rows ``ix``, ``ix + 1`` of multipole ``il`` around every ``x``, the fraction ``s``
    of the cell and whether ``x`` lies inside the table."""
    n, nf = packed.shape[1], packed.shape[2] // 2
    u = x / dx
    t = jnp.clip(u, 0.0, n - 1.0)
    i = jnp.clip(jnp.floor(t).astype(jnp.int32), 0, n - 2)
    s = (t - i)[..., None]
    zero = jnp.zeros((), jnp.int32)
    rows = jax.vmap(lambda j: jax.lax.dynamic_slice(packed, (il, j, zero), (1, 2, 2 * nf))[0])(i.reshape(-1))
    # the ends belong to the table (x = 0 at chi = 0: the one-sided derivative there)
    return rows.reshape(i.shape + (2, 2 * nf)), s, ((u >= 0.0) & (u <= n - 1.0))[..., None]


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _hermite(dx: float, packed: Array, il: Array, x: Array) -> Array:
    """Cubic Hermite interpolant of every function of the table at ``x`` (see :meth:`BesselTable.radial`)."""
    rows, s, _ = _hermite_rows(dx, packed, il, x)
    return _hermite_value(rows, s)


def _hermite_value(rows: Array, s: Array) -> Array:
    """The interpolant on gathered rows ``(values, dx * slopes)`` of both cell ends at fraction ``s``."""
    nf = rows.shape[-1] // 2
    s2 = s * s
    s3 = s2 * s
    return ((2 * s3 - 3 * s2 + 1) * rows[..., 0, :nf] + (s3 - 2 * s2 + s) * rows[..., 0, nf:]
            + (3 * s2 - 2 * s3) * rows[..., 1, :nf] + (s3 - s2) * rows[..., 1, nf:])


@_hermite.defjvp
def _hermite_jvp(dx, primals, tangents):
    """d/dx of the interpolant from the rows the value reads (one gather; 0 outside the table, where
    the argument is clipped, one-sided at its ends).
    The table is parameter independent: its own tangent (always zero) is not propagated."""
    packed, il, x = primals
    x_dot = tangents[2]
    rows, s, inside = _hermite_rows(dx, packed, il, x)
    nf = packed.shape[2] // 2
    v0, m0, v1, m1 = rows[..., 0, :nf], rows[..., 0, nf:], rows[..., 1, :nf], rows[..., 1, nf:]
    s2 = s * s
    slope = ((6 * s2 - 6 * s) * (v0 - v1) + (3 * s2 - 4 * s + 1) * m0 + (3 * s2 - 2 * s) * m1) / dx
    return _hermite_value(rows, s), jnp.where(inside, slope, 0.0) * x_dot[..., None]


def bessel_zero_below(l: int) -> float:
    """The tables hold exact zeros for ``x < bessel_zero_below(l)`` (``j_l`` below ~1e-12 of its
    maximum there), so a line-of-sight integrand with ``k chi`` below it vanishes identically."""
    return max(0.0, l - 10.0 * l ** (1.0 / 3.0) - 10.0)


def _bessel_j_dj(ls: tuple[int, ...], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    want = {l: i for i, l in enumerate(ls)}
    j = np.zeros((len(ls), x.size))
    dj = np.zeros((len(ls), x.size))
    # upward recurrence from j_0, j_1 (stable for l < x); kept only where x > l + 20
    xs = np.maximum(x, 1.0)
    jm1 = np.sin(xs) / xs
    j0 = np.sin(xs) / xs**2 - np.cos(xs) / xs
    with np.errstate(over="ignore", invalid="ignore"):  # overflow only where x < l (unused)
        for l in range(1, max(ls) + 1):
            if l in want:
                ok = x > l + 20.0
                j[want[l], ok] = j0[ok]
                dj[want[l], ok] = jm1[ok] - (l + 1.0) / x[ok] * j0[ok]
            jm1, j0 = j0, (2 * l + 1.0) / xs * j0 - jm1
    # turning-point region and below (where j_l is not negligible): scipy
    for l, i in want.items():
        lo = bessel_zero_below(l)
        sel = (x >= lo) & (x <= l + 20.0)
        j[i, sel] = spherical_jn(l, x[sel])
        dj[i, sel] = spherical_jn(l, x[sel], derivative=True)
    return j, dj


def _numpy_table(ls: tuple[int, ...], dx: float, x_max: float, tensor: bool = False) -> tuple[np.ndarray, np.ndarray]:
    x = dx * np.arange(int(np.ceil(x_max / dx)) + 1)
    j, dj = _bessel_j_dj(ls, x)
    L = np.asarray(ls, dtype=float)[:, None] * (np.asarray(ls, dtype=float)[:, None] + 1.0)
    xs = np.where(x > 0.0, x, 1.0)[None, :]
    d2j = -2.0 * dj / xs - (1.0 - L / xs**2) * j
    d3j = -2.0 * d2j / xs + 2.0 * dj / xs**2 - (1.0 - L / xs**2) * dj - 2.0 * L / xs**3 * j
    if tensor:
        return _tensor_functions(np.asarray(ls), xs, j, dj, d2j, d3j)
    values = np.stack([j, dj, 0.5 * (3.0 * d2j + j), j / xs**2], axis=-1)
    slopes = np.stack([dj, d2j, 0.5 * (3.0 * d3j + dj), dj / xs**2 - 2.0 * j / xs**3], axis=-1)
    # x = 0: limits from j_l = x^l / (2l+1)!! (1 - x^2 / (2(2l+3)) + ...)
    ls_a = np.asarray(ls)
    values[:, 0, :] = 0.0
    slopes[:, 0, :] = 0.0
    values[ls_a == 2, 0, 2] = 0.2  # (3 j_2'' + j_2) / 2 = 3 (2/15) / 2
    values[ls_a == 2, 0, 3] = 1.0 / 15.0  # j_2 / x^2
    slopes[ls_a == 2, 0, 1] = 2.0 / 15.0  # j_2''
    slopes[ls_a == 3, 0, 2] = 9.0 / 105.0  # 3 j_3''' / 2
    slopes[ls_a == 3, 0, 3] = 1.0 / 105.0  # d(j_3 / x^2)/dx
    return values, slopes


def _tensor_functions(ls, xs, j, dj, d2j, d3j):
    """Tensor radial functions T = j/x^2, E, B and their x-derivatives (x = 0: series limits)."""
    T = j / xs**2
    dT = dj / xs**2 - 2.0 * j / xs**3
    E = 0.25 * (d2j + 4.0 * dj / xs + (2.0 / xs**2 - 1.0) * j)
    dE = 0.25 * (d3j + 4.0 * d2j / xs - 4.0 * dj / xs**2 + (2.0 / xs**2 - 1.0) * dj - 4.0 * j / xs**3)
    B = 0.5 * (dj + 2.0 * j / xs)
    dB = 0.5 * (d2j + 2.0 * dj / xs - 2.0 * j / xs**2)
    values = np.stack([T, E, B], axis=-1)
    slopes = np.stack([dT, dE, dB], axis=-1)
    # x = 0, from j_2 = x^2/15 - x^4/210, j_3 = x^3/105: T_2 = 1/15, E_2 = 1/5, B_2' = 2/15,
    # T_3' = 1/105, E_3' = 1/21; everything else vanishes with zero slope
    values[:, 0, :] = 0.0
    slopes[:, 0, :] = 0.0
    values[ls == 2, 0, 0] = 1.0 / 15.0
    values[ls == 2, 0, 1] = 0.2
    slopes[ls == 2, 0, 2] = 2.0 / 15.0
    slopes[ls == 3, 0, 0] = 1.0 / 105.0
    slopes[ls == 3, 0, 1] = 1.0 / 21.0
    return values, slopes


def bessel_table(ls: np.ndarray, dx: float, x_max: float, tensor: bool = False) -> BesselTable:
    """Build (or reuse) the table of the multipoles ``ls`` (all >= 2) on ``[0, x_max]``
    (``tensor``: the tensor radial functions)."""
    ls_t = tuple(int(l) for l in ls)
    if min(ls_t) < 2:
        raise ValueError("the Bessel table is built for multipoles l >= 2")
    return BesselTable(dx=float(dx), l=jnp.asarray(ls_t), packed=jnp.asarray(_packed_table(ls_t, float(dx), float(x_max), bool(tensor))))


@functools.lru_cache(maxsize=4)
def _packed_table(ls: tuple[int, ...], dx: float, x_max: float, tensor: bool) -> np.ndarray:
    """``BesselTable.packed`` as numpy, built and packed once per process per table: every trace
    of the solver asks for it (the l_max 3500 table is 673 MB; building it takes ~20 s, packing it
    seconds more). Numpy, not a device array: ``jnp.asarray`` inside a trace gives a tracer, which
    must not outlive the trace (a cached one leaked into the next trace)."""
    values, slopes = _numpy_table(ls, dx, x_max, tensor)
    return np.concatenate([values, slopes * dx], axis=-1)
