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
step.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jaxtyping import Array, Float, Int

from .chains import ChainStructure, chain_factor, chain_solve

__all__ = ["solve_linear_rosenbrock", "RODAS4"]


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



def solve_linear_rosenbrock(
    field: Callable[[Float[Array, ""], Float[Array, ""], Float[Array, " n"]], Float[Array, " n"]],
    y0: Float[Array, " n"],
    ts: Float[Array, " m"],
    save: Callable[[Float[Array, ""], Float[Array, " n"]], Array] | None = None,
    jump: Callable[[Float[Array, ""], Float[Array, ""], Float[Array, " n"]], Float[Array, " n"]] | None = None,
    structure: ChainStructure | None = None,
    n_live: Int[Array, ""] | None = None,
) -> Array:
    """Integrate ``y' = field(t, t_step, y)`` (linear in ``y``) through the nodes ``ts``.

    ``t_step`` is the start of the current step (every stage of a step sees the same
    approximation regime). ``jump(t, t_next, y_next)``, if given, maps the state at the end
    of every step (a change of variables when an approximation switches on; identity
    otherwise). With ``structure`` the stage systems are solved by :mod:`.chains` (core LU +
    tridiagonal hierarchies) instead of a dense LU, and the Jacobian comes from ``n_core + 3``
    probes (:meth:`.chains.ChainStructure.probes`) instead of ``n``. With ``n_live`` (a traced
    integer that must not be batched under ``vmap``) only the first ``n_live`` nodes are
    integrated and the later steps are skipped by a real branch, so grids of different
    lengths share one compiled loop. Returns ``save(t, y)`` (default ``y``) at every node
    (zeros after ``n_live``).
    """
    save = save if save is not None else (lambda t, y: y)
    eye = jnp.eye(y0.shape[0], dtype=y0.dtype)
    probes = None if structure is None else jnp.asarray(structure.probes(), y0.dtype)

    @jax.checkpoint
    def step(y, t_pair):
        t, t_next = t_pair
        h = t_next - t
        live = h > 0.0
        h_s = jnp.where(live, h, 1.0)
        if structure is None:
            J = jax.jacfwd(lambda u: field(t, t, u))(jnp.zeros_like(y))
            lu = jsl.lu_factor(eye / (h_s * RODAS4.gamma) - J)
            solve = lambda r: jsl.lu_solve(lu, r)  # noqa: E731
        else:
            JP = jax.vmap(lambda u: field(t, t, u), in_axes=1, out_axes=1)(probes)
            fac = chain_factor(JP, 1.0 / (h_s * RODAS4.gamma), structure)
            solve = lambda r: chain_solve(fac, r, structure)  # noqa: E731
        f0, f_t = jax.jvp(lambda s: field(s, t, y), (t,), (jnp.ones_like(t),))
        ks = []
        for i in range(6):
            if i == 0:
                Y, f = y, f0
            else:
                Y = (ks[-1] + Y) if i == 5 else y + sum(float(a) * ks[j] for j, a in enumerate(RODAS4.a[i]))
                f = field(t + float(RODAS4.c[i]) * h_s, t, Y)
            rhs = f + sum(float(cij) / h_s * ks[j] for j, cij in enumerate(RODAS4.C[i]))
            if RODAS4.d[i] != 0.0:
                rhs = rhs + (h_s * float(RODAS4.d[i])) * f_t
            ks.append(solve(rhs))
        y_next = jnp.where(live, Y + ks[-1], y)
        if jump is not None:
            y_next = jump(t, t_next, y_next)
        return y_next, save(t_next, y_next)

    if n_live is None:
        _, out = jax.lax.scan(step, y0, (ts[:-1], ts[1:]))
    else:
        out_shape = jax.eval_shape(save, ts[0], y0)

        def skip(y, t_pair):
            return y, jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), out_shape)

        def masked(y, xs):
            i, t, t_next = xs
            return jax.lax.cond(i < n_live - 1, step, skip, y, (t, t_next))

        _, out = jax.lax.scan(masked, y0, (jnp.arange(ts.shape[0] - 1), ts[:-1], ts[1:]))
    first = save(ts[0], y0)
    return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b], axis=0), first, out)
