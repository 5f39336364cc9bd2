"""Likelihood base class, nuisance priors, combinations and the Gaussian chi-square.

Conventions: ``log_likelihood(theory, params)`` is ln L = -chi^2 / 2 with no normalisation
constant (as Cobaya, clik and candl report it), *without* the nuisance priors;
``log_prior(params)`` is the sum of the likelihood's own nuisance priors (Gaussian priors
also without their constant, so ``log_likelihood + log_prior`` equals candl's
``-log_like``). ``params`` is a flat dict of cosmological and nuisance parameters; missing
nuisance parameters take :attr:`Likelihood.defaults` (their prior means) via
:meth:`Likelihood.with_defaults`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import equinox as eqx
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
from jaxtyping import Array, Float

from .theory import Requirements, Theory

Params = Mapping[str, Float[Array, ""] | float]


class Prior(eqx.Module):
    """A prior on one or more named parameters; ``log_prob`` has no normalisation constant."""

    names: tuple[str, ...] = eqx.field(static=True)

    def log_prob(self, params: Params) -> Float[Array, ""]:
        raise NotImplementedError

    def key(self) -> tuple:
        """Identity used to count a prior shared by several likelihoods only once."""
        leaves = [np.asarray(x).tobytes() for x in (getattr(self, f) for f in self.__dataclass_fields__)
                  if not isinstance(x, (str, tuple))]
        return (type(self).__name__, self.names, *leaves)


class GaussianPrior(Prior):
    mean: float = eqx.field(static=True)
    std: float = eqx.field(static=True)

    def __init__(self, name: str, mean: float, std: float):
        self.names = (name,)
        self.mean = float(mean)
        self.std = float(std)

    def log_prob(self, params: Params) -> Float[Array, ""]:
        return -0.5 * ((jnp.asarray(params[self.names[0]]) - self.mean) / self.std) ** 2

    def key(self) -> tuple:
        return ("Gaussian", self.names, self.mean, self.std)


class MultivariateGaussianPrior(Prior):
    mean: np.ndarray
    cov: np.ndarray

    def __init__(self, names: Sequence[str], mean, cov):
        self.names = tuple(names)
        self.mean = np.asarray(mean, dtype=float)
        self.cov = np.atleast_2d(np.asarray(cov, dtype=float))

    def log_prob(self, params: Params) -> Float[Array, ""]:
        x = jnp.stack([jnp.asarray(params[n], dtype=jnp.float64) for n in self.names]) - self.mean
        return -0.5 * x @ jnp.linalg.solve(jnp.asarray(self.cov), x)


class UniformPrior(Prior):
    lower: float = eqx.field(static=True)
    upper: float = eqx.field(static=True)

    def __init__(self, name: str, lower: float, upper: float):
        self.names = (name,)
        self.lower = float(lower)
        self.upper = float(upper)

    def log_prob(self, params: Params) -> Float[Array, ""]:
        x = jnp.asarray(params[self.names[0]])
        return jnp.where((x >= self.lower) & (x <= self.upper), 0.0, -jnp.inf)

    def key(self) -> tuple:
        return ("Uniform", self.names, self.lower, self.upper)


class GaussianChi2(eqx.Module):
    """chi^2 = d^T C^-1 d for a fixed covariance C, through its Cholesky factor (stable, exact)."""

    chol: np.ndarray

    def __init__(self, cov):
        cov = np.asarray(cov, dtype=float)
        if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
            raise ValueError(f"covariance must be square, got shape {cov.shape}")
        self.chol = np.linalg.cholesky(cov)

    def __call__(self, d: Float[Array, " n"]) -> Float[Array, ""]:
        y = jsl.solve_triangular(jnp.asarray(self.chol), d, lower=True)
        return jnp.sum(y * y, axis=0)


class Likelihood(eqx.Module):
    """Base class: a name, requirements, nuisance defaults and priors, and ``log_likelihood``."""

    name: str = eqx.field(static=True)

    @property
    def requirements(self) -> Requirements:
        raise NotImplementedError

    @property
    def defaults(self) -> dict[str, float]:
        """Nuisance parameters and their default values (prior means)."""
        return {}

    @property
    def priors(self) -> tuple[Prior, ...]:
        return ()

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        raise NotImplementedError

    def log_prior(self, params: Params) -> Float[Array, ""]:
        params = self.with_defaults(params)
        return sum((p.log_prob(params) for p in self.priors), jnp.asarray(0.0))

    def with_defaults(self, params: Params | None) -> dict:
        return {**self.defaults, **(params or {})}

    def __call__(self, theory: Theory, params: Params | None = None) -> Float[Array, ""]:
        """ln L at ``params`` (nuisance parameters not given take their defaults)."""
        return self.log_likelihood(theory, self.with_defaults(params))


class Combination(Likelihood):
    """A sum of likelihoods with shared parameters (a nuisance prior shared is counted once)."""

    likelihoods: tuple[Likelihood, ...]

    def __init__(self, likelihoods: Sequence[Likelihood], name: str | None = None):
        self.likelihoods = tuple(likelihoods)
        self.name = name or " + ".join(like.name for like in self.likelihoods)
        self.defaults  # noqa: B018  (fail early on conflicting defaults)
        self.priors  # noqa: B018

    @property
    def requirements(self) -> Requirements:
        return Requirements.union(like.requirements for like in self.likelihoods)

    @property
    def defaults(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for like in self.likelihoods:
            for key, value in like.defaults.items():
                if key in out and out[key] != value:
                    raise ValueError(f"likelihoods disagree on the default of {key!r}: {out[key]} vs {value}")
                out[key] = value
        return out

    @property
    def priors(self) -> tuple[Prior, ...]:
        seen: dict[tuple[str, ...], Prior] = {}
        for like in self.likelihoods:
            for prior in like.priors:
                if prior.names in seen:
                    if seen[prior.names].key() != prior.key():
                        raise ValueError(f"likelihoods set different priors on {prior.names}")
                    continue
                seen[prior.names] = prior
        return tuple(seen.values())

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        return sum((like.log_likelihood(theory, params) for like in self.likelihoods), jnp.asarray(0.0))

    def log_likelihoods(self, theory: Theory, params: Params | None = None) -> dict[str, Float[Array, ""]]:
        """ln L of each member (nuisance defaults filled in)."""
        params = self.with_defaults(params)
        return {like.name: like.log_likelihood(theory, params) for like in self.likelihoods}
