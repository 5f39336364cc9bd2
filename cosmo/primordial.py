"""Primordial spectra (CLASS ``analytic_Pk``), dimensionless, k and k_pivot in 1/Mpc
(CLASS default k_pivot = 0.05/Mpc).

* curvature: ``P_R(k) = A_s (k / k_pivot)^(n_s - 1 + alpha_s/2 ln(k / k_pivot))``;
* tensors: ``P_h(k) = r A_s (k / k_pivot)^(n_t + alpha_t/2 ln(k / k_pivot))``, the spectrum of the
  tensor metric perturbation with CLASS's normalisation (initial ``h = 1/sqrt(6)`` per mode, so
  that ``r = A_t / A_s``; :mod:`cosmo.perturbations.tensor`).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from .params import CosmoParams

__all__ = ["primordial_scalar", "primordial_tensor"]


def primordial_scalar(cp: CosmoParams, k: Float[Array, "..."]) -> Float[Array, "..."]:
    """Dimensionless P_R(k) for k in 1/Mpc."""
    lnk = jnp.log(k / cp.k_pivot)
    return cp.A_s * jnp.exp((cp.n_s - 1.0 + 0.5 * cp.alpha_s * lnk) * lnk)


def primordial_tensor(cp: CosmoParams, k: Float[Array, "..."]) -> Float[Array, "..."]:
    """Dimensionless tensor spectrum P_h(k) (CLASS convention, A_t = r A_s) for k in 1/Mpc."""
    lnk = jnp.log(k / cp.k_pivot)
    return cp.r * cp.A_s * jnp.exp((cp.n_t + 0.5 * cp.alpha_t * lnk) * lnk)
