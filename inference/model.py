"""The posterior of a run: theory provider + likelihoods + priors, in an unconstrained space.

Samplers and optimisers work on u in R^d. Each sampled parameter maps as

* uniform [a, b]:    x = a + (b - a) sigmoid(u)       (log-Jacobian log(b-a) + log s + log(1-s))
* loguniform [a, b]: ln x = ln a + ln(b/a) sigmoid(u)  (uniform in ln x)
* gaussian / flat:   x = u

so the log density in u is log prior(x) + log |dx/du| + ln L(x) + likelihood nuisance priors.
Any non-finite value (an unphysical corner, a failed solve) becomes -inf: a sampler sees a
divergence and rejects the point, never a NaN chain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import likelihoods as lk

from .config import Param, Prior, RunConfig


def to_constrained(prior: Prior, u):
    if prior.kind == "uniform":
        return prior.a + (prior.b - prior.a) * jax.nn.sigmoid(u)
    if prior.kind == "loguniform":
        return jnp.exp(jnp.log(prior.a) + jnp.log(prior.b / prior.a) * jax.nn.sigmoid(u))
    return u


def to_unconstrained(prior: Prior, x):
    """The inverse of :func:`to_constrained` (works on floats and traced arrays)."""
    x = jnp.asarray(x, jnp.float64)
    if prior.kind == "uniform":
        s = (x - prior.a) / (prior.b - prior.a)
        return jnp.log(s) - jnp.log1p(-s)
    if prior.kind == "loguniform":
        s = jnp.log(x / prior.a) / jnp.log(prior.b / prior.a)
        return jnp.log(s) - jnp.log1p(-s)
    return x


def log_prior_and_jacobian(prior: Prior, u):
    """log p(x) + log |dx/du| up to a constant (the density of u)."""
    if prior.kind in ("uniform", "loguniform"):
        return jax.nn.log_sigmoid(u) + jax.nn.log_sigmoid(-u)
    if prior.kind == "gaussian":
        return -0.5 * ((u - prior.a) / prior.b) ** 2
    return jnp.zeros_like(u)


def log_prior(prior: Prior, x):
    """log p(x) up to a constant, inside the support (the objective of a best fit)."""
    if prior.kind == "loguniform":
        return -jnp.log(x)
    if prior.kind == "gaussian":
        return -0.5 * ((x - prior.a) / prior.b) ** 2
    return jnp.zeros_like(x)


def unconstrained_scale(p: Param, x0: float) -> float:
    """Typical width in u of a parameter (for the initial mass matrix and initial jitter)."""
    scale = p.scale or p.prior.width
    if p.prior.kind == "uniform":
        s = (x0 - p.prior.a) / (p.prior.b - p.prior.a)
        return scale / ((p.prior.b - p.prior.a) * s * (1 - s))
    if p.prior.kind == "loguniform":
        s = np.log(x0 / p.prior.a) / np.log(p.prior.b / p.prior.a)
        return scale / (x0 * np.log(p.prior.b / p.prior.a) * s * (1 - s))
    return scale


@dataclasses.dataclass(frozen=True)
class Posterior:
    """Everything a sampler needs: ``log_density(u)``, the u <-> x maps, a start and scales."""

    config: RunConfig
    likelihood: lk.Combination
    theory: Callable[[dict], lk.Theory]
    derived_fn: Callable[[dict], dict]
    params: tuple[Param, ...]
    fixed: dict[str, float]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def dim(self) -> int:
        return len(self.params)

    def constrained(self, u) -> dict:
        """Sampled parameters (dict of arrays) from u (last axis = parameters)."""
        return {p.name: to_constrained(p.prior, u[..., i]) for i, p in enumerate(self.params)}

    def all_params(self, u) -> dict:
        return {**self.fixed, **self.constrained(u)}

    def log_density(self, u):
        x = self.all_params(u)
        lp = sum((log_prior_and_jacobian(p.prior, u[i]) for i, p in enumerate(self.params)), jnp.asarray(0.0))
        theory = self.theory(x)
        value = lp + self.likelihood.log_likelihood(theory, x) + self.likelihood.log_prior(x)
        return jnp.where(jnp.isfinite(value), value, -jnp.inf)

    def log_posterior(self, u):
        """log prior(x) + ln L(x) at x = x(u), without the Jacobian |dx/du|: the density in the
        physical parameters, whose maximum is the best fit (MAP)."""
        x = self.all_params(u)
        lp = sum((log_prior(p.prior, x[p.name]) for p in self.params), jnp.asarray(0.0))
        value = lp + self.likelihood.log_likelihood(self.theory(x), x) + self.likelihood.log_prior(x)
        return jnp.where(jnp.isfinite(value), value, -jnp.inf)

    def derived(self, u) -> dict:
        return self.derived_fn(self.all_params(u))

    def reference_point(self) -> np.ndarray:
        """u of the starting point: ``ref`` if given, else the theory's fiducial, else the prior centre."""
        fid = getattr(self.theory, "fiducial_params", {})
        out = []
        for p in self.params:
            x0 = p.ref if p.ref is not None else fid.get(p.name, self.likelihood.defaults.get(p.name, p.prior.centre))
            if p.prior.kind in ("uniform", "loguniform") and not p.prior.a < x0 < p.prior.b:
                x0 = p.prior.centre
            out.append(float(to_unconstrained(p.prior, x0)))
        return np.asarray(out)

    def scales(self) -> np.ndarray:
        u0 = self.reference_point()
        x0 = {k: float(v) for k, v in self.constrained(jnp.asarray(u0)).items()}
        return np.asarray([unconstrained_scale(p, x0[p.name]) for p in self.params])


