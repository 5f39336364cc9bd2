"""Adiabatic initial conditions in the synchronous gauge, deep in radiation domination.

Leading order in ``k tau`` and ``om tau`` with the first corrections, as CLASS
(perturbations.c, which follows Ma & Bertschinger 1995 and CAMB). Normalisation:
the comoving curvature perturbation is ``R = 1`` on super-horizon scales
(CLASS ``curvature_ini = 1``), so transfer functions multiply sqrt(P_R(k)).
Massive neutrinos start as relativistic (CLASS). With spatial curvature the factors
``s_2^2 = 1 - 3K/k^2`` enter as in CLASS (``eta = R`` still holds outside the horizon).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from .equations import Layout, s2_squared
from .local import Local

__all__ = ["adiabatic_initial_conditions"]


def adiabatic_initial_conditions(k: Float[Array, ""], loc: Local, lay: Layout) -> Float[Array, " n"]:
    """State vector of the adiabatic growing mode at the time of ``loc``."""
    tau = loc.tau
    rho_nu = loc.rho_ur + jnp.sum(loc.rho_ncdm)  # massive neutrinos are relativistic here (as CLASS)
    rho_r = loc.rho_g + rho_nu
    rho_m = loc.rho_b + loc.rho_cdm
    fracnu = rho_nu / rho_r
    fracb = loc.rho_b / rho_m
    om = loc.a * rho_m / jnp.sqrt(rho_r)  # a = (om^2/4) tau^2 + ... in RD+MD [1/Mpc]
    ktau2 = (k * tau) ** 2
    ktau3 = k * tau * ktau2
    s2sq = s2_squared(k, loc.K)

    delta_g = -ktau2 / 3.0 * (1.0 - om * tau / 5.0) * s2sq
    theta_g = -k * ktau3 / 36.0 * (1.0 - 3.0 * (1.0 + 5.0 * fracb - fracnu) / 20.0 / (1.0 - fracnu) * om * tau) * s2sq
    delta_b = 0.75 * delta_g
    theta_b = theta_g
    delta_cdm = 0.75 * delta_g
    delta_ur = delta_g
    theta_ur = -k * ktau3 / 36.0 / (4.0 * fracnu + 15.0) * (
        4.0 * fracnu + 11.0 + 12.0 * s2sq
        - 3.0 * (8.0 * fracnu**2 + 50.0 * fracnu + 275.0) / 20.0 / (2.0 * fracnu + 15.0) * tau * om
    ) * s2sq
    shear_ur = ktau2 / (45.0 + 12.0 * fracnu) * (3.0 * s2sq - 1.0) * (
        1.0 + (4.0 * fracnu - 5.0) / 4.0 / (2.0 * fracnu + 15.0) * tau * om
    )
    l3_ur = ktau3 * 2.0 / 7.0 / (12.0 * fracnu + 45.0)
    eta = 1.0 - ktau2 / 12.0 / (15.0 + 4.0 * fracnu) * (
        5.0 + 4.0 * s2sq * fracnu - (16.0 * fracnu**2 + 280.0 * fracnu + 325.0) / 10.0 / (2.0 * fracnu + 15.0) * tau * om
    )
    s2 = jnp.sqrt(s2sq)

    y = jnp.zeros(lay.size)
    y = y.at[lay.eta].set(eta)
    y = y.at[lay.delta_cdm].set(delta_cdm)
    y = y.at[lay.delta_b].set(delta_b)
    y = y.at[lay.theta_b].set(theta_b)
    y = y.at[lay.g0].set(delta_g)
    y = y.at[lay.g0 + 1].set(4.0 * theta_g / (3.0 * k))
    y = y.at[lay.ur0].set(delta_ur)
    y = y.at[lay.ur0 + 1].set(4.0 * theta_ur / (3.0 * k))
    y = y.at[lay.ur0 + 2].set(2.0 * s2 * shear_ur)  # F_2 = 2 s_2 sigma
    y = y.at[lay.ur0 + 3].set(l3_ur)
    # massive neutrinos: the massless-neutrino multipoles weighted by -dln f0/dln q (CLASS)
    q, _, dlnf0 = lay.ncdm_quadrature()
    for s in range(lay.n_ncdm):
        eps = jnp.sqrt(q**2 + loc.aM_ncdm[s] ** 2)
        Psi = jnp.zeros((lay.nq_ncdm, lay.l_max_ncdm + 1))
        Psi = Psi.at[:, 0].set(-0.25 * delta_ur * dlnf0)
        Psi = Psi.at[:, 1].set(-eps / (3.0 * q * k) * theta_ur * dlnf0)
        Psi = Psi.at[:, 2].set(-0.5 * shear_ur * dlnf0)
        Psi = Psi.at[:, 3].set(-0.25 * l3_ur * dlnf0)
        y = y.at[lay.ncdm_block(s)].set(Psi.reshape(-1))
    return y
