"""cosmo: a differentiable Einstein-Boltzmann solver in JAX, validated against CLASS.

Importing the package enables float64 in JAX (the solver needs it everywhere).
Pipeline (mirrors CLASS): params -> background -> thermodynamics -> (perturbations
-> transfer/harmonic -> lensing; later stages).
"""

import jax

jax.config.update("jax_enable_x64", True)

from .background import Background, compute_background  # noqa: E402
from .params import CosmoParameterError, CosmoParams, resolve  # noqa: E402
from .precision import PRESETS, Precision, get_precision  # noqa: E402

__all__ = [
    "Background",
    "CosmoParameterError",
    "CosmoParams",
    "PRESETS",
    "Precision",
    "compute_background",
    "get_precision",
    "resolve",
]
__version__ = "0.1.0"
