"""Bandpower likelihoods released in the candl format (SPT-3G 2018, ACT DR6 lensing).

The release's YAML file describes the data: bandpowers, covariance, window functions (by
spectrum, theory l from 2), a data model (a chain of transformations of the theory spectra)
and Gaussian priors. This module implements the transformations these releases use, with
the same definitions as candl (Balkenhol et al. 2024, github.com/Lbalkenhol/candl):

* ``common.AberrationCorrection``: D_l -> D_l - a l dC_l/dl l(l+1)/2pi (central differences
  in l, one-sided at the ends), a = the release's aberration coefficient;
* ``common.CalibrationCross``: D_l^{XY} / [(c_1 c_2 + c_3 c_4) / 2] with the release's
  calibration parameters (Tcal, Ecal);
* ``common_lensing.BinnedTemplateForeground``: + A_fg x a binned foreground template;
* ``common_lensing.ResponseFunctionM``: + sum_X M^X . D^X - F (linear response of the
  lensing normalisation to the theory spectra, with the fiducial correction F);
* a Hartlap factor (N_sims - N_bins - 2) / (N_sims - 1) on the inverse covariance.

Theory input: CMB D_l [muK^2], lensing ``pp`` = [L(L+1)]^2 C_L^phiphi / 2pi and
``kk`` = pp pi / 2 (the convergence power), all from l = 2.
"""

from __future__ import annotations

import pathlib
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import yaml
from jaxtyping import Array, Float

from data import dataset_path

from .base import GaussianChi2, GaussianPrior, Likelihood, MultivariateGaussianPrior, Params, Prior
from .theory import Requirements, Theory

#: Name -> (dataset, YAML file).
RELEASES = {
    "spt3g_2018.TTTEEE_lite": ("spt3g_2018_ttteee_lite", "SPT3G_2018_TTTEEE_lite.yaml"),
    "spt3g_2018.PP_lens_only": ("spt3g_2018_lensing", "SPT3G_2018_PP_lens_only.yaml"),
    "spt3g_2018.PP_lens_and_CMB": ("spt3g_2018_lensing", "SPT3G_2018_PP_lens_and_CMB.yaml"),
    "act_dr6.lensing_lens_only": ("act_dr6_lensing", "ACT_DR6_KK_lens_only.yaml"),
}
#: candl spectrum names -> (theory key, factor applied to our spectrum).
_SPECTRA = {"TT": ("tt", 1.0), "TE": ("te", 1.0), "EE": ("ee", 1.0), "BB": ("bb", 1.0),
            "pp": ("pp", 1.0), "kk": ("pp", np.pi / 2.0)}
_M_COLUMN = {"TT": 0, "TE": 1, "EE": 2, "BB": 3, "pp": 4, "kk": 4}
#: Nuisance defaults of the transformations' parameters (calibrations 1, template amplitude 1).
_DEFAULTS = {"Tcal": 1.0, "Ecal": 1.0, "A_fg": 1.0}


def _theory(theory: Theory, spec: str, l_max: int) -> Float[Array, " l"]:
    """Theory spectrum in candl's units from l = 2 to l_max."""
    key, factor = _SPECTRA[spec]
    return theory.spectrum(key, l_max)[..., 2:] * factor


class Aberration(eqx.Module):
    coefficient: float = eqx.field(static=True)

    def __call__(self, dls: dict, ells: np.ndarray, params: Params) -> dict:
        out = {}
        norm = ells * (ells + 1.0) / (2.0 * np.pi)
        for spec, dl in dls.items():
            if spec.split()[0] in ("pp", "kk"):
                out[spec] = dl
                continue
            dcl = jnp.gradient(dl / norm, axis=-1)
            out[spec] = dl - self.coefficient * dcl * norm * ells
        return out


class CalibrationCross(eqx.Module):
    spec_params: dict[str, tuple[str, ...]] = eqx.field(static=True)

    def __call__(self, dls: dict, ells: np.ndarray, params: Params) -> dict:
        out = dict(dls)
        for spec, (a, b, c, d) in self.spec_params.items():
            out[spec] = dls[spec] / (0.5 * (params[a] * params[b] + params[c] * params[d]))
        return out


