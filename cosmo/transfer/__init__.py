"""Line-of-sight transfer functions (Bessel tables, time integrals of the sources)."""

from .bessel import BesselTable, bessel_table
from .transfer import (
    Transfer,
    cmb_modes,
    cmb_perturbations,
    cmb_source_modes,
    compute_transfer,
    l_sampling,
    lensing_k_grid,
    lensing_modes,
    transfer_k_grid,
)

__all__ = [
    "BesselTable", "bessel_table", "Transfer", "cmb_modes", "cmb_perturbations", "cmb_source_modes",
    "compute_transfer", "l_sampling", "lensing_k_grid", "lensing_modes", "transfer_k_grid",
]
