"""Fixed-step L-stable integrator for *linear* ODEs ``dy/dt = A(t) y``.

The perturbation equations are linear in the state, so a Rosenbrock method with
the exact Jacobian needs neither Newton iterations nor tolerances: each step is one
LU factorisation of ``1/(h gamma) - A(t_n)`` and six back-substitutions. (diffrax's
implicit solvers wrap each stage in a nonlinear root find whose termination test cannot
be met when Thomson rates are ~1e9 times the Hubble rate; see CHANGELOG.)

We use RODAS4 (Hairer & Wanner, *Solving ODEs II*, IV.7; coefficients of ``rodas.f``):
order 4, L-stable and stiffly accurate (the stiff components land on the slow
manifold, as in the tight-coupling limit; index-1 DAEs are integrated with full order).
For the non-autonomous problem the time derivative ``A'(t_n) y`` enters the stages
(computed exactly with ``jax.jvp``). Stage ``i`` (``J = A(t_n)``, ``E = 1/(gamma h) - J``):

    Y_i = y_n + sum_{j<i} a_ij k_j,
    E k_i = A(t_n + c_i h) Y_i + h d_i A'(t_n) y_n + sum_{j<i} (C_ij / h) k_j,

and ``y_{n+1} = Y_6 + k_6``. Steps of zero length (padding of shorter grids) are exact
no-ops. Each step is wrapped in ``jax.checkpoint``: reverse-mode memory is one state per
step (plus, by choice, its factorisation and stage vectors: ``reverse_save``). What the field reads from the time alone (``coefficients``) is evaluated before the
loop at every stage time, so its cotangents leave the reverse loop as one stacked array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jax.ad_checkpoint import checkpoint_name
from jaxtyping import Array, Float, Int

from .chains import ChainStructure, chain_factor, chain_solve

__all__ = ["solve_linear_rosenbrock", "hermite_dense", "RODAS4"]


class RODAS4:
    """RODAS4 coefficients (Hairer's ``rodas.f``, ``METH = 1``), in the ``k``-formulation."""

    gamma = 0.25
    c = np.array([0.0, 0.386, 0.21, 0.63, 1.0, 1.0])
    d = np.array([0.25, -0.1043, 0.1035, -0.0362, 0.0, 0.0])
    a = [
        [],
        [1.544],
        [0.9466785280815826, 0.2557011698983284],
        [3.314825187068521, 2.896124015972201, 0.9986419139977817],
        [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895],
        [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895, 1.0],
    ]
    C = [
        [],
        [-5.6688],
        [-2.430093356833875, -0.2063599157091915],
        [-0.1073529058151375, -9.594562251023355, -20.47028614809616],
        [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616],
        [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054],
    ]


#: Residuals each step's checkpoint keeps for the reverse pass, per ``reverse_save``.
_SAVED = {"state": (), "factors": ("factors",), "stages": ("factors", "stages")}
REVERSE_SAVE = tuple(_SAVED)

#: Distinct stage times of RODAS4 strictly inside a step (fractions of the step), and the
#: position of every stage's time among ``(t, *_C_INNER, t_next)``.
_C_INNER = np.unique(RODAS4.c[(RODAS4.c > 0.0) & (RODAS4.c < 1.0)])
_STAGE_POINT = tuple(int(i) for i in np.searchsorted(np.concatenate([[0.0], _C_INNER, [1.0]]), RODAS4.c))


def solve_linear_rosenbrock(
    field: Callable[[Any, Float[Array, ""], Float[Array, " n"]], Float[Array, " n"]],
    y0: Float[Array, " n"],
    ts: Float[Array, " m"],
    save: Callable[[Float[Array, ""], Any, Float[Array, " n"]], Array] | None = None,
    jump: Callable[[Float[Array, ""], Float[Array, ""], Any, Float[Array, " n"]], Float[Array, " n"]] | None = None,
    structure: ChainStructure | None = None,
    n_live: Int[Array, ""] | None = None,
    coefficients: Callable[[Float[Array, ""]], Any] | None = None,
    dense: np.ndarray | None = None,
    reverse_save: str = "state",
) -> Array | tuple[Array, Array, Array, Array]:
    """Integrate ``y' = field(coefficients(t), t_step, y)`` (linear in ``y``) through the nodes ``ts``.

    ``coefficients(t)`` (default: ``t`` itself) is everything the field reads that depends on
    time alone (for the perturbations: the background and thermodynamics at ``t``, a
    :class:`~.local.Local`). It is evaluated *before* the loop, vectorised, at every node and
    every stage time, with its derivative at the step starts (for the ``A'(t_n) y`` term): so
    the reverse pass gets the cotangents of all of them as one stacked array and differentiates
    ``coefficients`` once, outside the loop, instead of accumulating the cotangent of whatever
    ``coefficients`` closes over (an interpolation table) at every step. ``t_step`` is the start
    of the current step (every stage of a step sees the same approximation regime).
    ``jump(t, t_next, coefficients(t_next), y_next)``, if given, maps the state at the end of
    every step (a change of variables when an approximation switches on; identity otherwise).
    With ``structure`` the stage systems are solved by :mod:`.chains` (core LU + tridiagonal
    hierarchies) instead of a dense LU, and the Jacobian comes from ``n_core + 3`` probes
    (:meth:`.chains.ChainStructure.probes`) instead of ``n``. With ``n_live`` (a traced integer
    that must not be batched under ``vmap``) only the first ``n_live`` nodes are integrated and
    the later steps are skipped by a real branch, so grids of different lengths share one
    compiled loop. Returns ``save(t, coefficients(t), y)`` (default ``y``) at every node (zeros
    after ``n_live``; with ``dense``, the final state there).

    With ``dense`` (static indices of state components) ``save`` is ignored and the function
    returns, for every step ``n``, the Hermite data of those components on ``[t_n, t_n+1]``:
    ``(y_n, y'(t_n), y_n+1, y'(t_n+1))`` (``y_n+1`` before ``jump``; both derivatives in the
    approximation regime of the step), from which :func:`hermite_dense` evaluates the cubic
    Hermite interpolant anywhere in the step (one more field evaluation per step).

    ``reverse_save`` (reverse mode only; values are identical): each step is a ``jax.checkpoint``
    that keeps the state (``"state"``: the reverse pass recomputes the whole step), or also the
    factorisation of the stage matrix (``"factors"``: no Jacobian probes or factorisation
    recomputed), or also the six stage vectors (``"stages"``).
    """
    if reverse_save not in REVERSE_SAVE:
        raise ValueError(f"reverse_save must be one of {REVERSE_SAVE}, got {reverse_save!r}")
    save = save if save is not None else (lambda t, c, y: y)
    coefficients = coefficients if coefficients is not None else (lambda t: t)
    eye = jnp.eye(y0.shape[0], dtype=y0.dtype)
    probes = None if structure is None else jnp.asarray(structure.probes(), y0.dtype)
    # Coefficients at the nodes (with their time derivative) and at the inner stage times. A
    # zero-length step (padding) evaluates its stages at its start: finite, and discarded.
    node_c, node_dc = jax.vmap(lambda t: jax.jvp(coefficients, (t,), (jnp.ones_like(t),)))(ts)
    h_all = ts[1:] - ts[:-1]
    inner_c = jax.vmap(jax.vmap(coefficients))(ts[:-1, None] + h_all[:, None] * jnp.asarray(_C_INNER, ts.dtype))
    take = lambda tree, sl: jax.tree_util.tree_map(lambda a: a[sl], tree)  # noqa: E731
    per_step = (ts[:-1], ts[1:], take(node_c, slice(None, -1)), take(node_dc, slice(None, -1)), inner_c,
                take(node_c, slice(1, None)))

    def step(y, xs):
        t, t_next, c0, dc0, c_in, c1 = xs
        points = [c0] + [take(c_in, j) for j in range(len(_C_INNER))] + [c1]
        h = t_next - t
        live = h > 0.0
        h_s = jnp.where(live, h, 1.0)
        if structure is None:
            J = jax.jacfwd(lambda u: field(c0, t, u))(jnp.zeros_like(y))
            lu = jsl.lu_factor(eye / (h_s * RODAS4.gamma) - J)
            if reverse_save != "state":
                lu = jax.tree_util.tree_map(lambda a: checkpoint_name(a, "factors"), lu)
            solve = lambda r: jsl.lu_solve(lu, r)  # noqa: E731
        else:
            JP = jax.vmap(lambda u: field(c0, t, u), in_axes=1, out_axes=1)(probes)
            shift = 1.0 / (h_s * RODAS4.gamma)
            fac = chain_factor(JP, shift, structure)
            if reverse_save != "state":
                fac = jax.tree_util.tree_map(lambda a: checkpoint_name(a, "factors"), fac)
            inverse = lambda r: chain_solve(fac, r, structure)  # noqa: E731
            # The derivative of k = E^-1 r follows from E k = r (implicit function): the
            # cotangent mu = E^-T k_bar (a transposed solve with the same factorisation) and
            # the matvec's VJP at (k, -mu) for the field's coefficients. The factorisation
            # itself (LU of the core, Thomas sweeps) is never differentiated.
            solve = lambda r: jax.lax.custom_linear_solve(  # noqa: E731
                lambda x: shift * x - field(c0, t, x), r,
                solve=lambda _, b: inverse(b),
                transpose_solve=lambda _, b: jax.linear_transpose(inverse, b)(b)[0],
            )
        f0, f_t = jax.jvp(lambda c: field(c, t, y), (c0,), (dc0,))
        ks = []
        for i in range(6):
            if i == 0:
                Y, f = y, f0
            else:
                Y = (ks[-1] + Y) if i == 5 else y + sum(float(a) * ks[j] for j, a in enumerate(RODAS4.a[i]))
                f = field(points[_STAGE_POINT[i]], t, Y)
            rhs = f + sum(float(cij) / h_s * ks[j] for j, cij in enumerate(RODAS4.C[i]))
            if RODAS4.d[i] != 0.0:
                rhs = rhs + (h_s * float(RODAS4.d[i])) * f_t
            k_i = solve(rhs)
            ks.append(checkpoint_name(k_i, "stages") if reverse_save == "stages" else k_i)
        y_next = jnp.where(live, Y + ks[-1], y)
        if dense is not None:
            out = (y[dense], f0[dense], y_next[dense], field(c1, t, y_next)[dense])
        if jump is not None:
            y_next = jump(t, t_next, c1, y_next)
        if dense is None:
            out = save(t_next, c1, y_next)
        return y_next, out

    step = jax.checkpoint(step, policy=jax.checkpoint_policies.save_only_these_names(*_SAVED[reverse_save]))
    if n_live is None:
        _, out = jax.lax.scan(step, y0, per_step)
    else:
        out_shape = jax.eval_shape(step, y0, take(per_step, 0))[1]

        def skip(y, xs):
            if dense is not None:  # the state stays put: a later node reads the final state
                zero = jnp.zeros_like(y[dense])
                return y, (y[dense], zero, y[dense], zero)
            return y, jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), out_shape)

        def masked(y, xs):
            i, rest = xs
            return jax.lax.cond(i < n_live - 1, step, skip, y, rest)

        _, out = jax.lax.scan(masked, y0, (jnp.arange(ts.shape[0] - 1), per_step))
    if dense is not None:
        return out
    first = save(ts[0], take(node_c, 0), y0)
    return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b], axis=0), first, out)


def hermite_dense(
    ts: Float[Array, " m"], data: tuple[Array, Array, Array, Array], position: Float[Array, " p"]
) -> Float[Array, "p n_dense"]:
    """Cubic Hermite interpolant of the ``dense`` output of :func:`solve_linear_rosenbrock` at the
    fractional node positions ``position`` (``n + theta`` is ``t_n + theta (t_n+1 - t_n)``,
    ``0 <= theta <= 1``; an integer position gives the stored node value exactly). Local error
    O(h^4) on steps of length h (the integrator itself is of order 4)."""
    y0, f0, y1, f1 = data
    j = jnp.clip(jnp.floor(position).astype(int), 0, ts.shape[0] - 2)
    th = (position - j)[:, None]
    h = (ts[j + 1] - ts[j])[:, None]
    th2, th3 = th * th, th * th * th
    return (
        (2.0 * th3 - 3.0 * th2 + 1.0) * y0[j] + (th3 - 2.0 * th2 + th) * h * f0[j]
        + (3.0 * th2 - 2.0 * th3) * y1[j] + (th3 - th2) * h * f1[j]
    )