class CandlLikelihood(Likelihood):
    """A candl-format Gaussian bandpower likelihood (``name`` one of :data:`RELEASES`)."""

    specs: tuple[str, ...] = eqx.field(static=True)
    n_bins: tuple[int, ...] = eqx.field(static=True)
    l_max: int = eqx.field(static=True)
    data: np.ndarray
    windows: tuple[np.ndarray, ...]
    chi2: GaussianChi2
    unbinned_model: tuple[Any, ...]
    template: np.ndarray | None
    template_param: str | None = eqx.field(static=True)
    response: dict[str, np.ndarray]
    fiducial_correction: np.ndarray | None
    prior_list: tuple[Prior, ...]
    include_priors_on: tuple[str, ...] = eqx.field(static=True)

    def __init__(self, name: str, data_dir=None, tau_prior: bool = True):
        """``tau_prior=False`` drops the release's tau prior (when another likelihood constrains tau)."""
        if name not in RELEASES:
            raise ValueError(f"unknown candl-format likelihood {name!r}; known: {list(RELEASES)}")
        self.name = name
        dataset, yaml_file = RELEASES[name]
        folder = dataset_path(dataset, root=data_dir)
        info = yaml.safe_load((folder / yaml_file).read_text())
        specs, n_bins = [], []
        for entry in info["spectra_info"]:
            (spec, n), = entry.items()
            specs.append(spec)
            n_bins.append(int(n))
        self.specs, self.n_bins = tuple(specs), tuple(n_bins)
        self.data = np.atleast_1d(np.loadtxt(folder / info["band_power_file"]))
        self.windows, self.l_max = self._read_windows(folder / info["window_functions_folder"])
        cov = np.loadtxt(folder / info["covariance_file"])
        if "hartlap_correction" in info:
            n_sims = int(info["hartlap_correction"]["N_sims"])
            cov = cov * (n_sims - 1) / (n_sims - len(self.data) - 2)
        self.chi2 = GaussianChi2(cov)
        unbinned, template, template_param, response, fid = [], None, None, {}, None
        for block in info.get("data_model", []) or []:
            module = block["Module"]
            if module == "common.AberrationCorrection":
                unbinned.append(Aberration(float(block["aberration_coefficient"])))
            elif module == "common.CalibrationCross":
                unbinned.append(CalibrationCross({s: tuple(p) for s, p in block["spec_param_dict"].items()}))
            elif module == "common_lensing.BinnedTemplateForeground":
                template = np.loadtxt(folder / block["template_file"])[:, 1]
                template_param = block["amp_param"]
            elif module == "common_lensing.ResponseFunctionM":
                response, fid = self._response(folder / block["M_matrices_folder"], block["Mmodes"],
                                               folder / block["fiducial_correction_file"])
            else:
                raise NotImplementedError(f"{name}: data-model module {module!r} is not implemented")
        self.unbinned_model = tuple(unbinned)
        self.template, self.template_param = template, template_param
        self.response, self.fiducial_correction = response, fid
        priors: list[Prior] = []
        for block in info.get("priors", []) or []:
            names = block["par_names"]
            if isinstance(names, str):
                if names == "tau" and not tau_prior:
                    continue
                priors.append(GaussianPrior("tau_reio" if names == "tau" else names, block["central_value"],
                                            block["prior_std"]))
            else:
                cov_p = (np.loadtxt(folder / block["prior_covariance"]) if "prior_covariance" in block
                         else np.diag(np.square(block["prior_std"])))
                priors.append(MultivariateGaussianPrior(names, block["central_value"], cov_p))
        self.prior_list = tuple(priors)
        self.include_priors_on = tuple(n for p in priors for n in p.names)

    def _read_windows(self, folder: pathlib.Path) -> tuple[tuple[np.ndarray, ...], int]:
        """Per-spectrum window functions (n_ell from l = 2, n_bins) and their common l_max."""
        windows, l_maxes = [], set()
        for spec in self.specs:
            table = np.loadtxt(folder / f"{spec.replace(' ', '_')}_window_functions.txt")
            start = int(np.argwhere(table[:, 0] == 2)[0, 0])
            windows.append(table[start:, 1:])
            # theory l runs from 2 over the rows (as candl reads them; one release ends on a
            # padding row whose l column reads 0)
            l_maxes.add(1 + table.shape[0] - start)
        if len(l_maxes) != 1:
            raise ValueError(f"{folder}: window functions end at different l {sorted(l_maxes)}")
        return tuple(windows), l_maxes.pop()

    def _response(self, folder: pathlib.Path, modes, fid_file: pathlib.Path):
        n_files = len(list(folder.glob("window_*.txt")))
        response = {}
        for mode in modes:
            cols = []
            for n in range(n_files):
                table = np.loadtxt(folder / f"window_{n}.txt")
                start = int(np.argwhere(table[:, 0] == 2)[0, 0])
                cols.append(table[start:, _M_COLUMN[mode] + 1])
            response[mode] = np.stack(cols)  # (n_bins, n_ell from l = 2)
        fid = np.loadtxt(fid_file)
        if fid.ndim == 2:
            fid = fid[:, [_M_COLUMN[m] for m in sorted(set(modes), key=_M_COLUMN.get)]].sum(axis=1)
        return response, fid

    @property
    def requirements(self) -> Requirements:
        cl: dict[str, int] = {}
        for spec in self.specs:
            cl[_SPECTRA[spec.split()[0]][0]] = self.l_max
        for mode, m in self.response.items():
            key = _SPECTRA[mode][0]
            cl[key] = max(cl.get(key, 0), m.shape[1] + 1)
        params = ("tau_reio",) if "tau_reio" in self.include_priors_on else ()
        return Requirements(cl=cl, params=params)

    @property
    def defaults(self) -> dict[str, float]:
        names = {n for p in self.prior_list for n in p.names if n in _DEFAULTS}
        for block in self.unbinned_model:
            if isinstance(block, CalibrationCross):
                names |= {n for ps in block.spec_params.values() for n in ps}
        if self.template_param:
            names.add(self.template_param)
        return {n: _DEFAULTS[n] for n in sorted(names)}

    @property
    def priors(self) -> tuple[Prior, ...]:
        return self.prior_list

    def binned(self, theory: Theory, params: Params) -> Float[Array, " nbin"]:
        """Model bandpowers in the data's ordering and units."""
        ells = np.arange(2, self.l_max + 1, dtype=float)
        dls = {spec: _theory(theory, spec.split()[0], self.l_max) for spec in self.specs}
        for block in self.unbinned_model:
            dls = block(dls, ells, params)
        model = jnp.concatenate([dls[spec] @ w for spec, w in zip(self.specs, self.windows)], axis=-1)
        if self.template is not None:
            model = model + params[self.template_param] * self.template
        if self.response:
            for mode, m in self.response.items():
                model = model + _theory(theory, mode, m.shape[1] + 1) @ m.T
            model = model - self.fiducial_correction
        return model

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        return -0.5 * self.chi2((self.data - self.binned(theory, params)).T)
