"""Integration of the perturbation equations of every mode on fixed time grids.

Each mode is integrated in ``ln a`` by the linear L-stable Rosenbrock integrator (RODAS4) of
:mod:`.integrator` on a *fixed* grid: no adaptive step-size control, so the
sources are smooth functions of the cosmological parameters. The grid of a mode
depends only on ``k`` and the precision settings (never on the parameters). It
contains the common source nodes (where sources are stored) and, between them,
as many extra nodes as needed for steps of at most ``d_log`` in ln a and at most
``d_phase`` radians of the free-streaming phase ``k tau`` (counted until
``a_resolve``; later, unresolved radiation oscillations are damped by the
L-stable method, playing the role of CLASS's radiation-streaming approximation).
``tau_fid(a)``, the conformal time of a fiducial radiation+matter universe, is only
used to place nodes. Grids of different modes are padded to the same length with
zero-length steps (exact no-ops) so that modes can be vmapped.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .equations import Layout, derivatives_tau, ncdm_fluid_from_hierarchy
from .initial import adiabatic_initial_conditions
from .integrator import hermite_dense, solve_linear_rosenbrock
from .local import LocalTable
from .sources import source_functions

__all__ = [
    "fiducial_tau", "fiducial_dtau_dloga", "fiducial_loga", "initial_loga", "switch_loga", "mode_grid", "mode_grids", "mode_sources",
    "source_positions",
]

# Fiducial radiation + matter universe for node placement only: a = A tau^2 + B tau.
_H0_FID = 67.36 / 299792.458
_A_FID = _H0_FID**2 * 0.3153 / 4.0
_B_FID = _H0_FID * math.sqrt(9.14e-5)


def fiducial_tau(a: np.ndarray) -> np.ndarray:
    """Conformal time [Mpc] of the fiducial universe at scale factor ``a`` (node placement only)."""
    return (-_B_FID + np.sqrt(_B_FID**2 + 4.0 * _A_FID * a)) / (2.0 * _A_FID)


def fiducial_dtau_dloga(a: np.ndarray) -> np.ndarray:
    """d tau / d ln a [Mpc] of the fiducial universe at scale factor ``a`` (a = A tau^2 + B tau)."""
    return a / (2.0 * _A_FID * fiducial_tau(a) + _B_FID)


def fiducial_loga(tau: np.ndarray) -> np.ndarray:
    """Inverse of :func:`fiducial_tau`: ln a at conformal time ``tau`` [Mpc] (node placement only)."""
    return np.log(_A_FID * tau**2 + _B_FID * tau)


def initial_loga(k: float, ktau_ini: float, a_ini_max: float) -> float:
    """Start of the integration: ``k tau = ktau_ini`` but never after ``a_ini_max``."""
    a_k = _A_FID * (ktau_ini / k) ** 2 + _B_FID * ktau_ini / k
    return math.log(min(a_k, a_ini_max))


def switch_loga(k: float, ktau: float, z_earliest: float = math.inf) -> float:
    """ln a where an approximation of mode ``k`` switches on: ``k tau_fid = ktau``, not before
    ``z_earliest``; ``+1`` (never) when that is after today. Parameter independent."""
    a_k = _A_FID * (ktau / k) ** 2 + _B_FID * ktau / k
    x = max(math.log(a_k), -math.log1p(z_earliest))
    return x if x < 0.0 else 1.0


def mode_grid(
    k: float, source_loga: np.ndarray, loga_ini: float, d_log: float, d_phase: float, loga_rsa: float,
    switches: tuple[float, ...] = (), loga_free: float = math.inf,
    d_log_window: tuple[float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Step nodes of one mode and the fractional positions of ``source_loga`` among them.

    The phase ``k tau`` is resolved until the RSA starts (``loga_rsa``, itself a node);
    the other approximation ``switches`` (ln a) are nodes too. Source nodes up to ``loga_free``
    are nodes of the grid (their positions are integers, the index of the node); later ones
    fall between nodes (position ``n + theta``: see :func:`source_positions`), where the sources
    come from the Hermite interpolant of the state (:func:`.integrator.hermite_dense`).
    ``d_log_window = (x_lo, x_hi, d)``: between ln a = x_lo and x_hi the steps are also at most
    ``d`` in ln a (a finer step through recombination than the sources' own nodes).
    """
    if source_loga[0] <= loga_ini:
        raise ValueError("the first source node must come after the start of the integration")
    forced = source_loga[source_loga <= loga_free]

    def u(x):
        a = np.exp(np.minimum(x, min(loga_rsa, 0.0)))
        out = x / d_log + k * fiducial_tau(a) / d_phase
        if d_log_window is not None:
            x_lo, x_hi, d = d_log_window
            out = out + (np.clip(x, x_lo, x_hi) - x_lo) / d
        return out

    extra = [
        x for x in (loga_rsa, *switches)
        if loga_ini < x < 0.0 and not np.any(np.isclose(forced, x, rtol=0, atol=1e-12))
    ]
    knots = np.unique(np.concatenate([[loga_ini], forced, extra]))
    if knots[-1] < 0.0:
        knots = np.append(knots, 0.0)
    nodes = [knots[:1]]
    for x0, x1 in zip(knots[:-1], knots[1:]):
        m = max(1, int(math.ceil(u(x1) - u(x0) - 1e-9)))
        if m == 1:
            nodes.append(np.array([x1]))
        else:
            xs = np.linspace(x0, x1, 64 * m + 1)
            targets = np.linspace(u(x0), u(x1), m + 1)
            inner = np.interp(targets[1:-1], u(xs), xs)
            nodes.append(np.concatenate([inner, [x1]]))
    grid = np.concatenate(nodes)
    position = source_positions(grid, source_loga)
    assert np.allclose(position[: forced.size], np.round(position[: forced.size]))
    return grid, position


