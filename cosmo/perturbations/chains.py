"""Linear solves with ``E = I / (h gamma) - J`` exploiting the structure of Boltzmann hierarchies.

Above ``l = 2`` every hierarchy (photon temperature and polarisation, massless neutrinos,
each momentum of each massive-neutrino species) is a *chain*: its rows are tridiagonal in
``l`` and touch the rest of the state only through the chain's first row (``l = 3``, which
reads ``l = 2``) and the row of its parent (``l = 2``, which reads ``l = 3``). The metric,
the fluids and the collision terms only involve ``l <= 2``. Ordering the state into the
*core* ``X`` (everything not in a chain) and the chains ``N``,

    E = [[E_XX, E_XN], [E_NX, E_NN]],   E_NN tridiagonal,
    E_NX = sum_c a_fp[c] e_first(c) e_parent(c)^T,   E_XN = sum_c a_pf[c] e_parent(c) e_first(c)^T,

and the Schur complement ``S = E_XX - E_XN E_NN^-1 E_NX`` differs from ``E_XX`` only on the
diagonal entries of the parents: ``S[p_c, p_c] -= a_pf[c] a_fp[c] (E_NN^-1)[f_c, f_c]``.
So one dense LU of the small core (13 rows for LCDM instead of ~100) and tridiagonal solves
replace the dense LU of the whole state. ``E_NN^-1 e_first`` of every chain comes from one
tridiagonal solve (the chains are decoupled). Exact up to rounding (no approximation).

The same structure makes the Jacobian cheap (:func:`structured_jacobian`): a linear field
applied to ``n_core + 3`` probe vectors (every core column alone; the chain columns grouped
by their index modulo 3, which never share a row) gives every nonzero entry exactly, instead
of ``n`` columns one by one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jaxtyping import Array, Float

__all__ = ["ChainStructure", "ChainFactor", "chain_factor", "chain_factor_from_probes", "chain_solve", "structured_jacobian"]


@dataclasses.dataclass(frozen=True)
class ChainStructure:
    """Static index sets of the chains ``(start, length)`` of a state of size ``n``; each chain's
    parent is the entry just before its start."""

    n: int
    chains: tuple[tuple[int, int], ...]

    def __post_init__(self):
        seen = np.zeros(self.n, bool)
        for start, length in self.chains:
            if start < 1 or length < 1 or start + length > self.n or seen[start : start + length].any():
                raise ValueError(f"invalid or overlapping chain ({start}, {length}) in a state of size {self.n}")
            seen[start : start + length] = True
        if any(seen[start - 1] for start, _ in self.chains):
            raise ValueError("a chain's parent (the entry before its start) must not belong to a chain")

    @property
    def chain_index(self) -> np.ndarray:
        return np.concatenate([np.arange(s, s + m) for s, m in self.chains]) if self.chains else np.zeros(0, int)

    @property
    def core_index(self) -> np.ndarray:
        return np.setdiff1d(np.arange(self.n), self.chain_index)

    def positions(self) -> dict[str, np.ndarray]:
        """Positions inside the core/chain vectors: parents in the core, firsts and lasts in the
        chain vector, and the chain number of every chain entry."""
        core = self.core_index
        where = {int(i): j for j, i in enumerate(core)}
        lengths = np.array([m for _, m in self.chains], int)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
        return {
            "parent": np.array([where[s - 1] for s, _ in self.chains], int),
            "first": offsets,
            "last": offsets + lengths - 1,
            "chain_of": np.repeat(np.arange(len(self.chains)), lengths),
        }


    def probes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Probe matrix ``P`` (``n x (n_core + 3)``) and the static pattern ``(rows, cols,
        probe)`` of the Jacobian's nonzeros: ``J[rows, cols] = (J P)[rows, probe]`` exactly."""
        core, chain = self.core_index, self.chain_index
        n_core = core.size
        color = np.empty(self.n, int)
        color[core] = np.arange(n_core)
        color[chain] = n_core + chain % 3
        n_probe = n_core + (3 if chain.size else 0)
        P = np.zeros((self.n, n_probe))
        P[np.arange(self.n), color] = 1.0
        rows = [np.repeat(np.arange(self.n), n_core)]
        cols = [np.tile(core, self.n)]
        for start, length in self.chains:
            for j in range(start, start + length):
                for r in (j - 1, j, j + 1):
                    if r < start + length:
                        rows.append(np.array([r]))
                        cols.append(np.array([j]))
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        return P, rows, cols, color[cols]


