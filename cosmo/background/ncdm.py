"""Non-cold relics (massive neutrinos): momentum-integrated density and pressure.

For a Fermi-Dirac species of temperature ``T_ncdm T_cmb`` (today), degeneracy
``deg_ncdm`` and mass ``m`` the energy density and pressure are

    rho_ncdm(a) = rho_g(a) * deg * T_ncdm^4 * (15 / pi^4) * I_rho(M a)
    p_ncdm(a)   = rho_g(a) * deg * T_ncdm^4 * (15 / pi^4) * I_p(M a)

with ``M = m c^2 / (k_B T_ncdm T_cmb)`` and the dimensionless integrals

    I_rho(x) = int_0^inf q^2 sqrt(q^2 + x^2) / (e^q + 1) dq
    I_p(x)   = int_0^inf q^4 / (3 sqrt(q^2 + x^2)) / (e^q + 1) dq,

so that a massless species (``x = 0``) gives ``7/8 T_ncdm^4 rho_g`` per unit degeneracy,
as CLASS's normalisation (deg_ncdm = 1 is one neutrino + antineutrino flavour).
The integrals use Gauss-Legendre on ``[0, q_max]`` (relative error ~1e-9 with 64 nodes).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import constants as const

#: 15 / pi^4: converts the I_rho integral into units of the photon density per unit T^4.
FD_NORM = 15.0 / math.pi**4


def momentum_quadrature(n: int, q_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on ``[0, q_max]`` including the Fermi-Dirac factor."""
    t, w = np.polynomial.legendre.leggauss(n)
    q = 0.5 * (t + 1.0) * q_max
    wq = 0.5 * w * q_max / (np.exp(q) + 1.0)
    return q, wq


def mass_parameter(m_ncdm_eV: Float[Array, " n"], T_ncdm: Float[Array, " n"], T_cmb: Float[Array, ""]) -> Float[Array, " n"]:
    """Dimensionless mass ``M = m c^2 / (k_B T_ncdm T_cmb)`` of each species."""
    return m_ncdm_eV * const.eV_SI / (const.k_B_SI * T_ncdm * T_cmb)


def fd_integrals(
    x: Float[Array, "..."], q: Float[Array, " nq"], wq: Float[Array, " nq"]
) -> tuple[Float[Array, "..."], Float[Array, "..."]]:
    """Return ``(I_rho(x), I_p(x))`` for ``x = M a`` (any shape)."""
    x = jnp.asarray(x)[..., None]
    eps = jnp.sqrt(q**2 + x**2)
    I_rho = jnp.sum(wq * q**2 * eps, axis=-1)
    I_p = jnp.sum(wq * q**4 / (3.0 * eps), axis=-1)
    return I_rho, I_p