def source_positions(grid: np.ndarray, source_loga: np.ndarray) -> np.ndarray:
    """Fractional positions ``n + theta`` (``grid[n] <= x < grid[n + 1]``, ``theta`` the fraction
    of that step) of the points ``source_loga`` within the ascending ``grid``; a point on a node
    gets the node's index exactly, the last node ``len(grid) - 1``."""
    if source_loga[0] < grid[0] or source_loga[-1] > grid[-1] + 1e-12:
        raise ValueError("source nodes outside the integration grid")
    n = np.clip(np.searchsorted(grid, source_loga, side="right") - 1, 0, len(grid) - 2)
    on_node = np.isclose(grid[n], source_loga, rtol=0.0, atol=1e-12)
    theta = np.where(on_node, 0.0, (source_loga - grid[n]) / (grid[n + 1] - grid[n]))
    at_end = np.isclose(grid[-1], source_loga, rtol=0.0, atol=1e-12)
    return np.where(at_end, len(grid) - 1.0, n + np.clip(theta, 0.0, 1.0))


def mode_grids(
    ks: np.ndarray, source_loga: np.ndarray, ktau_ini: float, a_ini_max: float,
    d_log: float, d_phase: float | np.ndarray, ktau_rsa: float, z_rsa: float, ktau_ufa: float,
    ktau_ncdmfa: float = math.inf, z_free: float = 0.0, d_log_window: tuple[float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grids of all modes padded to a common length (repeated last node), fractional positions
    of the source nodes (:func:`source_positions`; the source nodes at ``z >= z_free`` are grid
    nodes), and the starts (ln a) of the approximations of each mode,
    ``switches[i_k] = (rsa, ufa, ncdmfa)``. ``d_phase`` is one phase step for all modes or one per mode;
    ``d_log_window``: see :func:`mode_grid`."""
    grids, indices, switches = [], [], []
    d_phases = np.broadcast_to(np.asarray(d_phase, dtype=float), np.shape(ks))
    for k, d_phase in zip(ks, d_phases):
        x_rsa = switch_loga(float(k), ktau_rsa, z_rsa)
        x_ufa = switch_loga(float(k), ktau_ufa)
        x_ncdmfa = switch_loga(float(k), ktau_ncdmfa) if math.isfinite(ktau_ncdmfa) else 1.0
        x_ini = initial_loga(float(k), ktau_ini, a_ini_max)
        g, i = mode_grid(float(k), source_loga, x_ini, d_log, float(d_phase), x_rsa, (x_ufa, x_ncdmfa),
                         loga_free=-math.log1p(z_free) + 1e-12, d_log_window=d_log_window)
        grids.append(g)
        indices.append(i)
        switches.append((x_rsa, x_ufa, x_ncdmfa))
    n = max(len(g) for g in grids)
    padded = np.stack([np.concatenate([g, np.full(n - len(g), g[-1])]) for g in grids])
    return padded, np.stack(indices), np.asarray(switches)


def mode_sources(
    k: Float[Array, ""],
    grid: Float[Array, " n_steps"],
    source_position: Float[Array, " n_src"],
    switches: Float[Array, " 3"],
    table: LocalTable,
    lay: Layout,
    source_loga: np.ndarray,
    n_live: Int[Array, ""] | None = None,
    observe=source_functions,
    reverse_save: str = "state",
) -> Float[Array, "n_types n_src"]:
    """Evolve one mode on its grid and return its source functions at the source nodes
    ``source_loga`` (static, common to all modes), which sit at the fractional positions
    ``source_position`` of the grid (:func:`mode_grid`).

    The sources read only the *core* of the state (everything below the l = 3 chains: the
    metric, the fluids, the l <= 2 moments); the integrator returns the core and its derivative
    at both ends of every step, and the sources are evaluated on its cubic Hermite interpolant
    (exact on the grid nodes; between nodes an O(h^4) error, below the integrator's own).

    ``switches = (rsa, ufa, ncdmfa)``: steps starting at or after them (ln a) use the
    radiation-streaming, ultra-relativistic-fluid and massive-neutrino fluid approximations.
    At the ncdm switch the hierarchy is replaced by its fluid moments. ``n_live`` (unbatched):
    only the first ``n_live`` grid nodes are integrated (see :func:`.solve_linear_rosenbrock`).
    ``observe(k, y, loc, lay, rsa, ufa, ncdmfa)`` is what is saved at the source nodes (default:
    the source functions; :mod:`.history` saves the fluid and metric variables instead).
    ``reverse_save``: see :func:`.integrator.solve_linear_rosenbrock`.
    """
    loga_rsa, loga_ufa, loga_ncdmfa = switches[0], switches[1], switches[2]
    y0 = adiabatic_initial_conditions(k, table.at(grid[0]), lay)

    def field(loc, x_step, y):
        return derivatives_tau(k, y, loc, lay, x_step >= loga_rsa, x_step >= loga_ufa, x_step >= loga_ncdmfa)[0] / loc.aH

    def jump(x, x_next, loc_next, y):
        switch = (x < loga_ncdmfa) & (x_next >= loga_ncdmfa)
        return jnp.where(switch, ncdm_fluid_from_hierarchy(k, y, loc_next, lay), y)

    structure = lay.chain_structure()
    core = structure.core_index
    data = solve_linear_rosenbrock(field, y0, grid, None, jump if lay.n_ncdm else None, structure,
        n_live, coefficients=table.at, dense=core, reverse_save=reverse_save)
    y_core = hermite_dense(grid, data, source_position)

    def save(x, y_c):
        y = jnp.zeros(lay.size, y_c.dtype).at[core].set(y_c, unique_indices=True)
        return observe(k, y, table.at(x), lay, x > loga_rsa, x > loga_ufa, x >= loga_ncdmfa)

    return jax.vmap(save, out_axes=1)(jnp.asarray(source_loga), y_core)
