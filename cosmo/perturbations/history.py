"""Time history of single modes: fluid and metric variables for tracing a discrepancy.

The solver itself only stores source functions (:mod:`.sources`). For diagnostics (``cosmo
compare --stage perturbations``) this module evolves chosen modes exactly as the C_l and P(k)
stages do (same equations, approximations and fixed-grid integrator; the requested times become
extra grid nodes) and records, at each requested time, the variables CLASS prints for its
``k_output_values``, with CLASS's conventions:

* Newtonian (longitudinal) gauge, as CLASS's default output (``get_perturbations_in_current_gauge
  = no``): from our synchronous variables, ``delta -> delta - 3 (1 + w) (a'/a) alpha``
  (photons and massless neutrinos: ``- 4 (a'/a) alpha``) and ``theta -> theta + k^2 alpha``, with
  ``alpha = (h' + 6 eta')/(2 k^2)``;
* ``theta`` [1/Mpc] is the velocity divergence, ``shear_g = F_2 / 2``, ``pol0_g = G_0``;
* ``phi = eta - (a'/a) alpha``, ``psi = alpha' + (a'/a) alpha`` (dimensionless);
* normalisation of the sources: comoving curvature R = 1 on super-horizon scales.

In the radiation-streaming regime the photon and neutrino (delta, theta) are the RSA ones, and
``shear_g = pol0_g = 0`` (as CLASS).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..background import Background
from ..params import CosmoParams
from ..precision import Precision
from ..thermodynamics import Thermodynamics
from .equations import Layout, _rsa_radiation, derivatives_tau
from .evolve import initial_loga, mode_grids, mode_sources
from .local import Local, local_table
from .perturbations import _layout

__all__ = ["HISTORY_VARIABLES", "history_variables", "perturbation_history"]

#: Variables recorded by :func:`perturbation_history` (CLASS's names in its perturbation output).
HISTORY_VARIABLES: tuple[str, ...] = (
    "delta_g", "theta_g", "shear_g", "pol0_g", "delta_b", "theta_b", "delta_cdm", "theta_cdm",
    "delta_ur", "theta_ur", "shear_ur", "phi", "psi",
)


def history_variables(
    k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout, rsa=False, ufa=False, ncdmfa=False
) -> Float[Array, " n_vars"]:
    """:data:`HISTORY_VARIABLES` of one mode at one time (Newtonian gauge, see the module docstring)."""
    _, met = derivatives_tau(k, y, loc, lay, rsa, ufa, ncdmfa)
    k2 = k * k
    aH, alpha = loc.aH, met.alpha
    F = y[lay.g0 : lay.pol0]
    N = y[lay.ur0 : lay.ncdm0]
    _, _, rsa_dur, rsa_tur = _rsa_radiation(k, y, loc, lay, met.h_prime)
    delta_ur = jnp.where(rsa, rsa_dur, N[0])
    theta_ur = jnp.where(rsa, rsa_tur, 0.75 * k * N[1])
    shear_g = jnp.where(rsa, 0.0, 0.5 * F[2])
    pol0_g = jnp.where(rsa, 0.0, y[lay.pol0])
    shear_ur = jnp.where(rsa, 0.0, 0.5 * N[2])
    return jnp.stack([
        met.delta_g - 4.0 * aH * alpha, met.theta_g + k2 * alpha, shear_g, pol0_g,
        y[lay.delta_b] - 3.0 * aH * alpha, y[lay.theta_b] + k2 * alpha,
        y[lay.delta_cdm] - 3.0 * aH * alpha, k2 * alpha,  # theta_cdm = 0 in the synchronous gauge
        delta_ur - 4.0 * aH * alpha, theta_ur + k2 * alpha, shear_ur,
        y[lay.eta] - aH * alpha, met.alpha_prime + aH * alpha,
    ])


def perturbation_history(
    cp: CosmoParams, bg: Background, th: Thermodynamics, prec: Precision, ks, loga,
) -> dict[str, np.ndarray]:
    """Evolve the modes ``ks`` [1/Mpc] and return ``{name: array[n_k, n_t]}`` of
    :data:`HISTORY_VARIABLES` at the times ``loga`` (ln a, ascending, after the start of every
    mode's integration and at most 0), plus ``"loga"``. Diagnostics only (not differentiated)."""
    ks = np.atleast_1d(np.asarray(ks, dtype=float))
    loga = np.asarray(loga, dtype=float)
    if np.any(np.diff(loga) <= 0) or loga[-1] > 0.0:
        raise ValueError("loga must be strictly ascending and <= 0 (today)")
    start = max(initial_loga(float(k), prec.pert_ktau_ini, prec.pert_a_ini_max) for k in ks)
    if loga[0] <= start:
        raise ValueError(f"loga starts at {loga[0]:.3f}, before the start of the integration of these modes "
                         f"(ln a = {start:.3f}): ask for later times")
    grids, index, switches = mode_grids(
        ks, loga, prec.pert_ktau_ini, prec.pert_a_ini_max, prec.pert_dloga, prec.pert_dphase,
        prec.pert_ktau_rsa, prec.pert_z_rsa, prec.pert_ktau_ufa, prec.pert_ktau_ncdmfa,
    )
    table = local_table(bg, th, float(grids[:, 0].min()) - 0.1, prec.pert_table_dloga, cp.cs2_fld)
    lay = _layout(prec, bool(cp.has_fld), cp.N_ncdm)

    @jax.jit
    def run(k, g, i, sw):
        return mode_sources(k, g, i, sw, table, lay, loga, observe=history_variables)

    out = np.stack([np.asarray(run(jnp.asarray(k), jnp.asarray(g), jnp.asarray(i), jnp.asarray(sw)))
                    for k, g, i, sw in zip(ks, grids, index, switches)])
    return {"loga": loga, **{name: out[:, j, :] for j, name in enumerate(HISTORY_VARIABLES)}}
