"""The structured stage solver of the perturbation integrator (core LU + tridiagonal hierarchies):
exactness on random matrices of that structure, and the structure of the real Jacobians."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

import cosmo
from cosmo.perturbations.chains import ChainStructure, chain_factor, chain_solve
from cosmo.perturbations.equations import Layout, derivatives_tau
from cosmo.perturbations.local import local_table
from cosmo.precision import get_precision


def structured_matrix(st: ChainStructure, rng) -> np.ndarray:
    E = np.zeros((st.n, st.n))
    core = st.core_index
    E[np.ix_(core, core)] = rng.normal(size=(core.size, core.size)) + 5.0 * np.eye(core.size)
    for start, length in st.chains:
        for i in range(start, start + length):
            E[i, i] = 4.0 + rng.normal()
            if i > start:
                E[i, i - 1] = rng.normal()
            if i < start + length - 1:
                E[i, i + 1] = rng.normal()
        E[start, start - 1], E[start - 1, start] = rng.normal(size=2)
    return E


def test_chain_solve_is_exact():
    """E = shift I - J factorised from the n_core + 3 probes J P (no dense matrix) solves E x = b."""
    rng = np.random.default_rng(1)
    st = ChainStructure(40, ((4, 5), (10, 3), (14, 6), (21, 1), (23, 17)))
    E = structured_matrix(st, rng)
    b = rng.normal(size=40)
    P = st.probes()
    assert P.shape[1] == st.core_index.size + 3
    shift = 7.0
    J = shift * np.eye(40) - E
    fac = chain_factor(jnp.asarray(J @ P), jnp.asarray(shift), st)
    x = chain_solve(fac, jnp.asarray(b), st)
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(E, b), rtol=0, atol=1e-13)


def test_perturbation_jacobians_have_the_chain_structure():
    """Every entry of dy'/dy outside the core block, the tridiagonal chains and the chain-parent
    couplings is exactly zero, in every approximation regime (with massive neutrinos and PPF)."""
    params = {"m_ncdm": [0.06, 0.1], "N_ur": 1.0176, "w0_fld": -0.9, "wa_fld": -0.1}
    cp = cosmo.params.resolve(params)
    prec = get_precision("fast")
    sol = cosmo.solve(cp, prec)
    table = local_table(sol.background, sol.thermo, -12.0, prec.pert_table_dloga)
    lay = Layout(12, 10, 9, True, cp.N_ncdm, 4, 8)
    st = lay.chain_structure()
    allowed = np.zeros((lay.size, lay.size), bool)
    core, chain = st.core_index, st.chain_index
    allowed[np.ix_(core, core)] = True
    for start, length in st.chains:
        for i in range(start, start + length):
            allowed[i, max(i - 1, start - 1) : min(i + 2, start + length)] = True
        allowed[start - 1, start] = True
    assert chain.size > core.size
    for loga, k in ((-9.0, 0.05), (-6.9, 0.2), (-1.0, 0.01)):
        loc = table.at(jnp.asarray(loga))
        for flags in itertools.product([False, True], repeat=3):
            J = jax.jacfwd(lambda y: derivatives_tau(jnp.asarray(k), y, loc, lay, *flags)[0])(jnp.zeros(lay.size))
            J = np.asarray(J)
            assert np.all(J[~allowed] == 0.0), (loga, k, flags, np.argwhere((J != 0) & ~allowed)[:5])
            # the integrator's path: probes -> structured factorisation -> solve, against a dense solve
            field = lambda y: derivatives_tau(jnp.asarray(k), y, loc, lay, *flags)[0]  # noqa: E731
            JP = jax.vmap(field, in_axes=1, out_axes=1)(jnp.asarray(st.probes()))
            shift = 1.0 / (0.25 * 0.01)
            b = np.random.default_rng(2).normal(size=lay.size)
            x = np.asarray(chain_solve(chain_factor(JP, jnp.asarray(shift), st), jnp.asarray(b), st))
            np.testing.assert_allclose(x, np.linalg.solve(shift * np.eye(lay.size) - J, b), rtol=1e-9, atol=1e-12)
