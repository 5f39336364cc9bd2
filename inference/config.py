"""Run configuration (YAML, in the spirit of Cobaya's input files), validated with clear errors.

    theory:      {kind: linear | cosmo, precision: default, allow_unlensed: false}
    likelihoods: {planck_2018_highl_plik.TTTEEE_lite: {}, tau_prior: {mean: 0.0544, sigma: 0.0073}}
    params:
      omega_b:   {prior: {uniform: [0.019, 0.025]}, ref: 0.02237, scale: 0.00015, latex: '\\omega_b'}
      tau_reio:  {prior: {gaussian: [0.0544, 0.0073]}}
      N_ur:      2.0328                      # a number: fixed
      A_planck:  {prior: {gaussian: [1.0, 0.0025]}}
    derived:     [H0, Omega_m, sigma8, S8]
    sampler:     {backend: numpyro | blackjax, algorithm: nuts | hmc, chains: 4, warmup: 500,
                  samples: 1000, dense_mass: false, covmat: FILE, target_accept: 0.8,
                  checkpoint_every: 100, num_steps: 16 (hmc), num_steps_jitter: 0.5 (blackjax hmc),
                  max_tree_depth: 10, init: laplace | reference}
    optimizer:   {method: lbfgs | adam, steps: 200, restarts: 4, learning_rate: 0.01 (adam)}
    output:      runs/NAME
    seed:        0
    data_dir:    (optional; else $COSMO_DATA_DIR)

Priors: ``uniform: [lo, hi]``, ``loguniform: [lo, hi]``, ``gaussian: [mean, sigma]``.
Nuisance parameters of the likelihoods that carry a prior there (A_planck, Tcal, Ecal) are
sampled automatically unless fixed here; the likelihood's prior is always applied. ``ref``
(the starting point; default: the fiducial or prior centre) and ``scale`` (a typical width,
used for the initial mass matrix; default: from the prior) are optional.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import yaml

SAMPLER_DEFAULTS = {"backend": "numpyro", "algorithm": "nuts", "chains": 4, "warmup": 500, "samples": 1000,
                    "dense_mass": False, "covmat": None, "target_accept": 0.8, "checkpoint_every": 100,
                    "num_steps": 16, "num_steps_jitter": None, "max_tree_depth": 10, "init": "laplace"}
OPTIMIZER_DEFAULTS = {"method": "lbfgs", "steps": 200, "learning_rate": 0.01, "restarts": 4}


class ConfigError(ValueError):
    """An invalid run configuration (the message names the key and what is allowed)."""


@dataclasses.dataclass(frozen=True)
class Prior:
    kind: str  # uniform | loguniform | gaussian | flat (unbounded, improper: only with a likelihood prior)
    a: float = 0.0
    b: float = 0.0

    @classmethod
    def parse(cls, name: str, spec: Any) -> Prior:
        if not isinstance(spec, dict) or len(spec) != 1:
            raise ConfigError(f"params.{name}.prior must be one of {{uniform: [lo, hi]}}, {{loguniform: [lo, hi]}}, "
                              f"{{gaussian: [mean, sigma]}}; got {spec!r}")
        (kind, args), = spec.items()
        if kind not in ("uniform", "loguniform", "gaussian"):
            raise ConfigError(f"params.{name}.prior: unknown prior {kind!r} (uniform, loguniform, gaussian)")
        try:
            a, b = (float(x) for x in args)
        except (TypeError, ValueError):
            raise ConfigError(f"params.{name}.prior.{kind} needs two numbers, got {args!r}") from None
        if kind in ("uniform", "loguniform") and not a < b:
            raise ConfigError(f"params.{name}.prior.{kind}: lower bound {a} must be below upper bound {b}")
        if kind == "loguniform" and a <= 0:
            raise ConfigError(f"params.{name}.prior.loguniform: bounds must be positive, got {a}")
        if kind == "gaussian" and b <= 0:
            raise ConfigError(f"params.{name}.prior.gaussian: sigma must be positive, got {b}")
        return cls(kind, a, b)

    @property
    def centre(self) -> float:
        if self.kind == "loguniform":
            return float((self.a * self.b) ** 0.5)
        return 0.5 * (self.a + self.b) if self.kind == "uniform" else self.a

    @property
    def width(self) -> float:
        return {"uniform": (self.b - self.a) / 12**0.5, "gaussian": self.b,
                "loguniform": self.centre, "flat": 1.0}[self.kind] * 1.0


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    prior: Prior
    ref: float | None = None
    scale: float | None = None
    latex: str | None = None


@dataclasses.dataclass(frozen=True)
class RunConfig:
    theory: dict[str, Any]
    likelihoods: dict[str, dict[str, Any]]
    sampled: tuple[Param, ...]
    fixed: dict[str, float]
    derived: tuple[str, ...]
    sampler: dict[str, Any]
    optimizer: dict[str, Any]
    output: pathlib.Path
    seed: int
    data_dir: str | None
    source: dict[str, Any]  # the YAML as read (for the record)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.sampled)

    def resolved(self) -> dict[str, Any]:
        """The configuration with every default filled in (written next to the chains)."""
        params: dict[str, Any] = {}
        for p in self.sampled:
            params[p.name] = {"prior": ({p.prior.kind: [p.prior.a, p.prior.b]} if p.prior.kind != "flat" else "flat"),
                              "ref": p.ref, "scale": p.scale, "latex": p.latex}
        params.update(self.fixed)
        return {"theory": self.theory, "likelihoods": self.likelihoods, "params": params,
                "derived": list(self.derived), "sampler": self.sampler, "optimizer": self.optimizer,
                "output": str(self.output), "seed": self.seed, "data_dir": self.data_dir}


def _section(source: dict[str, Any], key: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """A settings block with its defaults filled in; unknown keys are an error."""
    section = {**defaults, **(source.get(key) or {})}
    bad = set(section) - set(defaults)
    if bad:
        raise ConfigError(f"{key}: unknown keys {sorted(bad)}; allowed: {sorted(defaults)}")
    return section


def parse(source: dict[str, Any], base_dir: pathlib.Path | None = None) -> RunConfig:
    """Validate a configuration dict (see the module docstring)."""
    known = {"theory", "likelihoods", "params", "derived", "sampler", "optimizer", "output", "seed", "data_dir"}
    unknown = set(source) - known
    if unknown:
        raise ConfigError(f"unknown top-level keys {sorted(unknown)}; allowed: {sorted(known)}")
    theory = {"kind": "linear", **(source.get("theory") or {})}
    if theory["kind"] not in ("linear", "cosmo"):
        raise ConfigError(f"theory.kind must be 'linear' (the CLASS-linearised stand-in) or 'cosmo' (our solver), "
                          f"got {theory['kind']!r}")
    likes = source.get("likelihoods")
    if not likes:
        raise ConfigError("likelihoods: give at least one (see `cosmo loglike --list`)")
    if isinstance(likes, list):
        likes = {name: {} for name in likes}
    likes = {name: dict(opts or {}) for name, opts in likes.items()}
    sampled, fixed = [], {}
    for name, spec in (source.get("params") or {}).items():
        if isinstance(spec, (int, float)):
            fixed[name] = float(spec)
            continue
        if not isinstance(spec, dict) or "prior" not in spec:
            raise ConfigError(f"params.{name}: give a number (fixed) or a mapping with a 'prior'")
        extra = set(spec) - {"prior", "ref", "scale", "latex"}
        if extra:
            raise ConfigError(f"params.{name}: unknown keys {sorted(extra)} (prior, ref, scale, latex)")
        prior = Prior.parse(name, spec["prior"])
        ref = spec.get("ref")
        if ref is not None and prior.kind in ("uniform", "loguniform") and not prior.a < float(ref) < prior.b:
            raise ConfigError(f"params.{name}.ref = {ref} lies outside its prior [{prior.a}, {prior.b}]")
        sampled.append(Param(name, prior, None if ref is None else float(ref),
                             None if spec.get("scale") is None else float(spec["scale"]), spec.get("latex")))
    if not sampled:
        raise ConfigError("params: no sampled parameter (give at least one a prior)")
    sampler = _section(source, "sampler", SAMPLER_DEFAULTS)
    if sampler["backend"] not in ("numpyro", "blackjax"):
        raise ConfigError(f"sampler.backend must be 'numpyro' or 'blackjax', got {sampler['backend']!r}")
    if sampler["algorithm"] not in ("nuts", "hmc"):
        raise ConfigError(f"sampler.algorithm must be 'nuts' or 'hmc', got {sampler['algorithm']!r}")
    for key in ("chains", "warmup", "samples", "checkpoint_every", "num_steps"):
        if int(sampler[key]) != sampler[key] or sampler[key] < (0 if key == "warmup" else 1):
            raise ConfigError(f"sampler.{key} must be a positive integer, got {sampler[key]!r}")
    if sampler["init"] not in ("laplace", "reference"):
        raise ConfigError(f"sampler.init must be 'laplace' (start at the MAP, whitened by the Hessian there) or "
                          f"'reference' (start at ref with covmat / scales), got {sampler['init']!r}")
    # Static HMC with a fixed trajectory length can be (nearly) periodic on a whitened Gaussian-like
    # posterior (a trajectory of ~pi gives antithetic draws, ~2 pi returns to the start: R-hat then
    # misjudges convergence): every draw takes a number of leapfrog steps drawn uniformly within
    # +-num_steps_jitter of num_steps (randomised trajectory length, Neal 2011, sec. 5.4.2.3).
    if sampler["num_steps_jitter"] is None:
        sampler["num_steps_jitter"] = 0.5 if (sampler["algorithm"], sampler["backend"]) == ("hmc", "blackjax") else 0.0
    if not 0.0 <= float(sampler["num_steps_jitter"]) < 1.0:
        raise ConfigError(f"sampler.num_steps_jitter must lie in [0, 1), got {sampler['num_steps_jitter']!r}")
    if float(sampler["num_steps_jitter"]) > 0.0 and (sampler["algorithm"], sampler["backend"]) != ("hmc", "blackjax"):
        raise ConfigError("sampler.num_steps_jitter applies to static HMC with backend 'blackjax' only "
                          f"(got algorithm {sampler['algorithm']!r}, backend {sampler['backend']!r}); set it to 0")
    if not 0.0 < float(sampler["target_accept"]) < 1.0:
        raise ConfigError(f"sampler.target_accept must lie in (0, 1), got {sampler['target_accept']!r}")
    base_dir = base_dir or pathlib.Path.cwd()
    if sampler["covmat"]:
        path = pathlib.Path(sampler["covmat"]).expanduser()
        sampler["covmat"] = str(path if path.is_absolute() else base_dir / path)
    optimizer = _section(source, "optimizer", OPTIMIZER_DEFAULTS)
    if optimizer["method"] not in ("lbfgs", "adam"):
        raise ConfigError(f"optimizer.method must be 'lbfgs' or 'adam', got {optimizer['method']!r}")
    output = pathlib.Path(source.get("output") or "runs/run")
    return RunConfig(theory=theory, likelihoods=likes, sampled=tuple(sampled), fixed=fixed,
                     derived=tuple(source.get("derived") or ()), sampler=sampler, optimizer=optimizer,
                     output=output, seed=int(source.get("seed", 0)), data_dir=source.get("data_dir"),
                     source=source)


def load(path: str | pathlib.Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read and validate a YAML run configuration (``overrides`` replace top-level keys)."""
    path = pathlib.Path(path)
    try:
        source = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(source, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    source.update(overrides or {})
    return parse(source, path.parent)
