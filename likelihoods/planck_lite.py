"""Planck 2018 plik_lite (high-l TT, TE, EE) and the two-bin low-l TT likelihood; tau prior.

plik_lite v22 (Planck 2018 V, arXiv:1907.12875): foreground-marginalised bandpowers,
215 TT bins (l = 30-2508) and 199 TE and 199 EE bins (l = 30-1996), one 613 x 613
covariance. The model bandpower is C_b = sum_l w_l C_l / A_planck^2 with the published
weights w_l (the TE and EE bins are the first 199 TT bins); ln L = -chi^2 / 2.

Low-l TT (Prince & Dunkley 2019, arXiv:1909.05869): the Planck 2018 Commander TT likelihood
compressed into two Gaussian bins, l = 2-15 and 16-29, with the same binning convention.

Planck's low-l EE likelihood (SimAll) is not public in a redistributable form; the
:class:`TauPrior` (default tau_reio = 0.0544 +- 0.0073, Planck 2018 VI) stands in for it.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float
from scipy.io import FortranFile

from data import dataset_path

from .base import GaussianChi2, GaussianPrior, Likelihood, Params, Prior
from .theory import Requirements, Theory

#: A_planck prior (Planck 2018 V): Gaussian 1 +- 0.0025.
A_PLANCK_PRIOR = GaussianPrior("A_planck", 1.0, 0.0025)

_N_BINS = {"tt": 215, "te": 199, "ee": 199}
_L_MIN = 30
_L_MAX = 2508


class Binning(eqx.Module):
    """Band powers ``C_b = sum_{l in b} w_l C_l`` of contiguous, non-overlapping l bins.

    Built from bin edges ``blmin``/``blmax`` (offsets from ``l_min``) and weights ``w[i]`` of
    ``l_min + i``; the factor 2 pi / (l (l + 1)) turning the theory D_l into C_l is folded into the
    weights. Applied as a segment sum over l (O(n_l), where a dense (n_bins, n_l) matrix costs
    O(n_bins n_l): 1.5 M multiply-adds per plik_lite evaluation, which dominated the stand-in chains).
    """

    weights: np.ndarray  # (n_l,) for l = l_min .. l_max, zero outside every bin
    bin_index: np.ndarray  # (n_l,) int, the bin of each l (0 outside)
    n_bins: int = eqx.field(static=True)

    def __init__(self, blmin: np.ndarray, blmax: np.ndarray, weights: np.ndarray, l_min: int, n_bins: int,
                 l_max: int):
        ells = np.arange(l_min, l_max + 1)
        w = np.zeros(ells.size)
        index = np.zeros(ells.size, dtype=np.int32)
        covered = np.zeros(ells.size, dtype=bool)
        for b in range(n_bins):
            lo, hi = int(blmin[b]), int(blmax[b])
            if covered[lo : hi + 1].any():
                raise ValueError(f"bin {b} (l = {l_min + lo}..{l_min + hi}) overlaps an earlier bin")
            covered[lo : hi + 1] = True
            w[lo : hi + 1] = weights[lo : hi + 1] * 2.0 * np.pi / (ells[lo : hi + 1] * (ells[lo : hi + 1] + 1.0))
            index[lo : hi + 1] = b
        self.weights, self.bin_index, self.n_bins = w, index, int(n_bins)

    def __call__(self, dl: Float[Array, "... n_l"]) -> Float[Array, "... n_bins"]:
        """Band powers of D_l given for l = l_min .. l_max (last axis; leading axes are batch)."""
        x = jnp.moveaxis(jnp.asarray(dl) * self.weights, -1, 0)
        out = jax.ops.segment_sum(x, self.bin_index, num_segments=self.n_bins, indices_are_sorted=True)
        return jnp.moveaxis(out, 0, -1)


class PlanckLite(Likelihood):
    """Planck 2018 plik_lite v22, ``spectra`` = ``"TTTEEE"`` or ``"TT"`` (l >= 30).

    Needs lensed D_l^TT (and TE, EE) to l = 2508 [muK^2]; nuisance: A_planck.
    """

    spectra: tuple[str, ...] = eqx.field(static=True)
    data: np.ndarray
    bins: dict[str, Binning]
    chi2: GaussianChi2

    def __init__(self, spectra: str = "TTTEEE", data_dir=None):
        if spectra not in ("TTTEEE", "TT"):
            raise ValueError(f"plik_lite spectra must be 'TTTEEE' or 'TT', got {spectra!r}")
        self.name = f"planck_2018_highl_plik.{spectra}_lite"
        self.spectra = ("tt", "te", "ee") if spectra == "TTTEEE" else ("tt",)
        folder = dataset_path("planck2018_plik_lite", root=data_dir)
        data = np.loadtxt(folder / "cl_cmb_plik_v22.dat")
        blmin = np.loadtxt(folder / "blmin.dat").astype(int)
        blmax = np.loadtxt(folder / "blmax.dat").astype(int)
        weights = np.loadtxt(folder / "bweight.dat")[: _L_MAX - _L_MIN + 1]
        n_total = sum(_N_BINS.values())
        with FortranFile(folder / "c_matrix_plik_v22.dat", "r") as f:
            cov = f.read_reals(dtype=float).reshape((n_total, n_total))
        cov = np.tril(cov) + np.tril(cov, -1).T  # stored as one triangle
        offsets = {"tt": 0, "te": _N_BINS["tt"], "ee": _N_BINS["tt"] + _N_BINS["te"]}
        used = np.concatenate([offsets[s] + np.arange(_N_BINS[s]) for s in self.spectra])
        self.data = data[used, 1]
        self.bins = {s: Binning(blmin, blmax, weights, _L_MIN, _N_BINS[s], _L_MAX) for s in self.spectra}
        self.chi2 = GaussianChi2(cov[np.ix_(used, used)])

    @property
    def requirements(self) -> Requirements:
        return Requirements(cl={s: _L_MAX for s in self.spectra})

    @property
    def defaults(self) -> dict[str, float]:
        return {"A_planck": 1.0}

    @property
    def priors(self) -> tuple[Prior, ...]:
        return (A_PLANCK_PRIOR,)

    def binned(self, theory: Theory, a_planck=1.0) -> Float[Array, " nbin"]:
        """Model bandpowers C_b [muK^2] in the data ordering (TT, then TE, EE)."""
        parts = [self.bins[s](theory.spectrum(s, _L_MAX)[..., _L_MIN:]) for s in self.spectra]
        return jnp.concatenate(parts, axis=-1) / a_planck**2

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        return -0.5 * self.chi2((self.data - self.binned(theory, params["A_planck"])).T)


class PlanckLowlTTBins(Likelihood):
    """Planck 2018 low-l TT as two Gaussian bins (l = 2-15, 16-29); needs D_l^TT to l = 29."""

    data: np.ndarray
    sigma: np.ndarray
    binning: Binning
    l_min: int = eqx.field(static=True)
    l_max: int = eqx.field(static=True)

    def __init__(self, data_dir=None):
        self.name = "planck_2018_lowl.TT_bins"
        folder = dataset_path("planck2018_lowl_TT_bins", root=data_dir)
        table = np.atleast_2d(np.loadtxt(folder / "CTT_bin_low_ell_2018.dat"))
        blmin = np.atleast_1d(np.loadtxt(folder / "blmin_low_ell.dat")).astype(int)
        blmax = np.atleast_1d(np.loadtxt(folder / "blmax_low_ell.dat")).astype(int)
        weights = np.loadtxt(folder / "bweight_low_ell.dat")
        self.l_min = int(np.loadtxt(folder / "plmin_low_ell.dat"))
        self.l_max = self.l_min + int(blmax[-1])
        self.data = table[:, 1]
        self.sigma = table[:, 2]
        self.binning = Binning(blmin, blmax, weights, self.l_min, len(blmin), self.l_max)

    @property
    def requirements(self) -> Requirements:
        return Requirements(cl={"tt": self.l_max})

    @property
    def defaults(self) -> dict[str, float]:
        return {"A_planck": 1.0}

    @property
    def priors(self) -> tuple[Prior, ...]:
        return (A_PLANCK_PRIOR,)

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        model = self.binning(theory.spectrum("tt", self.l_max)[..., self.l_min :])
        model = model / params["A_planck"] ** 2
        return -0.5 * jnp.sum(((model - self.data) / self.sigma) ** 2, axis=-1)


class TauPrior(Likelihood):
    """A Gaussian prior on tau_reio standing in for Planck's low-l EE (SimAll) likelihood.

    Default 0.0544 +- 0.0073 (Planck 2018 VI, TT,TE,EE+lowE+lensing); ln L = -(dtau/sigma)^2 / 2.
    """

    mean: float = eqx.field(static=True)
    sigma: float = eqx.field(static=True)

    def __init__(self, mean: float = 0.0544, sigma: float = 0.0073):
        self.name = "tau_prior"
        self.mean = float(mean)
        self.sigma = float(sigma)

    @property
    def requirements(self) -> Requirements:
        return Requirements(params=("tau_reio",))

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        return -0.5 * ((jnp.asarray(params["tau_reio"]) - self.mean) / self.sigma) ** 2
