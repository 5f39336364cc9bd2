"""Shared fixtures: stored CLASS references and a cache of solved cosmologies.

Compilation dominates run time (one XLA compile per model structure), so every
test reuses the session-wide cache of solutions.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
import pathlib
import shutil
import tempfile

import pytest

#: Compiled XLA programs are shared by the test processes of one run through JAX's persistent
#: cache (both xdist workers, and every test file, compile the same solver programs; compilation
#: is most of the suite's time): a fresh directory per run unless $COSMO_TEST_JAX_CACHE names a
#: persistent one (or "off"). JAX does not cache programs with host callbacks, which equinox's
#: runtime checks (``eqx.error_if``, diffrax/optimistix failures) are in its default "raise"
#: mode; the suite runs them in "nan" mode, the sampler's semantics (no test relies on a runtime
#: raise). Both must be set before equinox is imported and before the first compilation.
os.environ.setdefault("EQX_ON_ERROR", "nan")
TEST_JAX_CACHE = "COSMO_TEST_JAX_CACHE"
_OWNED_CACHE: list[str] = []


def pytest_configure(config):
    """The controller makes the run's cache directory before the xdist workers start (they
    inherit it through the environment); nothing is compiled before this hook."""
    import jax

    if not os.environ.get(TEST_JAX_CACHE) and not hasattr(config, "workerinput"):
        os.environ[TEST_JAX_CACHE] = tempfile.mkdtemp(prefix="cosmo-test-jax-cache-")
        _OWNED_CACHE.append(os.environ[TEST_JAX_CACHE])
    if os.environ.get(TEST_JAX_CACHE, "off").lower() not in ("", "0", "off", "none"):
        jax.config.update("jax_compilation_cache_dir", os.environ[TEST_JAX_CACHE])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    _register_compile_log()


#: $COSMO_TEST_COMPILE_LOG names a file to which every tracing, lowering and XLA compilation (or
#: persistent-cache load) of the run is appended as "seconds<TAB>stage<TAB>program<TAB>test": which
#: tests compile what, and for how long (``sort -rn`` it). The suite's time is mostly compilation;
#: this is how to find the programs that tests could share.
COMPILE_LOG = "COSMO_TEST_COMPILE_LOG"
_COMPILE_STAGES = {"/jax/core/compile/jaxpr_trace_duration": "trace",
                   "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
                   "/jax/core/compile/backend_compile_duration": "compile"}


def _log_compile(event: str, duration: float, fun_name: str = "?", **_) -> None:
    if event in _COMPILE_STAGES and duration >= 0.5:
        test = os.environ.get("PYTEST_CURRENT_TEST", "(collection)").rsplit(" ", 1)[0]
        with open(os.environ[COMPILE_LOG], "a") as log:
            log.write(f"{duration:.1f}\t{_COMPILE_STAGES[event]}\t{fun_name}\t{test}\n")


def _register_compile_log() -> None:
    if os.environ.get(COMPILE_LOG):
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(_log_compile)


def pytest_unconfigure(config):
    for path in _OWNED_CACHE:
        shutil.rmtree(path, ignore_errors=True)


import cosmo  # noqa: E402  (after the settings above)
from cosmo.oracle.compare import load_reference  # noqa: E402
from cosmo.oracle.cosmologies import COSMOLOGIES  # noqa: E402

REFERENCE_DIR = pathlib.Path(__file__).parent / "reference"
#: Real data for the likelihood tests: $COSMO_DATA_DIR, else ../shared/data beside the repository.
DATA_DIR = pathlib.Path(os.environ.setdefault(
    "COSMO_DATA_DIR", str(pathlib.Path(__file__).resolve().parents[2] / "shared" / "data")))
# The `cosmo` CLI keeps compiled programs in ~/.cache; tests calling it in-process must not
# write there (a test that wants the cache passes its own directory).
os.environ.setdefault("COSMO_JAX_CACHE", "off")
requires_data = pytest.mark.skipif(
    not DATA_DIR.is_dir(), reason=f"no data directory at {DATA_DIR} (set COSMO_DATA_DIR; `cosmo data install`)")


#: Test files, longest first (the default suite on 2 cores, measured 2026-11-30; the rest follow
#: in collection order). xdist (``--dist loadfile --no-loadscope-reorder``, scripts/test.sh)
#: hands a worker the next file as it frees up, so the longest start first and short ones fill
#: the end; xdist's own order (files with the most tests first) left a 7-minute one-test file
#: for last, on one worker while the other sat idle.
LONGEST_FIRST = (
    "test_planck_smoothness.py",  # CI's second step (-m "smoothness or cl_gradient"): 16 min, then 11 + 6
    "test_inference.py", "test_cl_gradients.py", "test_perturbations.py", "test_tensors.py",
    "test_curvature.py", "test_validate.py", "test_theta_s.py", "test_transfer.py", "test_gradients.py",
    "test_thermodynamics.py", "test_cl.py", "test_chains.py", "test_lensing.py", "test_halofit.py",
    "test_presets_and_robustness.py", "test_cli.py", "test_likelihoods.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order within a file kept


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """After each test file, drop the in-memory compiled programs and hand the freed heap back
    to the system. Each worker would otherwise keep every program it ever compiled (7-10 GB
    per worker by the end of the suite, measured), and two workers compiling reverse-mode
    programs on top of that exhausted the 24 GB of a CI machine. A later file needing the same
    program re-traces it and loads the compiled code from the run's persistent cache."""
    yield
    import jax

    jax.clear_caches()
    gc.collect()
    _malloc_trim()


def _malloc_trim() -> None:
    libc = ctypes.util.find_library("c")
    if libc:
        try:
            ctypes.CDLL(libc).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


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
