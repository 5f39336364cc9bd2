"""The solver's fundamental constants (CLASS's CODATA 2006 values) against CODATA 2018."""

import math

import pytest

from cosmo import constants as const


@pytest.mark.parametrize("name", sorted(const.CODATA2018))
def test_constants_agree_with_codata2018(name):
    """Every constant is the measured one to its CODATA 2006 uncertainty (< 2e-6 relative), so
    a typo cannot hide behind the choice of CLASS's values."""
    assert getattr(const, name) == pytest.approx(const.CODATA2018[name], rel=2e-6)


def test_stefan_boltzmann_is_derived_from_k_h_c():
    assert const.sigma_B_SI == pytest.approx(
        2.0 * math.pi**5 * const.k_B_SI**4 / (15.0 * const.h_P_SI**3 * const.c_SI**2), rel=1e-14
    )
