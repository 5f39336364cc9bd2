"""likelihoods: JAX log-likelihoods of real CMB and BAO data (to come).

Planck 2018 plik_lite (TT, TTTEEE) and low-l TT, Planck/ACT/SPT lensing, SPT-3G 2018
and DESI BAO, as pure functions ``log_likelihood(theory, params)`` of theory spectra
and background quantities. Never imports ``cosmo`` internals (Theory protocol only).
"""
