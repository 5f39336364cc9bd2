"""Source functions of the line-of-sight integrals (synchronous gauge, as CLASS).

With ``alpha = (h' + 6 eta')/(2k^2)`` (so psi = alpha' + (a'/a) alpha, phi = eta - (a'/a) alpha),
``g`` the visibility and ``theta_b~ = theta_b + k^2 alpha`` (the Newtonian-gauge baryon velocity):

* ``t0 = g (delta_g/4 + eta - 2 (a'/a) alpha) + 2 e^-kappa (eta' - (a'/a)' alpha - (a'/a) alpha')
  + (g theta_b~' + g' theta_b~) / k^2``  (Sachs-Wolfe, ISW and Doppler after integration by parts)
* ``t1 = e^-kappa k (alpha' + 2 (a'/a) alpha - eta)``  (radial function j_l')
* ``t2 = g P``, ``P = (G_0 + G_2 + F_2)/8``  (radial function (3 j_l'' + j_l)/2)
* ``e = sqrt(6) g P`` (E polarisation, CAMB/CMBFAST sign convention)
* ``phi_plus_psi = eta + alpha'`` (lensing potential, Weyl potential phi + psi)
* ``delta_m``: gauge-invariant comoving matter density contrast (baryons + CDM + massive
  neutrinos) ``delta_rho_m / rho_m + 3 (a'/a) theta_m / k^2`` with
  ``theta_m = sum (rho + p) theta / sum (rho + p)``, as CLASS's P(k).

These are the CLASS ``perturbations_sources`` expressions for the synchronous gauge.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
from jaxtyping import Array, Float

from .equations import Layout, ncdm_species, derivatives_tau
from .local import Local

__all__ = ["SOURCE_TYPES", "source_functions"]

#: Order of the source types in the arrays returned by the perturbation stage.
SOURCE_TYPES: tuple[str, ...] = ("t0", "t1", "t2", "e", "phi_plus_psi", "delta_m")


def source_functions(
    k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout, rsa=False, ufa=False, ncdmfa=False
) -> Float[Array, " n_types"]:
    """All source types (order of :data:`SOURCE_TYPES`) of one mode at one time.

    In the radiation-streaming regime ``delta_g`` comes from the RSA and ``P = 0`` (as CLASS).
    """
    dy, met = derivatives_tau(k, y, loc, lay, rsa, ufa, ncdmfa)
    k2 = k * k
    g, g_prime, emk = loc.g, loc.g_prime, loc.exp_m_kappa
    alpha, alpha_p = met.alpha, met.alpha_prime
    eta, eta_p = y[lay.eta], met.eta_prime
    theta_b = y[lay.theta_b] + k2 * alpha
    theta_b_p = dy[lay.theta_b] + k2 * alpha_p
    delta_g = met.delta_g
    P = jnp.where(rsa, 0.0, (y[lay.pol0] + y[lay.pol0 + 2] + y[lay.g0 + 2]) / 8.0)

    t0 = (
        g * (delta_g / 4.0 + eta - 2.0 * loc.aH * alpha)
        + 2.0 * emk * (eta_p - loc.aH_prime * alpha - loc.aH * alpha_p)
        + (g * theta_b_p + g_prime * theta_b) / k2
    )
    t1 = emk * k * (alpha_p + 2.0 * loc.aH * alpha - eta)
    t2 = g * P
    e = math.sqrt(6.0) * g * P
    phi_plus_psi = eta + alpha_p
    rho_m = loc.rho_b + loc.rho_cdm
    delta_rho_m = loc.rho_b * y[lay.delta_b] + loc.rho_cdm * y[lay.delta_cdm]
    rho_plus_p_m = rho_m
    rho_plus_p_theta_m = loc.rho_b * y[lay.theta_b]
    for s, (d_n, t_n, _) in enumerate(ncdm_species(k, y, loc, lay, ncdmfa)):
        rho_m = rho_m + loc.rho_ncdm[s]
        delta_rho_m = delta_rho_m + loc.rho_ncdm[s] * d_n
        rho_plus_p_m = rho_plus_p_m + loc.rho_ncdm[s] + loc.p_ncdm[s]
        rho_plus_p_theta_m = rho_plus_p_theta_m + (loc.rho_ncdm[s] + loc.p_ncdm[s]) * t_n
    delta_m = delta_rho_m / rho_m + 3.0 * loc.aH * rho_plus_p_theta_m / rho_plus_p_m / k2
    return jnp.stack([t0, t1, t2, e, phi_plus_psi, delta_m])
