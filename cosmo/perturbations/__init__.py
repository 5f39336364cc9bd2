"""Perturbations stage: linear Einstein-Boltzmann equations (synchronous gauge) for a set
of wavenumbers, and their source functions on a common time grid.

Modules: :mod:`.local` (background/thermodynamics at one time and their table),
:mod:`.equations` (the vector field, with the radiation-streaming approximation),
:mod:`.initial` (adiabatic initial conditions), :mod:`.integrator` (linear L-stable
Rosenbrock, RODAS4), :mod:`.evolve` (fixed per-mode grids), :mod:`.sources` (source functions).
"""

from .perturbations import Perturbations, compute_perturbations, source_grid
from .sources import SOURCE_TYPES

__all__ = ["Perturbations", "compute_perturbations", "source_grid", "SOURCE_TYPES"]
