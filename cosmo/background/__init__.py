"""Background stage: Friedmann equation, times, distances, sound horizon (see ``background.py``)."""

from .background import Background, compute_background, sin_K

__all__ = ["Background", "compute_background", "sin_K"]
