"""Input validation, CLASS defaults and the translation to classy inputs."""

import jax.numpy as jnp
import numpy as np
import pytest

import cosmo
from cosmo.params import DEFAULTS, resolve, to_classy


def test_defaults_are_class_defaults():
    cp = resolve({})
    assert float(cp.h) == DEFAULTS["h"] == 0.67810
    assert float(cp.N_ur) == 3.044
    assert cp.N_ncdm == 0
    assert cp.YHe_from_bbn
    assert cp.reio_parametrised_by == "z_reio" and float(cp.reio_input) == 7.6711


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"omega_bb": 0.02}, "unknown parameter"),
        ({"omega_b": -0.01}, "omega_b"),
        ({"omega_cdm": -0.1}, "omega_cdm"),
        ({"h": 3.0}, "[0.2, 1.5]"),
        ({"H0": 10.0}, "H0"),
        ({"N_ncdm": 2, "m_ncdm": [0.06]}, "N_ncdm"),
        ({"N_ncdm": 1}, "m_ncdm"),
        ({"m_ncdm": [0.06], "T_ncdm": [0.7, 0.7]}, "T_ncdm"),
        ({"tau_reio": 0.05, "z_reio": 8.0}, "tau_reio"),
        ({"h": 0.7, "H0": 70.0}, "H0"),
        ({"YHe": "foo"}, "YHe"),
        ({"tau_reio": 0.9}, "tau_reio"),
        ({"recombination": "cosmorec"}, "recombination"),
        ({"Omega_k": 0.9}, "Omega_k"),
    ],
)
def test_bad_input_names_parameter_and_range(params, fragment):
    with pytest.raises(cosmo.CosmoParameterError) as err:
        resolve(params)
    assert fragment in str(err.value)


def test_alternative_input_names_agree():
    a = resolve({"h": 0.7, "omega_b": 0.0224, "A_s": 2.1e-9})
    b = resolve({"H0": 70.0, "Omega_b": 0.0224 / 0.49, "ln10^{10}A_s": float(np.log(21.0))})
    assert np.isclose(float(a.h), float(b.h))
    assert np.isclose(float(a.omega_b), float(b.omega_b))
    assert np.isclose(float(a.A_s), float(b.A_s), rtol=1e-12)


def test_ncdm_lists_accept_classy_strings_and_arrays():
    for m in ("0.02,0.05", [0.02, 0.05], jnp.array([0.02, 0.05])):
        cp = resolve({"m_ncdm": m})
        assert cp.N_ncdm == 2
        np.testing.assert_allclose(np.asarray(cp.m_ncdm), [0.02, 0.05])
        np.testing.assert_allclose(np.asarray(cp.T_ncdm), [0.71611, 0.71611])


def test_to_classy_switches_to_fluid_and_formats_lists():
    out = to_classy({"w0_fld": -0.9, "m_ncdm": [0.05, 0.05], "recombination": "recfast"})
    assert out["Omega_Lambda"] == 0.0
    assert out["m_ncdm"] == "0.05,0.05" and out["N_ncdm"] == 2
    assert out["recombination"] == "RECFAST"
