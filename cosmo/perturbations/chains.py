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

The same structure makes the Jacobian cheap (:meth:`ChainStructure.probes`): a linear field
applied to ``n_core + 3`` probe vectors (every core column alone; the chain columns grouped
by their index modulo 3, which never share a row) gives every nonzero entry exactly, instead
of ``n`` columns one by one, and :func:`chain_factor` reads the blocks straight from them.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
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

    @property
    def parent_position(self) -> np.ndarray:
        """Position of every chain's parent in the core vector."""
        return np.searchsorted(self.core_index, np.array([s - 1 for s, _ in self.chains], int))

    def colors(self) -> np.ndarray:
        """Probe of every state entry: core entries one each, chain entries by index mod 3;
        ``colors()[n] = 0`` serves the padding index ``n`` of :meth:`padded`."""
        core, chain = self.core_index, self.chain_index
        color = np.zeros(self.n + 1, int)
        color[core] = np.arange(core.size)
        color[chain] = core.size + chain % 3
        return color

    def probes(self) -> np.ndarray:
        """Probe matrix ``P`` (``n x (n_core + 3)``): ``J P`` holds every nonzero of ``J``, entry
        ``J[r, c]`` at ``(J P)[r, colors()[c]]`` (no two columns of a probe share a row)."""
        color = self.colors()[: self.n]
        P = np.zeros((self.n, self.core_index.size + 3))
        P[np.arange(self.n), color] = 1.0
        return P

    def padded(self) -> tuple[np.ndarray, np.ndarray]:
        """State index of entry ``j`` of chain ``c`` as ``(n_chains, L)`` (``n`` = padding) and
        its mask."""
        L = max(m for _, m in self.chains)
        idx = np.full((len(self.chains), L), self.n, int)
        for c, (start, m) in enumerate(self.chains):
            idx[c, :m] = np.arange(start, start + m)
        return idx, idx < self.n


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


def chain_factor(JP: Float[Array, "n n_probe"], shift: Float[Array, ""], st: ChainStructure) -> ChainFactor:
    """Factorise ``E = shift I - J`` for :func:`chain_solve` from the probed Jacobian
    ``JP = J P`` (``P = st.probes()``); no dense ``n x n`` matrix is formed."""
    idx, mask = st.padded()
    core = st.core_index
    color = st.colors()
    JPp = jnp.pad(JP, ((0, 1), (0, 0)))  # row n: padding (zeros)
    nxt = np.where(mask[:, 1:], idx[:, 1:], st.n)
    d = jnp.where(mask, shift - JPp[idx, color[idx]], 1.0)
    du = jnp.concatenate([-JPp[idx[:, :-1], color[nxt]] * mask[:, 1:], jnp.zeros_like(d[:, :1])], axis=1)
    dl = jnp.concatenate([jnp.zeros_like(d[:, :1]), -JPp[nxt, color[idx[:, :-1]]] * mask[:, 1:]], axis=1)
    first = idx[:, 0]
    a_fp, a_pf = -JP[first, color[first - 1]], -JP[first - 1, color[first]]
    pivot, mult = _thomas_factor(dl, d, du)
    v = _thomas_solve(pivot, mult, du, jnp.zeros_like(d).at[:, 0].set(1.0))  # E_NN^-1 e_first(c)
    parent = st.parent_position
    S = (shift * jnp.eye(core.size, dtype=JP.dtype) - JP[core, : core.size]).at[parent, parent].add(-a_pf * a_fp * v[:, 0])
    return ChainFactor(jsl.lu_factor(S), pivot, mult, du, v, a_fp, a_pf)


def chain_solve(fac: ChainFactor, b: Float[Array, " n"], st: ChainStructure) -> Float[Array, " n"]:
    """Solve ``E x = b`` with the factorisation of :func:`chain_factor`."""
    lu, pivot, mult, upper, v, a_fp, a_pf = fac
    idx, mask = st.padded()
    parent = st.parent_position
    core = st.core_index
    y_N = _thomas_solve(pivot, mult, upper, jnp.append(b, 0.0)[idx])
    r_X = b[core].at[parent].add(-a_pf * y_N[:, 0])
    x_X = jsl.lu_solve(lu, r_X)
    x_N = y_N - (x_X[parent] * a_fp)[:, None] * v
    out = jnp.zeros(st.n + 1, b.dtype).at[core].set(x_X, unique_indices=True)
    return out.at[idx[mask]].set(x_N[mask], unique_indices=True)[: st.n]
