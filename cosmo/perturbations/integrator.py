"""Fixed-step L-stable integrator for *linear* ODEs ``dy/dt = A(t) y``.

The perturbation equations are linear in the state, so every implicit stage of an
ESDIRK method is a single linear solve: no Newton iteration, no convergence test,
no tolerance. (diffrax's implicit solvers wrap each stage in a nonlinear root find
whose termination test cannot be met when Thomson rates are ~1e9 times the Hubble
rate: roundoff in the residual exceeds any useful tolerance; see CHANGELOG.)

We use the Butcher tableau of diffrax's ``Kvaerno5`` (5th order, L-stable, stiffly
accurate, explicit first stage). ``A(t)`` is supplied by the caller (the exact
Jacobian of the linear vector field). Stage ``i``:

    (1 - h gamma A(t_i)) Y_i = y_n + h sum_{j<i} a_ij K_j,    K_i = (Y_i - rhs_i) / (h gamma)

and ``y_{n+1} = Y_last``. Steps of zero length (padding of shorter grids) are exact
no-ops. Each step is wrapped in ``jax.checkpoint``: reverse-mode memory is one state
per step. Unresolved oscillations (h omega >> 1) are damped, not amplified (L-stability).
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

__all__ = ["solve_linear_esdirk"]

_TABLEAU = diffrax.Kvaerno5.tableau
_GAMMA = float(_TABLEAU.a_diagonal[1])
_C = np.concatenate([[0.0], np.asarray(_TABLEAU.c)])
_A_LOWER = [np.asarray(row) for row in _TABLEAU.a_lower]  # row i-1 holds a_{i, 0..i-1}
_N_STAGES = len(_C)
assert np.allclose(np.asarray(_TABLEAU.a_diagonal)[1:], _GAMMA)
assert np.allclose(_A_LOWER[-1], np.asarray(_TABLEAU.b_sol)[:-1])  # stiffly accurate


def solve_linear_esdirk(
    matrix: Callable[[Float[Array, ""], Float[Array, ""]], Float[Array, "n n"]],
    y0: Float[Array, " n"],
    ts: Float[Array, " m"],
    save: Callable[[Float[Array, ""], Float[Array, " n"]], Array] | None = None,
) -> Array:
    """Integrate ``y' = matrix(t, t_step) @ y`` through the nodes ``ts``.

    ``t_step`` is the start of the current step (every stage of a step sees the same
    approximation regime). Returns ``save(t, y)`` (default ``y``) at every node.
    """
    save = save if save is not None else (lambda t, y: y)
    eye = jnp.eye(y0.shape[0], dtype=y0.dtype)

    @jax.checkpoint
    def step(y, t_pair):
        t, t_next = t_pair
        h = t_next - t
        live = h > 0.0
        h_s = jnp.where(live, h, 1.0)
        K = [matrix(t, t) @ y]
        Y = y
        for i in range(1, _N_STAGES):
            rhs = y + h_s * sum(float(a) * K[j] for j, a in enumerate(_A_LOWER[i - 1]))
            Ai = matrix(t + float(_C[i]) * h_s, t)
            Y = jnp.linalg.solve(eye - (h_s * _GAMMA) * Ai, rhs)
            K.append((Y - rhs) / (h_s * _GAMMA))
        y_next = jnp.where(live, Y, y)
        return y_next, save(t_next, y_next)

    _, out = jax.lax.scan(step, y0, (ts[:-1], ts[1:]))
    first = save(ts[0], y0)
    return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b], axis=0), first, out)
