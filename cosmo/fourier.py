"""Fourier-space outputs: linear matter power spectrum P(k, z) and sigma8.

``P(k, z) = 2 pi^2 / k^3 P_R(k) delta_m(k, z)^2`` [Mpc^3] with ``delta_m`` the
gauge-invariant comoving density contrast of baryons + CDM (CLASS ``pk_lin``
convention), k in 1/Mpc. Between the computed modes, ln P is a natural cubic spline
in ln k; between the stored times, ln P is a natural cubic spline in ln a.
sigma8 integrates the spline of P(k) times the top-hat window on the fixed k grid
(Gauss-Legendre in every interval).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .interpolation import natural_spline_second_derivatives, spline_eval
from .params import CosmoParams
from .perturbations import Perturbations
from .precision import Precision
from .primordial import primordial_scalar

__all__ = ["MatterPower", "pk_modes", "matter_power", "sigma_R"]


def _log_grid(k_min: float, k_max: float, per_decade: int) -> np.ndarray:
    n = max(1, int(round(per_decade * math.log10(k_max / k_min))))
    return np.logspace(math.log10(k_min), math.log10(k_max), n + 1)


def pk_modes(prec: Precision) -> np.ndarray:
    """Wavenumbers [1/Mpc] at which the modes for P(k) are evolved (parameter independent):
    logarithmic, denser through the BAO wiggles (``pk_bao_*``)."""
    coarse = _log_grid(prec.pk_k_min, prec.pk_k_max, prec.pk_per_decade)
    lo, hi = max(prec.pk_bao_k_min, prec.pk_k_min), min(prec.pk_bao_k_max, prec.pk_k_max)
    if prec.pk_bao_per_decade <= prec.pk_per_decade or lo >= hi:
        return coarse
    fine = _log_grid(lo, hi, prec.pk_bao_per_decade)
    return np.concatenate([coarse[coarse < lo], fine, coarse[coarse > hi]])


class MatterPower(eqx.Module):
    """ln P on the grid of modes (ln k) and stored times (ln a), interpolated by splines."""

    lnk: Float[Array, " n_k"]
    loga: Float[Array, " n_t"]
    lnP: Float[Array, "n_k n_t"]  #: ln(P / Mpc^3)

    def __call__(self, k: Float[Array, "..."], z: Float[Array, ""]) -> Float[Array, "..."]:
        """Linear P(k, z) [Mpc^3], k [1/Mpc] inside the computed range, z <= pk_z_max."""
        # first along ln a at fixed modes (one spline per mode), then along ln k
        x = -jnp.log1p(z)
        lnP_t = spline_eval(x, self.loga, self.lnP.T, natural_spline_second_derivatives(self.loga, self.lnP.T))
        y2_k = natural_spline_second_derivatives(self.lnk, lnP_t)
        return jnp.exp(spline_eval(jnp.log(k), self.lnk, lnP_t, y2_k))


def matter_power(cp: CosmoParams, pert: Perturbations) -> MatterPower:
    delta_m = pert.source("delta_m")  # (n_k, n_t)
    k = pert.k
    lnP = jnp.log(2.0 * math.pi**2 / k[:, None] ** 3 * primordial_scalar(cp, k)[:, None] * delta_m**2)
    lnk = jnp.log(k)
    return MatterPower(lnk=lnk, loga=pert.loga, lnP=lnP)


def sigma_R(pk: MatterPower, R: Float[Array, ""], z: Float[Array, ""], gauss_nodes: int = 8) -> Float[Array, ""]:
    """RMS linear density fluctuation in spheres of radius R [Mpc] at redshift z."""
    t, w = np.polynomial.legendre.leggauss(gauss_nodes)
    lo, hi = pk.lnk[:-1], pk.lnk[1:]
    lnk = (0.5 * (hi - lo)[:, None] * (jnp.asarray(t)[None, :] + 1.0) + lo[:, None]).ravel()
    weights = (0.5 * (hi - lo)[:, None] * jnp.asarray(w)[None, :]).ravel()
    k = jnp.exp(lnk)
    x = k * R
    W = 3.0 * (jnp.sin(x) - x * jnp.cos(x)) / x**3
    integrand = k**3 * pk(k, z) * W**2 / (2.0 * math.pi**2)
    return jnp.sqrt(jnp.sum(weights * integrand))
