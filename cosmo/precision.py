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

    # ---- perturbations (see cosmo/perturbations/evolve.py for the grids)
    #: Hierarchy truncation of photon temperature, polarisation and massless neutrinos.
    l_max_g: int = 30
    l_max_pol_g: int = 30
    l_max_ur: int = 30
    #: Start of each mode: k tau = pert_ktau_ini, but not after a = pert_a_ini_max.
    pert_ktau_ini: float = 0.01
    pert_a_ini_max: float = 1.0e-6
    #: Largest step in ln a, and largest step in free-streaming phase k tau [rad].
    pert_dloga: float = 0.05
    pert_dphase: float = 0.3
    #: Radiation-streaming approximation from k tau = pert_ktau_rsa, not before z = pert_z_rsa.
    pert_ktau_rsa: float = 100.0
    pert_z_rsa: float = 200.0
    #: Spacing of the background/thermodynamics table read by the integrator.
    pert_table_dloga: float = 2.0e-3

    # ---- linear matter power spectrum
    #: Modes per decade of k for P(k) and sigma8, on [pk_k_min, pk_k_max] [1/Mpc].
    pk_per_decade: int = 20
    pk_k_min: float = 1.0e-5
    pk_k_max: float = 10.0
    #: P(k, z) is stored for z <= pk_z_max on a ln a grid of spacing pk_dloga.
    pk_z_max: float = 10.0
    pk_dloga: float = 0.02


PRESETS: dict[str, Precision] = {
    "default": Precision(),
    "fast": Precision(
        background_intervals=600,
        background_gauss_nodes=3,
        ncdm_q_size=32,
        thermo_dlnz_early=5.0e-3,
        thermo_dlnz_late=1.0e-2,
        reio_samples=801,
        l_max_g=17,
        l_max_pol_g=17,
        l_max_ur=17,
        pk_per_decade=10,
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
