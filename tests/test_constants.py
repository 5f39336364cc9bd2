"""The solver's fundamental constants (CLASS's CODATA 2006 values) against CODATA 2018."""

import pytest

from cosmo import constants as const


@pytest.mark.parametrize("name", sorted(const.CODATA2018))
def test_constants_agree_with_codata2018(name):
    """Every constant is the measured one to its CODATA 2006 uncertainty (< 2e-6 relative), so
    a typo cannot hide behind the choice of CLASS's values."""
    assert getattr(const, name) == pytest.approx(const.CODATA2018[name], rel=2e-6)

