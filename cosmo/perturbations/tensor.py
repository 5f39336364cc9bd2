"""Tensor modes (primordial gravitational waves): equations, initial conditions, sources.

Flat space, CLASS conventions (``perturbations.c``, tensor part; Tram & Lesgourgues 2013 for
the photon hierarchy). One Fourier mode ``k`` [1/Mpc] of the transverse-traceless metric
perturbation ``h`` (either polarisation; they evolve identically), with
``h'' + 2 (a'/a) h' + k^2 h = S_h``, where the anisotropic stress of the free-streaming and
photon gas enters as

    S_h = -4 sqrt(6) a^2 [rho_g (F_0/15 + 2 F_2/21 + F_4/35) + rho_rel (N_0/15 + 2 N_2/21 + N_4/35)]

(densities in units where ``H^2 = sum rho`` [1/Mpc^2]). ``F_l``, ``G_l`` are the photon
temperature and polarisation multipoles of the tensor hierarchy, ``N_l`` those of the
massless neutrinos; massive neutrinos follow CLASS's default ``tensor_method = massless``:
their relativistic part joins the neutrino hierarchy, ``rho_rel = rho_ur + 3 sum p_ncdm``.
Free streaming is the scalar one (``k/(2l+1) [l F_(l-1) - (l+1) F_(l+1)]``, Ma & Bertschinger
closure at ``l_max``); Thomson scattering damps every multipole and feeds back through

    sqrt(6) P = -(F_0/10 + F_2/7 + 3 F_4/70 - 3 G_0/5 + 6 G_2/7 - 3 G_4/70):
    F_0' += -kappa' (F_0 + sqrt(6) P) + sqrt(6) h',   G_0' += -kappa' (G_0 - sqrt(6) P),
    N_0' += sqrt(6) h'.

No tight-coupling approximation (the L-stable integrator takes the stiff Thomson terms, as for
the scalars); after the radiation-streaming switch the photons are dropped (``P = 0``, no photon
stress), as CLASS. The tensor modes are integrated with the free-streaming phase ``k tau``
resolved until today: ``h`` itself oscillates inside the horizon and its derivative is the
late-time source.

Normalisation: ``h = 1/sqrt(6)`` on super-horizon scales (CLASS ``gw_ini = 1``), so that with the
primordial spectrum ``P_h = r A_s (k/k_pivot)^n_t`` of :func:`cosmo.primordial.primordial_tensor`,
``C_l = 4 pi int dk/k P_h Delta_l^2``. Sources (:data:`TENSOR_SOURCE_TYPES`):

* ``t2 = -h' exp(-kappa) + g P`` (radial function ``sqrt(3/8 (l+2)!/(l-2)!) j_l(x)/x^2``),
* ``p = sqrt(6) g P`` (E and B polarisation; radial functions in :mod:`cosmo.transfer.tensor`).
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ..background import Background
from ..params import CosmoParams
from ..precision import Precision
from ..thermodynamics import Thermodynamics
from .chains import ChainStructure
from .equations import _free_streaming
from .evolve import initial_loga, mode_grid, switch_loga
from .integrator import solve_linear_rosenbrock
from .local import Local, LocalTable, local_table
from .perturbations import Perturbations, evolve_in_groups

__all__ = [
    "TENSOR_SOURCE_TYPES", "TensorLayout", "tensor_derivatives", "tensor_initial_conditions", "tensor_sources",
    "tensor_mode_grids", "compute_tensor_perturbations",
]

#: Order of the tensor source types.
TENSOR_SOURCE_TYPES: tuple[str, ...] = ("t2", "p")

_SQRT6 = math.sqrt(6.0)


@dataclasses.dataclass(frozen=True)
class TensorLayout:
    """State of one tensor mode: ``[h, h', F(0..l_max_g), G(0..l_max_pol_g), N(0..l_max_ur)]``."""

    l_max_g: int = 16
    l_max_pol_g: int = 16
    l_max_ur: int = 30

    gw = 0
    gw_prime = 1
    g0 = 2

    def __post_init__(self):
        if min(self.l_max_g, self.l_max_pol_g, self.l_max_ur) < 5:
            raise ValueError("the tensor hierarchies need l_max >= 5 (the stress and P read l = 4)")

    @property
    def pol0(self) -> int:
        return self.g0 + self.l_max_g + 1

    @property
    def ur0(self) -> int:
        return self.pol0 + self.l_max_pol_g + 1

    @property
    def size(self) -> int:
        return self.ur0 + self.l_max_ur + 1

    def chain_structure(self) -> ChainStructure:
        """Multipoles ``l >= 5`` of each hierarchy are tridiagonal chains (``l <= 4`` enter the
        stress and ``P``, so they stay in the core)."""
        return ChainStructure(self.size, (
            (self.g0 + 5, self.l_max_g - 4), (self.pol0 + 5, self.l_max_pol_g - 4), (self.ur0 + 5, self.l_max_ur - 4),
        ))


def _sqrt6_P(F, G):
    """sqrt(6) P of the tensor photon hierarchy (CLASS ``P2``, times sqrt(6))."""
    return -(F[0] / 10.0 + F[2] / 7.0 + 3.0 * F[4] / 70.0 - 0.6 * G[0] + 6.0 * G[2] / 7.0 - 3.0 * G[4] / 70.0)


def _rho_relativistic(loc: Local):
    """Energy density of the free-streaming gas in the neutrino hierarchy (CLASS massless approximation)."""
    return loc.rho_ur + 3.0 * jnp.sum(loc.p_ncdm)


def tensor_derivatives(
    k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: TensorLayout, rsa=False
) -> Float[Array, " n"]:
    """d/dtau of one tensor mode (``rsa``: traced boolean, photons dropped)."""
    hp = y[lay.gw_prime]
    F = y[lay.g0 : lay.pol0]
    G = y[lay.pol0 : lay.ur0]
    N = y[lay.ur0 :]
    dk = loc.dkappa
    s6p = _sqrt6_P(F, G)
    dF = _free_streaming(k, F, loc.tau) - dk * F
    dF = dF.at[0].add(-dk * s6p + _SQRT6 * hp)
    dG = _free_streaming(k, G, loc.tau) - dk * G
    dG = dG.at[0].add(dk * s6p)
    dN = _free_streaming(k, N, loc.tau).at[0].add(_SQRT6 * hp)
    stress_g = jnp.where(rsa, 0.0, loc.rho_g * (F[0] / 15.0 + 2.0 * F[2] / 21.0 + F[4] / 35.0))
    stress_n = _rho_relativistic(loc) * (N[0] / 15.0 + 2.0 * N[2] / 21.0 + N[4] / 35.0)
    source = -4.0 * _SQRT6 * loc.a**2 * (stress_g + stress_n)
    hpp = -2.0 * loc.aH * hp - k * k * y[lay.gw] + source
    photons = jnp.where(rsa, 0.0, jnp.concatenate([dF, dG]))
    return jnp.concatenate([jnp.stack([hp, hpp]), photons, dN])


def tensor_initial_conditions(k: Float[Array, ""], loc: Local, lay: TensorLayout) -> Float[Array, " n"]:
    """Super-horizon growing mode ``h = 1/sqrt(6)`` with CLASS's ``(k tau)^2`` correction (which sets
    ``h'`` at order ``k tau``) and the matching neutrino quadrupole ``N_0 = sqrt(6) dh``."""
    rho_r = loc.rho_g + loc.rho_ur + jnp.sum(loc.rho_ncdm)  # massive neutrinos are relativistic here
    rho_fs = _rho_relativistic(loc)
    h0 = 1.0 / _SQRT6
    dh = -h0 * (k * loc.tau) ** 2 / (6.0 + 1.6 * rho_fs / rho_r)
    y = jnp.zeros(lay.size)
    y = y.at[lay.gw].set(h0 + dh)
    y = y.at[lay.gw_prime].set(2.0 * dh / loc.tau)
    return y.at[lay.ur0].set(_SQRT6 * dh)


def tensor_sources(
    k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: TensorLayout, rsa=False
) -> Float[Array, " 2"]:
    """The sources ``(t2, p)`` of one mode at one time (:data:`TENSOR_SOURCE_TYPES`)."""
    F = y[lay.g0 : lay.pol0]
    G = y[lay.pol0 : lay.ur0]
    s6p = jnp.where(rsa, 0.0, _sqrt6_P(F, G))
    t2 = -y[lay.gw_prime] * loc.exp_m_kappa + loc.g * s6p / _SQRT6
    return jnp.stack([t2, loc.g * s6p])


def tensor_mode_grids(
    ks: np.ndarray, source_loga: np.ndarray, prec: Precision
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step grids of the tensor modes (the phase ``k tau`` resolved with ``tensor_dphase`` until
    today, the source nodes and the radiation-streaming switch among the nodes), padded to one
    length; source indices; the switch (ln a) of every mode."""
    grids, indices, switches = [], [], []
    for k in ks:
        x_rsa = switch_loga(float(k), prec.pert_ktau_rsa, prec.pert_z_rsa)
        x_ini = initial_loga(float(k), prec.pert_ktau_ini, prec.pert_a_ini_max)
        g, i = mode_grid(float(k), source_loga, x_ini, prec.pert_dloga, prec.tensor_dphase, 0.0, (x_rsa,))
        grids.append(g)
        indices.append(i)
        switches.append((x_rsa,))
    n = max(len(g) for g in grids)
    padded = np.stack([np.concatenate([g, np.full(n - len(g), g[-1])]) for g in grids])
    return padded, np.stack(indices), np.asarray(switches)


def _tensor_mode(
    k: Float[Array, ""], grid: Float[Array, " n_steps"], source_index: Int[Array, " n_src"],
    switches: Float[Array, " 1"], table: LocalTable, lay: TensorLayout, n_live: Int[Array, ""] | None = None,
) -> Float[Array, "2 n_src"]:
    loga_rsa = switches[0]
    y0 = tensor_initial_conditions(k, table.at(grid[0]), lay)

    def field(loc, x_step, y):
        return tensor_derivatives(k, y, loc, lay, x_step >= loga_rsa) / loc.aH

    def save(x, loc, y):
        return tensor_sources(k, y, loc, lay, x > loga_rsa)

    sources = solve_linear_rosenbrock(field, y0, grid, save, None, lay.chain_structure(), n_live, coefficients=table.at)
    return sources[jnp.round(source_index).astype(int)].T  # every source node is a grid node


def compute_tensor_perturbations(
    cp: CosmoParams, bg: Background, th: Thermodynamics, prec: Precision, ks: np.ndarray, source_loga: np.ndarray
) -> Perturbations:
    """Evolve the tensor modes ``ks`` [1/Mpc] (static) and return their sources
    (:data:`TENSOR_SOURCE_TYPES`) at the ln a nodes ``source_loga`` (static, ascending)."""
    ks = np.asarray(ks, dtype=float)
    source_loga = np.asarray(source_loga, dtype=float)
    grids, index, switches = tensor_mode_grids(ks, source_loga, prec)
    table = local_table(bg, th, float(grids[:, 0].min()) - 0.1, prec.pert_table_dloga, cp.cs2_fld)
    lay = TensorLayout(prec.tensor_l_max_g, prec.tensor_l_max_pol_g, prec.tensor_l_max_ur)
    sources = evolve_in_groups(
        ks, grids, index, switches, prec.pert_mode_groups,
        lambda k, g, i, sw, n: _tensor_mode(k, g, i, sw, table, lay, n),
    )
    return Perturbations(k=jnp.asarray(ks), loga=jnp.asarray(source_loga), sources=sources)
