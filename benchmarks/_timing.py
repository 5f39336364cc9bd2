"""Shared timing helper of the benchmark scripts."""

from __future__ import annotations

import statistics
import time

import jax


def median_time(fn, repeat: int) -> float:
    """Median wall time [s] of ``fn()`` over ``repeat`` calls, waiting for JAX's results."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