def structured_jacobian(
    field: Callable[[Float[Array, " n"]], Float[Array, " n"]], st: ChainStructure, dtype=jnp.float64,
) -> Float[Array, "n n"]:
    """Dense Jacobian of the *linear* map ``field`` whose nonzeros have the chain structure,
    from ``n_core + 3`` evaluations (exact up to rounding: each entry on the pattern is the only
    nonzero term of its probe sum)."""
    P, rows, cols, probe = st.probes()
    JP = jax.vmap(field, in_axes=1, out_axes=1)(jnp.asarray(P, dtype))
    return jnp.zeros((st.n, st.n), dtype).at[rows, cols].set(JP[rows, probe])


class ChainFactor(NamedTuple):
    """Factorisation of ``E``: LU of the Schur complement on the core; the chains padded to
    ``(n_chains, L)`` with their Thomas factorisation (``pivot``, ``mult``, ``upper``);
    ``E_NN^-1 e_first`` of every chain; the chain-parent couplings."""

    lu: tuple[Array, Array]
    pivot: Array
    mult: Array
    upper: Array
    v: Array
    a_fp: Array
    a_pf: Array


def _padded(st: ChainStructure) -> tuple[np.ndarray, np.ndarray]:
    """State index of entry ``j`` of chain ``c`` as ``(n_chains, L)`` (``st.n`` = padding) and
    its mask."""
    L = max(m for _, m in st.chains)
    idx = np.full((len(st.chains), L), st.n, int)
    for c, (start, m) in enumerate(st.chains):
        idx[c, :m] = np.arange(start, start + m)
    return idx, idx < st.n


def _thomas_factor(dl, d, du):
    """Tridiagonal LU without pivoting along the last axis (``dl[..., 0]`` and ``du[..., -1]``
    ignored). Stable here: the chains' off-diagonals have opposite signs, so every pivot is at
    least the diagonal entry, which is positive (``1/(h gamma)`` plus damping rates)."""

    def body(p_prev, x):
        dl_j, d_j, du_prev = x
        m = dl_j / p_prev
        p = d_j - m * du_prev
        return p, (p, m)

    du_prev = jnp.concatenate([jnp.zeros_like(du[..., :1]), du[..., :-1]], axis=-1)
    xs = (jnp.moveaxis(dl, -1, 0), jnp.moveaxis(d, -1, 0), jnp.moveaxis(du_prev, -1, 0))
    _, (p, m) = jax.lax.scan(body, jnp.ones_like(d[..., 0]), xs)
    return jnp.moveaxis(p, 0, -1), jnp.moveaxis(m, 0, -1).at[..., 0].set(0.0)


def _thomas_solve(pivot, mult, upper, b):
    """Solve with the factors of :func:`_thomas_factor` (forward then backward sweep)."""

    def fwd(z_prev, x):
        m, b_j = x
        z = b_j - m * z_prev
        return z, z

    def bwd(x_next, x):
        p, u, z = x
        xj = (z - u * x_next) / p
        return xj, xj

    zero = jnp.zeros_like(b[..., 0])
    _, z = jax.lax.scan(fwd, zero, (jnp.moveaxis(mult, -1, 0), jnp.moveaxis(b, -1, 0)))
    _, x = jax.lax.scan(bwd, zero, (jnp.moveaxis(pivot, -1, 0), jnp.moveaxis(upper, -1, 0), z), reverse=True)
    return jnp.moveaxis(x, 0, -1)


