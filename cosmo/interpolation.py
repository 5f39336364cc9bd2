"""Interpolation on fixed grids (pure JAX, differentiable in the tabulated values)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float
from scipy.interpolate import CubicSpline, make_interp_spline


def hermite_uniform(
    x: Float[Array, "..."],
    x0: float,
    dx: float,
    y: Float[Array, " n"],
    dydx: Float[Array, " n"],
) -> Float[Array, "..."]:
    """Cubic Hermite interpolation on the uniform grid ``x0 + i dx`` with known slopes.

    With exact derivatives the error is ``dx^4 |y''''| / 384``. Points outside the
    grid are extrapolated with the end cubic.
    """
    n = y.shape[0]
    t = (x - x0) / dx
    i = jnp.clip(jnp.floor(t).astype(jnp.int32), 0, n - 2)
    s = t - i
    y0, y1 = y[i], y[i + 1]
    m0, m1 = dydx[i] * dx, dydx[i + 1] * dx
    s2, s3 = s * s, s * s * s
    h00 = 2 * s3 - 3 * s2 + 1
    h10 = s3 - 2 * s2 + s
    h01 = -2 * s3 + 3 * s2
    h11 = s3 - s2
    return h00 * y0 + h10 * m0 + h01 * y1 + h11 * m1


def spline_eval(
    xq: Float[Array, "..."],
    x: Float[Array, " n"],
    y: Float[Array, "n ..."],
    y2: Float[Array, "n ..."],
) -> Float[Array, "..."]:
    """Evaluate a cubic spline given knots ``x``, values ``y`` and second derivatives ``y2``.

    ``y`` may carry trailing dimensions (several splines on the same knots).
    """
    i = jnp.clip(jnp.searchsorted(x, xq, side="right") - 1, 0, x.shape[0] - 2)
    h = x[i + 1] - x[i]
    a = (x[i + 1] - xq) / h
    b = (xq - x[i]) / h
    return a * y[i] + b * y[i + 1] + ((a**3 - a) * y2[i] + (b**3 - b) * y2[i + 1]) * h**2 / 6.0


def natural_spline_second_derivatives(x: Float[Array, " n"], y: Float[Array, "n ..."]) -> Float[Array, "n ..."]:
    """Second derivatives of the natural cubic spline through ``(x, y)`` (tridiagonal solve, lineax).

    ``y`` may carry trailing dimensions; each column is splined independently.
    """
    import lineax as lx

    h = jnp.diff(x)
    n = x.shape[0]
    diag = jnp.concatenate([jnp.ones(1), (h[:-1] + h[1:]) / 3.0, jnp.ones(1)])
    lower = jnp.concatenate([h[:-1] / 6.0, jnp.zeros(1)])
    upper = jnp.concatenate([jnp.zeros(1), h[1:] / 6.0])
    op = lx.TridiagonalLinearOperator(diag, lower, upper)

    def solve(col):
        dy = jnp.diff(col) / h
        rhs = jnp.concatenate([jnp.zeros(1), dy[1:] - dy[:-1], jnp.zeros(1)])
        return lx.linear_solve(op, rhs, solver=lx.Tridiagonal()).value

    if y.ndim == 1:
        return solve(y)
    flat = y.reshape(n, -1)
    return jax.vmap(solve, in_axes=1, out_axes=1)(flat).reshape(y.shape)


def spline_derivative(
    xq: Float[Array, "..."], x: Float[Array, " n"], y: Float[Array, " n"], y2: Float[Array, " n"]
) -> Float[Array, "..."]:
    """First derivative of the cubic spline (knots ``x``, values ``y``, second derivatives ``y2``)."""
    i = jnp.clip(jnp.searchsorted(x, xq, side="right") - 1, 0, x.shape[0] - 2)
    h = x[i + 1] - x[i]
    a = (x[i + 1] - xq) / h
    b = (xq - x[i]) / h
    return (y[i + 1] - y[i]) / h + (-(3 * a**2 - 1) * y2[i] + (3 * b**2 - 1) * y2[i + 1]) * h / 6.0


def spline_cumulative_integral(x: Float[Array, " n"], y: Float[Array, " n"], y2: Float[Array, " n"]) -> Float[Array, " n"]:
    """``int_{x_0}^{x_i} s(x) dx`` of the cubic spline at every knot (exact for the spline)."""
    h = jnp.diff(x)
    pieces = 0.5 * h * (y[:-1] + y[1:]) - h**3 / 24.0 * (y2[:-1] + y2[1:])
    return jnp.concatenate([jnp.zeros(1), jnp.cumsum(pieces)])


#: Gregory's end corrections of the trapezoid rule on uniform nodes, to fourth order
#: (the "alternative extended Simpson's rule", Numerical Recipes eq. 4.1.14): the first and last
#: four weights in units of the step.
_GREGORY_END = np.array([17.0, 59.0, 43.0, 49.0]) / 48.0


def gregory_weights(n: int, h: float) -> np.ndarray:
    """Weights (static numpy) of ``int f du`` on ``n >= 8`` uniform nodes of step ``h``: the
    trapezoid rule with fourth-order end corrections (exact for cubics; for a smooth integrand
    that oscillates on the scale of the step, the trapezoid's O(h^2) end terms
    ``h^2 (f'(b) - f'(a)) / 12`` are removed and only aliasing remains)."""
    if n < 8:
        raise ValueError(f"Gregory end corrections need at least 8 nodes, got {n}")
    w = np.ones(n)
    w[:4] = _GREGORY_END
    w[-4:] = _GREGORY_END[::-1]
    return h * w


def trapezoid_weights(x: Float[Array, " n"]) -> Float[Array, " n"]:
    """Weights ``w`` with ``sum(w * f) = trapezoid rule of f`` on the (ascending) nodes ``x``."""
    dx = jnp.diff(x)
    zero = jnp.zeros(1, dtype=dx.dtype)
    return 0.5 * (jnp.concatenate([dx, zero]) + jnp.concatenate([zero, dx]))


@functools.lru_cache(maxsize=16)
def natural_spline_matrix(x_from: tuple[float, ...], x_to: tuple[float, ...]) -> np.ndarray:
    """Linear map (numpy, for static grids): values at ``x_from`` -> natural cubic spline at ``x_to``."""
    return CubicSpline(np.asarray(x_from), np.eye(len(x_from)), bc_type="natural")(np.asarray(x_to))


@functools.lru_cache(maxsize=16)
def quintic_spline_matrix(x_from: tuple[float, ...], x_to: tuple[float, ...]) -> np.ndarray:
    """Linear map (numpy, for static grids): values at ``x_from`` -> interpolating quintic spline
    (scipy ``make_interp_spline``, ``k = 5``, not-a-knot ends) at ``x_to``.

    For oscillating data it keeps the amplitude far better than a cubic spline: the cubic
    interpolant of an oscillation sampled ``n`` times per period is low by ~(2 pi / n)^4 / 720 on
    average (a systematic loss, not a random error), the quintic's error is of order (2 pi / n)^6.
    Used where that bias reaches the C_l: the CMB sources in k and the C_l in l
    (CHANGELOG 2026-11-30 (f))."""
    if len(x_from) < 6:
        return natural_spline_matrix(x_from, x_to)
    return make_interp_spline(np.asarray(x_from), np.eye(len(x_from)), k=5)(np.asarray(x_to))
