"""The CLASS oracle: named reference cosmologies and helpers that run classy.

Nothing in the solver imports this package; tests, validation and the main job do.
``classy`` is imported lazily (it is a test/validation dependency).
"""

from .cosmologies import COSMOLOGIES, PLANCK2018

__all__ = ["COSMOLOGIES", "PLANCK2018"]
