"""inference: gradient-based sampling of cosmological parameters (to come).

Will hold NUTS/HMC runs (numpyro and blackjax), MAP fits (optax), ArviZ output,
resumable chains, multi-GPU execution and the YAML-driven CLI (``cosmo sample``).
It talks to the solver only through the Theory protocol of ``likelihoods``.
"""
