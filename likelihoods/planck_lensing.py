"""Planck 2018 (PR3) lensing, conservative L = 8-400, in CosmoMC's ``.dataset`` format.

Two variants (Planck 2018 VIII, arXiv:1807.06210):

* ``planck_2018_lensing.native`` (``..._consext8.dataset``): the lensing bandpowers with the
  linear correction for the dependence of the N0/N1 normalisation on the CMB spectra.
  Needs lensed D_l^TT, EE, TE [muK^2] (divided by A_planck^2) and pp to l = 2500.
* ``planck_2018_lensing.CMBMarged`` (``..._CMBmarged.dataset``): marginalised over the CMB
  spectra (use it when not combining with primary CMB); needs only pp.

Model bandpower b: B_b = sum_L W_b(L) pp(L) + sum_X sum_L M^X_b(L) C^X(L) - F_b, with the bin
windows W, the linear-correction windows M^X (X = TT, EE, TE, PP) and the fiducial correction
F_b = M . C_fid from the release; ln L = -chi^2 / 2 with the fiducial covariance.
"""

from __future__ import annotations

import pathlib

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float

from data import dataset_path

from .base import GaussianChi2, Likelihood, Params, Prior
from .planck_lite import A_PLANCK_PRIOR
from .theory import Requirements, Theory

_ROOT = "smicadx12_Dec5_ftl_mv2_ndclpp_p_teb_consext8"
VARIANTS = {"native": f"{_ROOT}.dataset", "CMBMarged": f"{_ROOT}_CMBmarged.dataset"}
#: Column order of the linear-correction windows (``linear_correction_bin_window_in_order``).
_THEORY_KEYS = {"TT": "tt", "EE": "ee", "TE": "te", "PP": "pp", "BB": "bb"}


def read_dataset(path: pathlib.Path) -> dict[str, str]:
    """A CosmoMC ``.dataset`` file as a dict (``DEFAULT(file)`` includes resolved, later keys win)."""
    out: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("DEFAULT(") and line.endswith(")"):
            out = {**read_dataset(path.parent / line[8:-1]), **out}
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


def _column(path: pathlib.Path, name: str) -> np.ndarray:
    """Column ``name`` of a text table whose last leading comment line names the columns."""
    header = None
    for line in path.read_text().splitlines():
        if line.strip().startswith("#"):
            header = line.strip()[1:].split()
        elif line.strip():
            break
    if header is None or name not in header:
        raise ValueError(f"{path}: no column {name!r} in header {header}")
    return np.loadtxt(path)[:, header.index(name)]


class PlanckLensing(Likelihood):
    """Planck 2018 lensing (``variant`` = ``"native"`` or ``"CMBMarged"``)."""

    variant: str = eqx.field(static=True)
    l_min: int = eqx.field(static=True)
    l_max: int = eqx.field(static=True)
    calibrated: bool = eqx.field(static=True)
    correction_keys: tuple[str, ...] = eqx.field(static=True)
    data: np.ndarray
    window: np.ndarray
    correction: np.ndarray
    fiducial_correction: np.ndarray
    chi2: GaussianChi2

    def __init__(self, variant: str = "native", data_dir=None):
        if variant not in VARIANTS:
            raise ValueError(f"Planck lensing variant must be one of {list(VARIANTS)}, got {variant!r}")
        self.name = f"planck_2018_lensing.{variant}"
        self.variant = variant
        folder = dataset_path("planck2018_lensing", root=data_dir)
        ini = read_dataset(folder / VARIANTS[variant])
        self.l_min, self.l_max = int(ini["cl_lmin"]), int(ini["cl_lmax"])
        use = np.arange(int(ini.get("use_min", 1)), int(ini.get("use_max", ini["nbins"])) + 1)
        bins = _column(folder / ini["cl_hat_file"], "bin").astype(int)
        self.data = _column(folder / ini["cl_hat_file"], "PP")[np.searchsorted(bins, use)]
        self.window = self._windows(folder / ini["bin_window_files"], use, 1)[0]
        self.correction_keys = tuple(_THEORY_KEYS[k] for k in ini["linear_correction_bin_window_in_order"].split())
        self.correction = self._windows(folder / ini["linear_correction_bin_window_files"], use,
                                        len(self.correction_keys))
        fid_bins = _column(folder / ini["linear_correction_fiducial_file"], "bin").astype(int)
        self.fiducial_correction = _column(folder / ini["linear_correction_fiducial_file"], "PP")[
            np.searchsorted(fid_bins, use)]
        cov = np.atleast_2d(np.loadtxt(folder / ini["covmat_fiducial"]))
        self.chi2 = GaussianChi2(cov[np.ix_(use - 1, use - 1)])
        self.calibrated = bool(ini.get("calibration_param", ""))

    def _windows(self, pattern: pathlib.Path, use: np.ndarray, n_cols: int) -> np.ndarray:
        """(n_cols, n_bins, l_max - l_min + 1) window matrices from ``window%u.dat`` files."""
        out = np.zeros((n_cols, use.size, self.l_max - self.l_min + 1))
        for i, b in enumerate(use):
            table = np.loadtxt(str(pattern) % b)
            ells = table[:, 0].astype(int)
            keep = (ells >= self.l_min) & (ells <= self.l_max)
            out[:, i, ells[keep] - self.l_min] = table[keep, 1 : n_cols + 1].T
        return out

    @property
    def requirements(self) -> Requirements:
        return Requirements(cl={key: self.l_max for key in ("pp", *self.correction_keys)})

    @property
    def defaults(self) -> dict[str, float]:
        return {"A_planck": 1.0} if self.calibrated else {}

    @property
    def priors(self) -> tuple[Prior, ...]:
        return (A_PLANCK_PRIOR,) if self.calibrated else ()

    def binned(self, theory: Theory, params: Params) -> Float[Array, " nbin"]:
        """Model lensing bandpowers [L(L+1)]^2 C_L^phiphi / 2pi, linear correction included."""
        def cl(key):
            x = theory.spectrum(key, self.l_max)[..., self.l_min :]
            if key != "pp" and self.calibrated:
                x = x / params["A_planck"] ** 2
            return x

        model = cl("pp") @ self.window.T
        for i, key in enumerate(self.correction_keys):
            model = model + cl(key) @ self.correction[i].T
        return model - self.fiducial_correction

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        return -0.5 * self.chi2((self.data - self.binned(theory, params)).T)

