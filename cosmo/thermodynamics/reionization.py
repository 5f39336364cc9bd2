"""CLASS's tanh reionization (``reio_camb``) and the tau_reio -> z_reio root-find.

Hydrogen (and He I) reionize with a tanh in ``y = (1+z)^{3/2}``:

    x_e = (x_after - x_before) (1 + tanh(arg)) / 2 + x_before
    arg = ((1+z_reio)^{3/2} - (1+z)^{3/2}) / (3/2 (1+z_reio)^{1/2}) / width

with ``x_after = 1 + f_He``, plus the second helium reionization, a tanh in ``z``
centred on ``helium_fullreio_redshift`` adding ``f_He``. ``x_before`` is the
freeze-out fraction from recombination. CLASS applies the tanh only below
``z_reio + 8 width``; we apply it everywhere (the difference is < 1e-7 in x_e and
keeps x_e smooth in z_reio).

``tau_reio`` is, as in CLASS, the Thomson optical depth from today back to the
global minimum of x_e(z). Given ``tau_reio``, ``z_reio`` is the root of
``tau(z_reio) = tau_reio`` found with Newton's method by optimistix, differentiated
with the implicit-function theorem (no gradient flows through the iterations).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, Float

from ..interpolation import hermite_uniform

#: Upper end of the reionization window (CLASS reionization_z_start_max).
Z_REIO_START_MAX = 50.0


class ReionizationModel(eqx.Module):
    """Parameters of the tanh reionization history."""

    fHe: Float[Array, ""]
    width: Float[Array, ""]
    exponent: Float[Array, ""]
    he_redshift: Float[Array, ""]
    he_width: Float[Array, ""]

    def x_e(self, z: Float[Array, "..."], z_reio: Float[Array, ""], x_before: Float[Array, "..."]) -> Float[Array, "..."]:
        """Free-electron fraction n_e / n_H including reionization."""
        p = self.exponent
        arg = ((1.0 + z_reio) ** p - (1.0 + z) ** p) / (p * (1.0 + z_reio) ** (p - 1.0)) / self.width
        x_after = 1.0 + self.fHe
        x = (x_after - x_before) * 0.5 * (jnp.tanh(arg) + 1.0) + x_before
        return x + self.fHe * 0.5 * (jnp.tanh((self.he_redshift - z) / self.he_width) + 1.0)


class OpticalDepthGrid(eqx.Module):
    """Uniform z grid on [0, Z_REIO_START_MAX] with Gauss nodes for the tau integral."""

    z_nodes: Float[Array, "n m"]
    weights: Float[Array, " m"]
    dkappa_dz_per_x: Float[Array, "n m"]  #: (1+z)^2 n_H0 sigma_T / H  [per unit x_e]
    dkappa_dz_per_x_knots: Float[Array, " n1"]
    x_before_nodes: Float[Array, "n m"]
    x_before_knots: Float[Array, " n1"]
    dz: float = eqx.field(static=True)


def optical_depth(
    model: ReionizationModel, grid: OpticalDepthGrid, z_reio: Float[Array, ""]
) -> Float[Array, ""]:
    """Reionization optical depth: int_0^{z_min} dkappa/dz dz, z_min = argmin x_e (CLASS's definition)."""
    n = grid.z_nodes.shape[0]
    knots = grid.dz * jnp.arange(n + 1)
    x_knots = model.x_e(knots, z_reio, grid.x_before_knots)
    integrand_knots = grid.dkappa_dz_per_x_knots * x_knots
    pieces = jnp.sum(grid.weights * grid.dkappa_dz_per_x * model.x_e(grid.z_nodes, z_reio, grid.x_before_nodes), axis=1)
    cumulative = jnp.concatenate([jnp.zeros(1), jnp.cumsum(pieces)])
    # global minimum of x_e on the knots, refined by a parabola through its neighbours
    i = jnp.clip(jnp.argmin(x_knots[1:-1]) + 1, 1, n - 1)
    y0, y1, y2 = x_knots[i - 1], x_knots[i], x_knots[i + 1]
    denom = y0 - 2.0 * y1 + y2
    shift = jnp.clip(0.5 * (y0 - y2) / jnp.where(denom > 0, denom, 1.0), -1.0, 1.0)
    z_min = knots[i] + shift * grid.dz
    slope = integrand_knots
    return hermite_uniform(z_min, 0.0, grid.dz, cumulative, slope)


def solve_z_reio(
    model: ReionizationModel, grid: OpticalDepthGrid, tau_reio: Float[Array, ""], z_guess: float = 8.0
) -> Float[Array, ""]:
    """z_reio such that the optical depth equals ``tau_reio`` (implicit-function gradient)."""

    def residual(z, args):
        return optical_depth(model, grid, z) - tau_reio

    sol = optx.root_find(
        residual,
        optx.Newton(rtol=1e-11, atol=1e-11),
        jnp.asarray(z_guess),
        max_steps=64,
        adjoint=optx.ImplicitAdjoint(),
    )
    return sol.value


def gauss_nodes(n_intervals: int, dz: float, order: int = 3) -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(order)
    left = dz * np.arange(n_intervals)
    return left[:, None] + 0.5 * dz * (t[None, :] + 1.0), 0.5 * dz * w
