"""h from the angular sound horizon: the ``100*theta_s`` input (CLASS's shooting of H0).

``100*theta_s = 100 r_s(z_rec) / D_M(z_rec)`` (CLASS's definition, z_rec at the visibility
maximum) depends on h through the background and the recombination history. The root
``theta_s(h) = target`` is found with the secant method on h (background + thermodynamics
forward passes only; theta_s is smooth and monotonic in h, about 6 passes to 1e-12) and
differentiated with the implicit-function theorem:

    dh/dp = - (d theta_s / dp) / (d theta_s / dh),   dh/d target = 1 / (d theta_s / dh),

both partial derivatives from one reverse-mode pass at the root (no gradient flows through
the iterations). optimistix's root finders derive their implicit derivative in forward mode,
which diffrax's checkpointed reverse-mode adjoint inside the thermodynamics does not allow,
hence the custom VJP here.

If no h in [H_MIN, H_MAX] gives the target (or the iteration does not converge), the root is
NaN: :func:`h_from_theta_s` then reports it as invalid, the solver runs on a placeholder h and
returns every output as NaN (never an exception), so a sampler's log density is -inf.
"""

from __future__ import annotations

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from .background import compute_background
from .params import CosmoParams
from .precision import Precision
from .thermodynamics import compute_thermodynamics

__all__ = ["H_MAX", "H_MIN", "h_from_theta_s", "theta_s_100_of_h"]

#: Allowed range of h (as for an h input).
H_MIN, H_MAX = 0.2, 1.5
#: Secant starting points and stopping rule.
_H_START = (0.62, 0.72)
_RTOL = 1.0e-12
_MAX_ITER = 30
#: Largest |100 theta_s(h) - target| accepted as a root.
_FTOL = 1.0e-8


def theta_s_100_of_h(cp: CosmoParams, h: Float[Array, ""], prec: Precision) -> Float[Array, ""]:
    """CLASS's derived ``100*theta_s`` for the parameters ``cp`` with ``h`` replaced."""
    cp_h = eqx.tree_at(lambda c: c.h, cp, h)
    bg = compute_background(cp_h, prec)
    return compute_thermodynamics(cp_h, bg, prec).theta_s_100


def _secant(cp: CosmoParams, prec: Precision) -> Float[Array, ""]:
    target = cp.theta_s_100_input

    def residual(h):
        return theta_s_100_of_h(cp, h, prec) - target

    h_start = jnp.asarray(_H_START, dtype=float)
    f_start = jax.vmap(residual)(h_start)  # one batched pass (one copy of the program, not two)
    init = (h_start[0], f_start[0], h_start[1], f_start[1], jnp.asarray(0))

    def cond(state):
        h0, _, h1, f1, it = state
        return (jnp.abs(h1 - h0) > _RTOL * jnp.abs(h1)) & (it < _MAX_ITER) & jnp.isfinite(f1) & (f1 != 0.0)

    def body(state):
        h0, f0, h1, f1, it = state
        h2 = h1 - f1 * (h1 - h0) / (f1 - f0)
        # iterate inside the allowed range (a root outside it ends the loop at the bound)
        h2 = jnp.where(jnp.isfinite(h2), jnp.clip(h2, H_MIN, H_MAX), h1)
        return h1, f1, h2, residual(h2), it + 1

    _, _, h1, f1, _ = jax.lax.while_loop(cond, body, init)
    return jnp.where(jnp.abs(f1) <= _FTOL, h1, jnp.nan)


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def _h_root(cp: CosmoParams, prec: Precision) -> Float[Array, ""]:
    return _secant(cp, prec)


def _h_root_fwd(cp, prec):
    h = _secant(cp, prec)
    return h, (cp, h)


def _h_root_bwd(prec, residuals, h_bar):
    cp, h = residuals
    # f(cp, h) = theta_s(cp with h) - target; cp's own (placeholder) h does not enter f
    f = lambda c, hh: theta_s_100_of_h(c, hh, prec) - c.theta_s_100_input
    _, vjp = jax.vjp(f, cp, h)
    cp_bar, df_dh = vjp(jnp.ones_like(h))
    scale = -h_bar / df_dh
    return (jax.tree_util.tree_map(lambda x: scale * x, cp_bar),)


_h_root.defvjp(_h_root_fwd, _h_root_bwd)


def h_from_theta_s(cp: CosmoParams, prec: Precision) -> tuple[CosmoParams, Bool[Array, ""]]:
    """``cp`` with h solved from its ``theta_s_100_input`` (unchanged if h was an input), and
    whether a root was found; without one, h is a placeholder and the caller must poison its
    outputs (:func:`cosmo.solve` returns NaN everywhere)."""
    if not cp.h_from_theta_s:
        return cp, jnp.asarray(True)
    h = _h_root(cp, prec)
    valid = jnp.isfinite(h)
    return eqx.tree_at(lambda c: c.h, cp, jnp.where(valid, h, _H_START[0])), valid
