"""Driver of the perturbations stage: modes, grids, vmapped evolution, stored sources."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..background import Background
from ..params import CosmoParams
from ..precision import Precision
from ..thermodynamics import Thermodynamics
from .equations import Layout
from .evolve import mode_grids, mode_sources
from .local import local_table
from .sources import SOURCE_TYPES

__all__ = ["Perturbations", "compute_perturbations", "evolve_in_groups", "source_grid"]


class Perturbations(eqx.Module):
    """Source functions ``sources[i_k, i_type, i_time]`` (types: :data:`SOURCE_TYPES`) of the
    modes ``k`` [1/Mpc] at the times ``loga`` (ln a, ascending). Normalisation: comoving
    curvature R = 1 on super-horizon scales (multiply by sqrt(P_R(k)))."""

    k: Float[Array, " n_k"]
    loga: Float[Array, " n_t"]
    sources: Float[Array, "n_k n_types n_t"]

    def source(self, name: str) -> Float[Array, "n_k n_t"]:
        return self.sources[:, SOURCE_TYPES.index(name), :]


def source_grid(prec: Precision, cmb: bool = False) -> np.ndarray:
    """Common ln a nodes of the stored sources (parameter independent); z = 2 and z = 0
    are nodes. Without ``cmb``: the late universe z <= pk_z_max where P(k, z) is available.
    With ``cmb``: from ``cmb_z_start`` (before recombination), dense through recombination
    and reionization (line-of-sight integrals; also covers P(k, z) for z <= pk_z_max)."""
    if cmb:
        edges = [prec.cmb_z_start, prec.cmb_z_rec_end, prec.cmb_z_reio_start, 2.0, 0.0]
        steps = [prec.cmb_dloga_rec, prec.cmb_dloga_mid, prec.cmb_dloga_reio, prec.pk_dloga]
    else:
        edges, steps = [prec.pk_z_max, 2.0, 0.0], [prec.pk_dloga, prec.pk_dloga]
    pieces = []
    for z_hi, z_lo, step in zip(edges[:-1], edges[1:], steps):
        x_hi, x_lo = -math.log1p(z_hi), -math.log1p(z_lo)
        n = max(1, int(math.ceil((x_lo - x_hi) / step)))
        pieces.append(np.linspace(x_hi, x_lo, n + 1)[(1 if pieces else 0):])
    return np.concatenate(pieces)


def _layout(prec: Precision, fld: bool, n_ncdm: int) -> Layout:
    return Layout(prec.l_max_g, prec.l_max_pol_g, prec.l_max_ur, fld, n_ncdm, prec.ncdm_pert_q_size, prec.l_max_ncdm)


def compute_perturbations(
    cp: CosmoParams, bg: Background, th: Thermodynamics, prec: Precision, ks: np.ndarray, cmb: bool = False,
    d_phase: float | np.ndarray | None = None,
) -> Perturbations:
    """Evolve the modes ``ks`` (static numpy array, 1/Mpc) and return their sources on
    :func:`source_grid` (``cmb``: including recombination, for the C_l).

    The phase step is ``d_phase`` if given (one for all modes, or one per mode), else
    ``pert_dphase`` for CMB sources and ``pk_dphase`` otherwise. Many modes are evolved in up to ``pert_mode_groups`` groups of
    similar grid length (at least 32 modes each; vmapped within a group, groups one after
    the other through a single compiled loop, each stopping at its own longest grid)."""
    ks = np.asarray(ks, dtype=float)
    src = source_grid(prec, cmb)
    if d_phase is None:
        d_phase = prec.pert_dphase if cmb else prec.pk_dphase
    grids, index, switches = mode_grids(
        ks, src, prec.pert_ktau_ini, prec.pert_a_ini_max, prec.pert_dloga, d_phase,
        prec.pert_ktau_rsa, prec.pert_z_rsa, prec.pert_ktau_ufa, prec.pert_ktau_ncdmfa, prec.pert_z_dense,
        (-math.log1p(prec.cmb_z_start), -math.log1p(prec.cmb_z_rec_end), prec.pert_dloga_rec)
        if cmb and prec.pert_dloga_rec > 0.0 else None,
    )
    loga_min = float(grids[:, 0].min()) - 0.1
    table = local_table(bg, th, loga_min, prec.pert_table_dloga, cp.cs2_fld)
    lay = _layout(prec, bool(cp.has_fld), cp.N_ncdm)
    sources = evolve_in_groups(
        ks, grids, index, switches, prec.pert_mode_groups,
        lambda k, g, i, sw, n: mode_sources(k, g, i, sw, table, lay, src, n, reverse_save=prec.pert_reverse_save),
    )
    return Perturbations(k=jnp.asarray(ks), loga=jnp.asarray(src), sources=sources)


def evolve_in_groups(
    ks: np.ndarray, grids: np.ndarray, index: np.ndarray, switches: np.ndarray, n_groups: int, mode_fn,
) -> Float[Array, "n_k n_types n_src"]:
    """Evolve every mode with ``mode_fn(k, grid, source_index, switches, n_live)`` (traced, one mode)
    and return their sources in the order of ``ks``.

    Modes are sorted into up to ``n_groups`` groups of similar grid length (at least 32 modes
    each), every group padded to the same number of modes (repeating its last mode) and
    integrated to its own longest grid by one compiled loop (lax.map over groups, vmap within a
    group; later steps are skipped by a branch). Within a group shorter grids are padded with
    zero-length steps (exact no-ops). Reverse mode keeps one group's step states at a time."""
    n_nodes = np.array([len(np.unique(g)) for g in grids])
    order = np.argsort(n_nodes, kind="stable")
    groups = np.array_split(order, max(1, min(n_groups, len(ks) // 32)))
    size = max(len(g) for g in groups)
    members = np.stack([np.concatenate([g, np.full(size - len(g), g[-1])]) for g in groups])
    n_live = np.array([n_nodes[g].max() for g in groups])
    n_steps = int(n_live.max())

    @jax.checkpoint
    def run_group(args):
        k, g, i, sw, n = args
        return jax.vmap(lambda k, g, i, sw: mode_fn(k, g, i, sw, n))(k, g, i, sw)

    out = jax.lax.map(
        run_group,
        (jnp.asarray(ks[members]), jnp.asarray(grids[members, :n_steps]), jnp.asarray(index[members]),
         jnp.asarray(switches[members]), jnp.asarray(n_live)),
    )
    flat = out.reshape((-1,) + out.shape[2:])
    position = np.empty(len(ks), int)  # row of mode i in ``flat``
    for gi, g in enumerate(groups):
        position[g] = gi * size + np.arange(len(g))
    return flat[position]
