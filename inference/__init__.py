"""inference: gradient-based sampling of cosmological parameters.

NUTS/HMC runs (numpyro and blackjax, :mod:`inference.samplers`), MAP fits with optax
(:mod:`inference.bestfit`), ArviZ and GetDist output, resumable chains, multi-device sharding,
YAML run configurations (:mod:`inference.config`), the ``cosmo`` command line
(:mod:`inference.cli`) and the validation report against CLASS (:mod:`inference.validate`).
It talks to the solver only through the Theory protocol of :mod:`likelihoods`.
"""
