"""likelihoods: JAX log-likelihoods of real CMB and BAO data.

Pure functions of theory arrays (:class:`Theory`; units in :mod:`likelihoods.theory`): they
jit, vmap and differentiate, and never import ``cosmo``. Typical use in a notebook::

    import likelihoods as lk
    like = lk.get("planck_2018_highl_plik.TTTEEE_lite")   # data from $COSMO_DATA_DIR
    theory = lk.adapters.from_classy(classy_instance, like.requirements)
    like(theory, {"A_planck": 1.0})                        # ln L = -chi^2/2

``lk.combine([...])`` sums likelihoods with shared nuisance parameters; ``lk.NAMES`` lists
the available ones (also ``cosmo loglike --list``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax

jax.config.update("jax_enable_x64", True)

from . import adapters
from .bao import BAOMGS, BAOGaussian
from .base import (
    Combination,
    GaussianPrior,
    Likelihood,
    MultivariateGaussianPrior,
    Prior,
    UniformPrior,
)
from .candl_format import CandlLikelihood
from .planck_lensing import PlanckLensing
from .planck_lite import PlanckLite, PlanckLowlTTBins, TauPrior
from .theory import Requirements, Theory, theory_from_cls

#: Likelihood name -> (factory(data_dir, **options), one-line description).
REGISTRY: dict[str, tuple[Callable[..., Likelihood], str]] = {
    "planck_2018_highl_plik.TTTEEE_lite": (lambda d=None, **o: PlanckLite("TTTEEE", d),
                                           "Planck 2018 plik_lite v22 TT+TE+EE, l = 30-2508 (A_planck)"),
    "planck_2018_highl_plik.TT_lite": (lambda d=None, **o: PlanckLite("TT", d),
                                       "Planck 2018 plik_lite v22 TT, l = 30-2508 (A_planck)"),
    "planck_2018_lowl.TT_bins": (lambda d=None, **o: PlanckLowlTTBins(d),
                                 "Planck 2018 low-l TT, two Gaussian bins l = 2-29 (A_planck)"),
    "tau_prior": (lambda d=None, mean=0.0544, sigma=0.0073, **o: TauPrior(mean, sigma),
                  "Gaussian tau_reio prior standing in for Planck low-l EE (0.0544 +- 0.0073)"),
    "planck_2018_lensing.native": (lambda d=None, **o: PlanckLensing("native", d),
                                   "Planck 2018 lensing L = 8-400 with the CMB-dependent correction"),
    "planck_2018_lensing.CMBMarged": (lambda d=None, **o: PlanckLensing("CMBMarged", d),
                                      "Planck 2018 lensing L = 8-400, CMB-marginalised (lensing alone)"),
    "spt3g_2018.TTTEEE_lite": (lambda d=None, tau_prior=True, **o: CandlLikelihood("spt3g_2018.TTTEEE_lite", d,
                                                                                   tau_prior),
                               "SPT-3G 2018 TT/TE/EE lite (Tcal, Ecal; its tau prior unless tau_prior=False)"),
    "spt3g_2018.PP_lens_only": (lambda d=None, **o: CandlLikelihood("spt3g_2018.PP_lens_only", d),
                                "SPT-3G 2018 lensing, lens-only response (A_fg)"),
    "spt3g_2018.PP_lens_and_CMB": (lambda d=None, **o: CandlLikelihood("spt3g_2018.PP_lens_and_CMB", d),
                                   "SPT-3G 2018 lensing with the CMB-dependent response (A_fg)"),
    "act_dr6.lensing_lens_only": (lambda d=None, **o: CandlLikelihood("act_dr6.lensing_lens_only", d),
                                  "ACT DR6 lensing, lens-only (Hartlap-corrected)"),
    "bao.desi_dr2": (lambda d=None, **o: BAOGaussian("bao.desi_dr2", d), "DESI DR2 BAO (13 points)"),
    "bao.desi_dr1": (lambda d=None, **o: BAOGaussian("bao.desi_dr1", d), "DESI DR1 (2024) BAO"),
    "bao.sdss_dr12_consensus": (lambda d=None, **o: BAOGaussian("bao.sdss_dr12_consensus", d),
                                "SDSS DR12 BAO consensus (D_M, H)"),
    "bao.sdss_dr16_lrg": (lambda d=None, **o: BAOGaussian("bao.sdss_dr16_lrg", d), "SDSS DR16 LRG BAO (D_M, D_H)"),
    "bao.sdss_dr7_mgs": (lambda d=None, **o: BAOMGS(d), "SDSS DR7 MGS BAO (D_V at z = 0.15, chi^2 table)"),
}
NAMES = tuple(REGISTRY)


def get(name: str, data_dir=None, **options) -> Likelihood:
    """The likelihood ``name`` (see :data:`NAMES`), data read from ``data_dir`` or $COSMO_DATA_DIR."""
    if name not in REGISTRY:
        raise KeyError(f"unknown likelihood {name!r}; available: {', '.join(NAMES)}")
    return REGISTRY[name][0](data_dir, **options)


def combine(names: Sequence[str | Likelihood], data_dir=None) -> Combination:
    """A :class:`Combination` of likelihoods given by name or instance."""
    return Combination([get(n, data_dir) if isinstance(n, str) else n for n in names])


__all__ = [
    "BAOMGS",
    "NAMES",
    "REGISTRY",
    "BAOGaussian",
    "CandlLikelihood",
    "Combination",
    "GaussianPrior",
    "Likelihood",
    "MultivariateGaussianPrior",
    "PlanckLensing",
    "PlanckLite",
    "PlanckLowlTTBins",
    "Prior",
    "Requirements",
    "TauPrior",
    "Theory",
    "UniformPrior",
    "adapters",
    "combine",
    "get",
    "theory_from_cls",
]
