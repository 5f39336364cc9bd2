"""cosmo: a differentiable Einstein-Boltzmann solver in JAX, validated against CLASS.

Importing the package enables float64 in JAX (the solver needs it everywhere).
Pipeline (mirrors CLASS): params -> background -> thermodynamics (-> perturbations
-> transfer/harmonic -> lensing; later stages).

Functional API: :func:`solve` (jit/grad-able), :func:`derived_parameters`.
classy-compatible facade: :class:`Class`.
"""

import jax

jax.config.update("jax_enable_x64", True)

from .background import Background, compute_background  # noqa: E402
from .facade import Class, CosmoComputationError, CosmoError, CosmoSevereError  # noqa: E402
from .params import CosmoParameterError, CosmoParams, resolve  # noqa: E402
from .precision import PRESETS, Precision, get_precision  # noqa: E402
from .solver import DERIVED_PARAMETERS, Solution, derived_parameters, solve  # noqa: E402
from .thermodynamics import Thermodynamics, compute_thermodynamics  # noqa: E402

__all__ = [
    "Background",
    "Class",
    "CosmoComputationError",
    "CosmoError",
    "CosmoParameterError",
    "CosmoParams",
    "CosmoSevereError",
    "DERIVED_PARAMETERS",
    "PRESETS",
    "Precision",
    "Solution",
    "Thermodynamics",
    "compute_background",
    "compute_thermodynamics",
    "derived_parameters",
    "get_precision",
    "resolve",
    "solve",
]
__version__ = "0.1.0"
