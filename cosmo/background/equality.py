"""Matter-radiation equality (CLASS ``background_find_equality``): a_eq, z_eq, H_eq, tau_eq, k_eq.

Radiation = photons + massless neutrinos + the relativistic part of massive neutrinos
(3 p_ncdm); matter = baryons + CDM + the non-relativistic part (rho_ncdm - 3 p_ncdm), as CLASS's
``Omega_r`` and ``Omega_m``. The root of ln(rho_m / rho_r) in ln a is found by Newton's method
(optimistix, implicit-function derivative).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import optimistix as optx
from jaxtyping import Array, Float

from .background import Background

__all__ = ["Equality", "matter_radiation_equality"]


class Equality(eqx.Module):
    """Radiation-matter equality: a_eq, z_eq, H_eq [1/Mpc], tau_eq [Mpc], k_eq = a_eq H_eq [1/Mpc]."""

    a_eq: Float[Array, ""]
    z_eq: Float[Array, ""]
    H_eq: Float[Array, ""]
    tau_eq: Float[Array, ""]
    k_eq: Float[Array, ""]


def _log_matter_over_radiation(loga, bg: Background):
    d = bg.densities(loga)
    radiation = d["rho_g"] + d["rho_ur"] + 3.0 * d["p_ncdm"]
    matter = d["rho_b"] + d["rho_cdm"] + d["rho_ncdm"] - 3.0 * d["p_ncdm"]
    return jnp.log(matter / radiation)


def matter_radiation_equality(bg: Background) -> Equality:
    guess = jnp.log((bg.Omega0_g + bg.Omega0_ur) / (bg.Omega0_b + bg.Omega0_cdm))
    sol = optx.root_find(_log_matter_over_radiation, optx.Newton(rtol=1e-12, atol=1e-12), guess, args=bg,
                         max_steps=64, adjoint=optx.ImplicitAdjoint())
    loga = sol.value
    a = jnp.exp(loga)
    H = bg.hubble_loga(loga)
    return Equality(a_eq=a, z_eq=1.0 / a - 1.0, H_eq=H, tau_eq=bg.conformal_time_loga(loga), k_eq=a * H)
