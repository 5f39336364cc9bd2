"""``100*theta_s`` as an input instead of h: value, CLASS agreement, implicit derivative, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import cosmo
from cosmo.oracle.cosmologies import COSMOLOGIES
from cosmo.precision import get_precision
from cosmo.shooting import h_from_theta_s

from .conftest import reference


def without_h(name: str) -> dict:
    return {k: v for k, v in COSMOLOGIES[name].items() if k != "h"}


@pytest.mark.slow  # default suite: planck2018's h by the gradient test (h_from_theta_s, which cosmo.solve
#                   calls), the solved theta_s through cosmo.Class by the facade test
@pytest.mark.parametrize("name", ["planck2018", "mnu_0p15", "w0wa"])
def test_h_from_class_theta_s(name):
    """CLASS's derived 100*theta_s as input gives back the h CLASS was run with (our theta_s
    matches CLASS's to 1.2e-6, and d ln theta_s / d ln h ~ 0.2)."""
    theta_class = float(reference("recfast")[1][name]["derived/100*theta_s"])
    sol = cosmo.solve({**without_h(name), "100*theta_s": theta_class})
    assert abs(float(sol.background.h) / COSMOLOGIES[name]["h"] - 1) < 1e-5
    # and the solution is exactly self-consistent
    assert abs(float(sol.thermo.theta_s_100) - theta_class) < 1e-10


def _theta_s_point():
    """planck2018 without h at CLASS's derived 100*theta_s: the inputs (100 theta_s, omega_b,
    omega_cdm) and a function of them giving the other parameters."""
    base = without_h("planck2018")
    theta_class = float(reference("recfast")[1]["planck2018"]["derived/100*theta_s"])
    x0 = jnp.array([theta_class, base["omega_b"], base["omega_cdm"]])
    return x0, lambda x: {**base, "100*theta_s": x[0], "omega_b": x[1], "omega_cdm": x[2]}


def _assert_matches_central_differences(jac, observables, x0):
    """``jac[i, j]`` = d observables_i / d x_j against central finite differences (1e-4)."""
    steps = (2e-5, 2e-6, 2e-5)
    for j, dx in enumerate(steps):
        fd = (np.asarray(observables(x0.at[j].add(dx))) - np.asarray(observables(x0.at[j].add(-dx)))) / (2 * dx)
        for i in range(jac.shape[0]):
            assert abs(jac[i, j] / fd[i] - 1.0) < 1e-4, (i, j, jac[i, j], fd[i])


def test_h_gradient_matches_finite_differences():
    """dh/d(100 theta_s, omega_b, omega_cdm): the implicit-function derivative of the shooting
    (reverse mode through :func:`cosmo.shooting.h_from_theta_s`, the step :func:`cosmo.solve`
    takes for a theta_s input) vs central finite differences of the h it finds (1e-4 relative);
    first, h = CLASS's input h (1e-5) at CLASS's derived theta_s. One compiled program
    (``value_and_grad``) gives both the values and the gradient. Derivatives of everything else
    with respect to h are tested in test_gradients.py; the chain through the whole solve is the
    slow test."""
    x0, params = _theta_s_point()
    prec = get_precision("default")
    h_and_grad = jax.jit(jax.value_and_grad(lambda x: h_from_theta_s(cosmo.resolve(params(x)), prec)[0].h))
    h0, grad = h_and_grad(x0)
    assert abs(float(h0) / COSMOLOGIES["planck2018"]["h"] - 1) < 1e-5
    _assert_matches_central_differences(np.asarray(grad)[None], lambda x: h_and_grad(x)[0][None], x0)


@pytest.mark.slow
def test_theta_s_gradients_match_finite_differences():
    """d(h, rs_d, D_A(z=1), z_star)/d(100 theta_s, omega_b, omega_cdm) through the whole solve."""
    x0, params = _theta_s_point()

    def observables(x):
        sol = cosmo.solve(params(x))
        return jnp.stack([sol.background.h, sol.thermo.rs_d, sol.background.angular_distance(1.0), sol.thermo.z_star])

    # one reverse-mode program (a weighted sum) evaluated per output: no vmap of the custom VJP
    grad = jax.jit(jax.grad(lambda x, w: jnp.dot(w, observables(x))))
    jac = np.stack([np.asarray(grad(x0, jnp.eye(4)[i])) for i in range(4)])
    _assert_matches_central_differences(jac, observables, x0)


def test_unreachable_theta_s_gives_nan_not_an_exception():
    """No h in [0.2, 1.5] gives 100*theta_s = 0.6: every output is NaN (a sampler's -inf)."""
    sol = cosmo.solve({**without_h("planck2018"), "100*theta_s": 0.6})
    assert np.isnan(float(sol.background.h)) and np.isnan(float(sol.thermo.rs_d))


def test_theta_s_input_errors_name_the_parameter():
    base = without_h("planck2018")
    with pytest.raises(cosmo.CosmoParameterError, match=r"'100\*theta_s' = 3.0 is outside the allowed range"):
        cosmo.resolve({**base, "100*theta_s": 3.0})
    with pytest.raises(cosmo.CosmoParameterError, match="give only one of"):
        cosmo.resolve({**base, "100*theta_s": 1.04, "h": 0.67})
    with pytest.raises(cosmo.CosmoParameterError, match="'Omega_b' needs h"):
        cosmo.resolve({**{k: v for k, v in base.items() if k != "omega_b"}, "Omega_b": 0.05, "theta_s_100": 1.04})


def test_facade_accepts_theta_s_like_classy():
    M = cosmo.Class()
    M.set({**without_h("planck2018"), "100*theta_s": 1.0411})
    M.compute()
    assert abs(M.theta_s_100() - 1.0411) < 1e-10
    assert 0.6 < M.h() < 0.75
