"""Reverse-mode gradients of derived quantities against central finite differences.

Target (foundation issue): d(100 theta_s, z_star, rs_d, D_A) / d(omega_b, omega_cdm, h, m_ncdm)
agree to 1e-4 relative. Root-finds (z_reio from tau_reio, z_star, z_d, z_rec) are
differentiated implicitly; one cosmology with a massive neutrino covers all four inputs.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cosmo
from cosmo.oracle.cosmologies import COSMOLOGIES

BASE = COSMOLOGIES["mnu_0p15"]
NAMES = ("omega_b", "omega_cdm", "h", "m_ncdm")
STEPS = {"omega_b": 2e-6, "omega_cdm": 2e-5, "h": 1e-4, "m_ncdm": 5e-4}
OUTPUTS = ("100*theta_s", "z_star", "rs_d", "D_A(z=1)")


@jax.jit
def observables(x):
    params = dict(BASE, omega_b=x[0], omega_cdm=x[1], h=x[2], m_ncdm=x[3:4])
    sol = cosmo.solve(params)
    th = sol.thermo
    return jnp.stack([th.theta_s_100, th.z_star, th.rs_d, sol.background.angular_distance(1.0)])


def test_gradients_match_finite_differences():
    x0 = jnp.array([BASE["omega_b"], BASE["omega_cdm"], BASE["h"], BASE["m_ncdm"][0]])
    # one compiled program for the Jacobian (jit of jacrev: the file took 135 s, 170 s without)
    jac = np.asarray(jax.jit(jax.jacrev(observables))(x0))
    assert np.isfinite(jac).all()
    for j, name in enumerate(NAMES):
        dx = STEPS[name]
        fd = (np.asarray(observables(x0.at[j].add(dx))) - np.asarray(observables(x0.at[j].add(-dx)))) / (2 * dx)
        for i, out in enumerate(OUTPUTS):
            assert abs(jac[i, j] / fd[i] - 1.0) < 1e-4, (out, name, jac[i, j], fd[i])


HYREC_BASE = dict(COSMOLOGIES["planck2018"], recombination="hyrec")


@jax.jit
def hyrec_observables(x):
    th = cosmo.solve(dict(HYREC_BASE, omega_b=x[0], omega_cdm=x[1]), "fast").thermo
    return jnp.stack([th.theta_s_100, th.z_star, th.rs_d, th.z_d])


@pytest.mark.slow
def test_hyrec_gradients_match_finite_differences():
    """The HyRec rates (tabulated effective rates, SWIFT correction, blended switches) differentiate
    like RECFAST's: d(100 theta_s, z_star, rs_d, z_d) / d(omega_b, omega_cdm) to 1e-4."""
    x0 = jnp.array([HYREC_BASE["omega_b"], HYREC_BASE["omega_cdm"]])
    jac = np.asarray(jax.jit(jax.jacrev(hyrec_observables))(x0))
    assert np.isfinite(jac).all()
    for j, dx in enumerate((2e-6, 2e-5)):
        fd = (np.asarray(hyrec_observables(x0.at[j].add(dx))) - np.asarray(hyrec_observables(x0.at[j].add(-dx)))) / (2 * dx)
        assert np.all(np.abs(jac[:, j] / fd - 1.0) < 1e-4), (j, jac[:, j], fd)


def test_hyrec_rates_differentiate_like_finite_differences():
    """The HyRec rate functions (table interpolation, SWIFT correction, Pion blend, Peebles branch,
    helium freeze-out) against central differences in every state variable, from z = 2500 to 20
    (the whole-solver check above is in ``-m slow``: its reverse-mode compile takes ~3 min)."""
    from cosmo.thermodynamics import hyrec, recfast

    tab = hyrec.hyrec_tables()
    hc = hyrec.HyRecCosmology(ocbh2=jnp.asarray(0.1424), obh2=jnp.asarray(0.02237), YHe=jnp.asarray(0.2454),
                              Neff=jnp.asarray(3.044), T_cmb=jnp.asarray(2.7255))
    fHe, nH0 = 0.0813, 0.1906  # n_H today [m^-3]

    def rates(y, z):
        x_H, x_He, D = y
        Trad = 2.7255 * (1.0 + z)
        H = 2.18e-18 * jnp.sqrt(0.3153 * (1.0 + z) ** 3 * (1.0 + (1.0 + z) / 3400.0))
        st = recfast.RecombinationState(z=z, nH=nH0 * (1.0 + z) ** 3, Hz=H, Tmat=Trad + D, Trad=Trad, fHe=fHe)
        return jnp.stack([hyrec.dxH_dz(x_H, x_H + fHe * x_He, st, hc, tab), hyrec.dxHe_dz(x_He, x_H, st)])

    states = [(2500.0, 0.99999, 0.6, -3e-3), (1700.0, 0.999, 2e-3, -4e-3), (1100.0, 0.15, 2e-4, -0.02),
              (800.0, 3.5e-3, 1e-5, -1.8), (660.0, 1.3e-3, 1e-5, -7.0), (300.0, 4e-4, 1e-5, -50.0),
              (20.0, 2e-4, 1e-5, -45.0)]
    for z, *y in states:
        y = jnp.asarray(y)
        jac = np.asarray(jax.jacfwd(rates)(y, jnp.asarray(z)))
        for j in range(3):
            v = float(y[j])
            h = 1e-5 * (min(abs(v), abs(1.0 - v)) if j < 2 else abs(v))  # x_H near 1: steps of 1 - x_H
            fd = (np.asarray(rates(y.at[j].add(h), z)) - np.asarray(rates(y.at[j].add(-h), z))) / (2 * h)
            scale = np.abs(fd) + 1e-3 * np.abs(np.asarray(rates(y, z))) / abs(float(y[j])) + 1e-300
            assert np.all(np.abs(jac[:, j] - fd) <= 1e-5 * scale + 1e-12 * np.abs(jac[:, j]).max()), (z, j, jac[:, j], fd)
