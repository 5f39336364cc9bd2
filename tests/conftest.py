"""Shared fixtures: stored CLASS references and a cache of solved cosmologies.

Compilation dominates run time (one XLA compile per model structure), so every
test reuses the session-wide cache of solutions.
"""

from __future__ import annotations

import functools
import os
import pathlib

import pytest

import cosmo
from cosmo.oracle.compare import load_reference
from cosmo.oracle.cosmologies import COSMOLOGIES

REFERENCE_DIR = pathlib.Path(__file__).parent / "reference"
#: Real data for the likelihood tests: $COSMO_DATA_DIR, else ../shared/data beside the repository.
DATA_DIR = pathlib.Path(os.environ.setdefault(
    "COSMO_DATA_DIR", str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")))
# The `cosmo` CLI keeps compiled programs in ~/.cache; tests calling it in-process must not
# write there (a test that wants the cache passes its own directory).
os.environ.setdefault("COSMO_JAX_CACHE", "off")
requires_data = pytest.mark.skipif(
    not DATA_DIR.is_dir(), reason=f"no data directory at {DATA_DIR} (set COSMO_DATA_DIR; `cosmo data install`)")


@functools.cache
def reference(model: str = "recfast"):
    return load_reference(REFERENCE_DIR / f"bg_thermo_{model}.npz")


@functools.cache
def solved(name: str, prec: str = "default") -> cosmo.Solution:
    return cosmo.solve(COSMOLOGIES[name], prec)


@pytest.fixture(scope="session")
def recfast_reference():
    return reference("recfast")


@pytest.fixture(scope="session")
def hyrec_reference():
    return reference("hyrec")


def classy_available() -> bool:
    try:
        import classy  # noqa: F401
    except ImportError:
        return False
    return True


requires_classy = pytest.mark.skipif(not classy_available(), reason="classy (CLASS) is not installed")