def build_theory(config: RunConfig, requirements: lk.Requirements):
    """The theory provider: ``params -> likelihoods.Theory`` and ``params -> derived dict``."""
    kind = config.theory["kind"]
    if kind == "linear":
        from .standin import TABLE, LinearCl

        linear = LinearCl.load(config.theory.get("table") or TABLE)
        linear.supports(requirements)
        return linear, linear.derived
    if kind == "cosmo":
        import cosmo

        prec = config.theory.get("precision", "default")
        allow_unlensed = bool(config.theory.get("allow_unlensed", False))
        l_max = requirements.l_max or None
        need_pk = any(name in ("sigma8", "S8") for name in config.derived)
        # lensed CMB spectra whenever a likelihood reads TT/TE/EE/BB (C^phiphi alone needs no lensing)
        lensing = any(key in lk.theory.CMB_KEYS for key in requirements.cl) and not allow_unlensed

        def solve(x):
            return cosmo.solve(cosmo.params.resolve(dict(x)), prec, pk=need_pk, l_max=l_max, lensing=lensing)

        def theory(x):
            return lk.adapters.from_solution(solve(x), requirements, allow_unlensed=allow_unlensed)

        def derived(x):
            sol = solve(x)
            names = [n for n in config.derived if n not in ("sigma8", "S8")]
            out = dict(cosmo.derived_parameters(sol, names)) if names else {}
            if need_pk:
                out["sigma8"] = sol.sigma8
                out["S8"] = sol.sigma8 * jnp.sqrt(sol.background.Omega0_m / 0.3)
            return out

        return theory, derived
    raise ValueError(f"unknown theory kind {kind!r}")


def build_posterior(config: RunConfig) -> Posterior:
    likes = []
    for name, options in config.likelihoods.items():
        try:
            likes.append(lk.get(name, config.data_dir, **options))
        except KeyError as err:
            raise ValueError(err.args[0]) from None
    combo = lk.Combination(likes)
    theory, derived_fn = build_theory(config, combo.requirements)
    sampled = {p.name for p in config.sampled}
    params = list(config.sampled)
    fixed = dict(config.fixed)
    # nuisance parameters with a likelihood prior are sampled unless fixed; others take their defaults
    prior_scale = {}
    for prior in combo.priors:
        if isinstance(prior, lk.GaussianPrior):
            prior_scale[prior.names[0]] = prior.std
        elif isinstance(prior, lk.MultivariateGaussianPrior):
            prior_scale.update(zip(prior.names, np.sqrt(np.diag(prior.cov))))
        else:
            prior_scale.update({n: None for n in prior.names})
    for name, default in combo.defaults.items():
        if name in sampled or name in fixed:
            continue
        if name in prior_scale:
            params.append(Param(name, Prior("flat"), ref=default, scale=prior_scale[name]))
        else:
            fixed[name] = default
    missing = [n for n in combo.requirements.params if n not in sampled and n not in fixed]
    if missing:
        raise ValueError(f"the likelihoods read {missing}: sample them (params with a prior) or fix them")
    theta = "100*theta_s" in sampled
    if theta and any(n in sampled or n in fixed for n in ("h", "H0")):
        raise ValueError("sample either h or 100*theta_s, not both (h is derived from 100*theta_s)")
    if config.theory["kind"] == "linear":
        from .standin import NAMES

        unknown = [n for n in sampled if n not in NAMES and n not in combo.defaults and n != "100*theta_s"]
        if unknown:
            raise ValueError(f"the linear stand-in depends only on {NAMES} (or 100*theta_s instead of h); "
                             f"cannot sample {unknown}")
        fid = theory.fiducial_params
        fixed = {**{n: fid[n] for n in NAMES if n not in sampled and not (theta and n == "h")}, **fixed}
    return Posterior(config, combo, theory, derived_fn, tuple(params), fixed)
