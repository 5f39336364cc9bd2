"""Background stage: Friedmann equation, times, distances, sound horizon (see ``background.py``)."""

from .background import Background, compute_background, sin_K
from .equality import Equality, matter_radiation_equality

__all__ = ["Background", "Equality", "compute_background", "matter_radiation_equality", "sin_K"]
