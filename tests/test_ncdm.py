"""Massive neutrinos: the Fermi-Dirac Gauss momenta of the perturbations against the background's
fine quadrature, and the merging of identical species."""

from __future__ import annotations

import numpy as np
import pytest

import cosmo
from cosmo.background.ncdm import fd_gauss_quadrature, fd_integrals, fd_pseudo_pressure, momentum_quadrature


@pytest.mark.parametrize("n", [5, 6, 8])
def test_fd_gauss_rule_is_exact_for_polynomials(n):
    q, w = fd_gauss_quadrature(n)
    qf, wf = momentum_quadrature(400, 60.0)  # weights include 1/(e^q + 1)
    for j in range(2 * n):
        exact = np.sum(wf * qf**2 * qf**j)
        assert abs(np.sum(w * q**j) / exact - 1.0) < 1e-10, j


def test_fd_gauss_rule_reproduces_density_pressure_and_pseudo_pressure():
    q, w = fd_gauss_quadrature(6)
    qf, wf = momentum_quadrature(400, 60.0)
    x = np.logspace(-3, 3, 61)
    # the Gauss weights hold q^2 f0; fd_integrals expects weights of f0 alone
    rho6, p6 = fd_integrals(x, q, w / q**2)
    rho, p = fd_integrals(x, qf, wf)
    pp6, pp = fd_pseudo_pressure(x, q, w / q**2), fd_pseudo_pressure(x, qf, wf)
    # worst in the semi-relativistic regime x ~ 0.3 (measured 3.5e-4, 3.5e-4, 9.5e-4); the
    # perturbations normalise their moments by the same quadrature, so this cancels in
    # delta, theta and sigma. Non-relativistic (x > 10): 2e-7 (pseudo-pressure 8e-6) at x = 10.
    for approx, exact, bound, bound_nr in ((rho6, rho, 5e-4, 3e-7), (p6, p, 5e-4, 3e-7), (pp6, pp, 1.2e-3, 1e-5)):
        err = np.abs(np.asarray(approx) / np.asarray(exact) - 1.0)
        assert err.max() < bound, err.max()
        assert err[x > 10].max() < bound_nr, err[x > 10].max()


def test_identical_species_are_merged():
    three = cosmo.params.resolve({"m_ncdm": [0.05, 0.05, 0.05], "N_ur": 0.00441})
    assert three.N_ncdm == 1 and float(three.deg_ncdm[0]) == 3.0
    mixed = cosmo.params.resolve({"m_ncdm": [0.05, 0.01, 0.05], "N_ur": 0.00441})
    assert mixed.N_ncdm == 2
    np.testing.assert_allclose(np.asarray(mixed.deg_ncdm), [2.0, 1.0])
    np.testing.assert_allclose(np.asarray(mixed.m_ncdm), [0.05, 0.01])
    bg3 = cosmo.solve(three).background
    bg1 = cosmo.solve(cosmo.params.resolve({"m_ncdm": [0.05], "N_ur": 0.00441})).background
    np.testing.assert_allclose(float(bg3.Omega0_ncdm[0]), 3.0 * float(bg1.Omega0_ncdm[0]), rtol=1e-12)
