"""Thermodynamics stage: recombination (RECFAST), reionization, optical depth, visibility."""

from .thermodynamics import Thermodynamics, compute_thermodynamics

__all__ = ["Thermodynamics", "compute_thermodynamics"]
