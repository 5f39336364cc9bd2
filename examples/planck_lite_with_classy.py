"""Notebook-style example: Planck 2018 plik_lite on CLASS spectra at the Planck 2018 best fit.

Run it as a script (``python examples/planck_lite_with_classy.py``) or paste the cells into
a notebook. Needs the data (``cosmo data install planck2018_plik_lite planck2018_lowl_TT_bins``,
or ``COSMO_DATA_DIR`` pointing at a data directory) and classy.
"""

# %% imports: the likelihoods are plain JAX functions of theory arrays
import classy
import jax

import likelihoods as lk
from cosmo.oracle.cosmologies import PLANCK2018  # the Planck 2018 best fit, CLASS names

# %% the likelihoods and what they need
plik = lk.get("planck_2018_highl_plik.TTTEEE_lite")
lowl = lk.get("planck_2018_lowl.TT_bins")
planck = lk.combine([plik, lowl, lk.get("tau_prior")])
req = planck.requirements
print("needs spectra", dict(req.cl), "and parameters", req.params)

# %% CLASS at the Planck 2018 best fit, lensed spectra to the l the likelihoods need
cosmo = classy.Class()
cosmo.set({**{k: v for k, v in PLANCK2018.items()}, "output": "tCl,pCl,lCl", "lensing": "yes",
           "l_max_scalars": req.l_max})
cosmo.compute()
theory = lk.adapters.from_classy(cosmo, req)  # D_l in muK^2 (see likelihoods.theory)

# %% log-likelihoods (nuisance parameters at their prior means: A_planck = 1)
params = {"tau_reio": PLANCK2018["tau_reio"]}
for name, value in planck.log_likelihoods(theory, params).items():
    print(f"{name:40s} ln L = {float(value):12.4f}")
chi2 = -2.0 * float(plik(theory))
print(f"chi2 plik_lite TTTEEE (613 bandpowers) = {chi2:.4f}")

# %% gradient with respect to the calibration, for free (JAX)
dlnL = jax.grad(lambda a: plik(theory, {"A_planck": a}))(1.0)
print(f"d lnL / d A_planck at 1: {float(dlnL):.2f}")
