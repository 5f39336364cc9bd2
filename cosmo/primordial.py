"""Primordial spectrum of the comoving curvature perturbation (CLASS ``analytic_Pk``).

``P_R(k) = A_s (k / k_pivot)^(n_s - 1 + alpha_s/2 ln(k / k_pivot))``, dimensionless,
k and k_pivot in 1/Mpc (CLASS default k_pivot = 0.05/Mpc).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from .params import CosmoParams

__all__ = ["primordial_scalar"]


def primordial_scalar(cp: CosmoParams, k: Float[Array, "..."]) -> Float[Array, "..."]:
    """Dimensionless P_R(k) for k in 1/Mpc."""
    lnk = jnp.log(k / cp.k_pivot)
    return cp.A_s * jnp.exp((cp.n_s - 1.0 + 0.5 * cp.alpha_s * lnk) * lnk)