def _factor(E_XX, dl, d, du, a_fp, a_pf, st: ChainStructure) -> ChainFactor:
    """Common factorisation from the blocks: core ``E_XX`` (core order), padded chain
    diagonals ``(n_chains, L)`` (padding: ``d = 1``, ``dl = du = 0``) and the couplings."""
    pivot, mult = _thomas_factor(dl, d, du)
    unit = jnp.zeros_like(d).at[:, 0].set(1.0)
    v = _thomas_solve(pivot, mult, du, unit)  # E_NN^-1 e_first(c), chain by chain
    parent = st.positions()["parent"]
    S = E_XX.at[parent, parent].add(-a_pf * a_fp * v[:, 0])
    return ChainFactor(jsl.lu_factor(S), pivot, mult, du, v, a_fp, a_pf)


def chain_factor(E: Float[Array, "n n"], st: ChainStructure) -> ChainFactor:
    """Factorise ``E`` (dense, with the chain structure) for :func:`chain_solve`."""
    idx, mask = _padded(st)
    core = st.core_index
    Ep = jnp.pad(E, ((0, 1), (0, 1)))  # index n: padding
    nxt = np.where(mask[:, 1:], idx[:, 1:], st.n)
    d = jnp.where(mask, Ep[idx, idx], 1.0)
    du = jnp.concatenate([Ep[idx[:, :-1], nxt], jnp.zeros_like(d[:, :1])], axis=1)
    dl = jnp.concatenate([jnp.zeros_like(d[:, :1]), Ep[nxt, idx[:, :-1]]], axis=1)
    first = idx[:, 0]
    parent = first - 1
    return _factor(E[core[:, None], core[None, :]], dl, d, du, E[first, parent], E[parent, first], st)


def chain_factor_from_probes(
    JP: Float[Array, "n n_probe"], shift: Float[Array, ""], st: ChainStructure,
) -> ChainFactor:
    """Factorise ``E = shift I - J`` from the probed Jacobian ``JP = J P`` of
    :meth:`ChainStructure.probes` (no dense ``n x n`` matrix is formed)."""
    idx, mask = _padded(st)
    core = st.core_index
    n_core = core.size
    color = np.empty(st.n + 1, int)
    color[core] = np.arange(n_core)
    chain = st.chain_index
    color[chain] = n_core + chain % 3
    color[st.n] = 0
    JPp = jnp.pad(JP, ((0, 1), (0, 0)))  # row n: padding (zeros)
    nxt = np.where(mask[:, 1:], idx[:, 1:], st.n)
    d = jnp.where(mask, shift - JPp[idx, color[idx]], 1.0)
    du = jnp.concatenate([-JPp[idx[:, :-1], color[nxt]] * mask[:, 1:], jnp.zeros_like(d[:, :1])], axis=1)
    dl = jnp.concatenate([jnp.zeros_like(d[:, :1]), -JPp[nxt, color[idx[:, :-1]]] * mask[:, 1:]], axis=1)
    first = idx[:, 0]
    parent = first - 1
    E_XX = shift * jnp.eye(n_core, dtype=JP.dtype) - JP[core, :n_core]
    return _factor(E_XX, dl, d, du, -JP[first, color[parent]], -JP[parent, color[first]], st)


def chain_solve(fac: ChainFactor, b: Float[Array, " n"], st: ChainStructure) -> Float[Array, " n"]:
    """Solve ``E x = b`` with the factorisation of :func:`chain_factor`."""
    lu, pivot, mult, upper, v, a_fp, a_pf = fac
    idx, mask = _padded(st)
    parent = st.positions()["parent"]
    core = st.core_index
    y_N = _thomas_solve(pivot, mult, upper, jnp.append(b, 0.0)[idx])
    r_X = b[core].at[parent].add(-a_pf * y_N[:, 0])
    x_X = jsl.lu_solve(lu, r_X)
    x_N = y_N - (x_X[parent] * a_fp)[:, None] * v
    return jnp.zeros(st.n + 1, b.dtype).at[core].set(x_X).at[idx[mask]].set(x_N[mask])[: st.n]
