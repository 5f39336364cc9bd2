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
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jax.lax.linalg import tridiagonal_solve
from jaxtyping import Array, Float

__all__ = ["ChainStructure", "ChainFactor", "chain_factor", "chain_solve"]


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


class ChainFactor(NamedTuple):
    """Factorisation of ``E``: LU of the Schur complement on the core, the tridiagonal chain
    block, ``E_NN^-1 e_first`` of every chain and the chain-parent couplings."""

    lu: tuple[Array, Array]
    tridiagonal: tuple[Array, Array, Array]
    v: Array
    a_fp: Array
    a_pf: Array


def chain_factor(E: Float[Array, "n n"], st: ChainStructure) -> ChainFactor:
    """Factorise ``E`` (dense, with the chain structure) for :func:`chain_solve`."""
    pos = st.positions()
    core, chain = st.core_index, st.chain_index
    d = E[chain, chain]
    dl = E[chain[1:], chain[:-1]]
    du = E[chain[:-1], chain[1:]]
    dl = jnp.concatenate([jnp.zeros(1, E.dtype), dl]).at[pos["first"]].set(0.0)
    du = jnp.concatenate([du, jnp.zeros(1, E.dtype)]).at[pos["last"]].set(0.0)
    parent = core[pos["parent"]]
    first = chain[pos["first"]]
    a_fp = E[first, parent]
    a_pf = E[parent, first]
    unit = jnp.zeros((chain.size, 1), E.dtype).at[pos["first"], 0].set(1.0)
    v = tridiagonal_solve(dl, d, du, unit)[:, 0]  # E_NN^-1 e_first(c), chain by chain
    S = E[core[:, None], core[None, :]].at[pos["parent"], pos["parent"]].add(-a_pf * a_fp * v[pos["first"]])
    return ChainFactor(jsl.lu_factor(S), (dl, d, du), v, a_fp, a_pf)


def chain_solve(fac: ChainFactor, b: Float[Array, " n"], st: ChainStructure) -> Float[Array, " n"]:
    """Solve ``E x = b`` with the factorisation of :func:`chain_factor`."""
    lu, (dl, d, du), v, a_fp, a_pf = fac
    pos = st.positions()
    core, chain = st.core_index, st.chain_index
    y_N = tridiagonal_solve(dl, d, du, b[chain][:, None])[:, 0]
    r_X = b[core].at[pos["parent"]].add(-a_pf * y_N[pos["first"]])
    x_X = jsl.lu_solve(lu, r_X)
    x_N = y_N - (x_X[pos["parent"]] * a_fp)[pos["chain_of"]] * v
    return jnp.zeros_like(b).at[core].set(x_X).at[chain].set(x_N)
