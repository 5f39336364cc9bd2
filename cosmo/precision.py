"""Precision settings: one hashable set of static numbers passed down the pipeline.

Every number here changes the sampling of a grid or the order of a quadrature,
never the physics. Grids are fixed (parameter independent), so outputs are smooth
functions of the cosmological parameters: no adaptive step-size control.
Presets: ``"default"`` (meets the accuracy targets against CLASS) and ``"fast"``
(for exploration; its accuracy is measured in CHANGELOG.md).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Precision:
    """Static precision parameters (hashable, usable as a ``jax.jit`` static arg)."""

    #: Earliest scale factor of the background tables (CLASS: a_ini_over_a_today_default).
    a_ini: float = 1.0e-14
    #: Number of intervals of the uniform ln(a) background grid.
    background_intervals: int = 1200
    #: Gauss-Legendre nodes per background interval for the cumulative integrals.
    background_gauss_nodes: int = 4
    #: Gauss-Legendre nodes for the massive-neutrino momentum integrals on [0, q_max].
    ncdm_q_size: int = 64
    ncdm_q_max: float = 60.0
    #: Step of the fixed thermodynamics grid in ln(1+z) during and before recombination.
    thermo_dlnz_early: float = 2.0e-3
    #: Step in ln(1+z) below thermo_z_late (after recombination, reionization).
    thermo_dlnz_late: float = 5.0e-3
    thermo_z_late: float = 400.0
    #: Number of uniform-in-z samples for the reionization optical depth integral (z < 50).
    reio_samples: int = 2001


PRESETS: dict[str, Precision] = {
    "default": Precision(),
    "fast": Precision(
        background_intervals=600,
        background_gauss_nodes=3,
        ncdm_q_size=32,
        thermo_dlnz_early=5.0e-3,
        thermo_dlnz_late=1.0e-2,
        reio_samples=801,
    ),
}


def get_precision(prec: Precision | str | None) -> Precision:
    """Return a :class:`Precision` from an instance, a preset name or ``None`` (default)."""
    if prec is None:
        return PRESETS["default"]
    if isinstance(prec, Precision):
        return prec
    try:
        return PRESETS[prec]
    except KeyError:
        raise ValueError(f"unknown precision preset {prec!r}; available: {sorted(PRESETS)}") from None
