"""Maximum a posteriori with optax, and the Laplace (inverse-Hessian) covariance at the optimum.

The optimiser works on the unconstrained u of :mod:`inference.model` (bounded priors cannot be
left); several restarts from jittered starts, the best kept. The covariance is returned in the
constrained parameters (x), ready to start chains (``sampler.covmat``) or as a Fisher forecast.
"""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from .model import Posterior, to_unconstrained


@dataclasses.dataclass
class BestFit:
    names: tuple[str, ...]
    x: dict[str, float]
    log_posterior: float
    covariance: np.ndarray  # in x
    steps: int
    u: np.ndarray  # the optimum in the unconstrained coordinates

    def write(self, run_dir: pathlib.Path) -> pathlib.Path:
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / "bestfit.txt", "w") as f:
            f.write(f"# log posterior at the optimum: {self.log_posterior:.6f}\n")
            f.writelines(f"{n} {self.x[n]:.10g}\n" for n in self.names)
        path = run_dir / "bestfit.covmat"
        np.savetxt(path, self.covariance, header=" ".join(self.names), comments="# ")
        return path


def find_map(posterior: Posterior, steps: int | None = None, learning_rate: float | None = None,
             restarts: int | None = None, seed: int | None = None) -> BestFit:
    """Maximise log prior + log likelihood in the physical parameters.

    ``optimizer.method``: ``lbfgs`` (default; optax L-BFGS with a zoom line search, converges
    to machine precision on smooth posteriors) or ``adam`` (robust on rough starts). Several
    restarts from jittered starts; the best is kept.
    """
    import optax

    opts = posterior.config.optimizer
    steps = int(steps or opts["steps"])
    restarts = int(restarts or opts["restarts"])
    lr = float(learning_rate or opts["learning_rate"])
    method = opts.get("method", "lbfgs")
    scales = jnp.asarray(posterior.scales())
    u0 = jnp.asarray(posterior.reference_point())

    # optimise the density in x (no Jacobian) over u, in units of the parameter scales
    def loss(z):
        return -posterior.log_posterior(u0 + z * scales)

    optimiser = optax.lbfgs() if method == "lbfgs" else optax.adam(lr)
    value_and_grad = optax.value_and_grad_from_state(loss) if method == "lbfgs" else jax.value_and_grad(loss)

    @jax.jit
    def run(z):
        def body(carry, _):
            z, state = carry
            if method == "lbfgs":
                value, grad = value_and_grad(z, state=state)
                updates, state = optimiser.update(grad, state, z, value=value, grad=grad, value_fn=loss)
            else:
                value, grad = value_and_grad(z)
                grad = jnp.where(jnp.isfinite(grad), grad, 0.0)
                updates, state = optimiser.update(grad, state, z)
            return (optax.apply_updates(z, updates), state), value

        (z, _), values = jax.lax.scan(body, (z, optimiser.init(z)), None, length=steps)
        return z, loss(z), values

    key = jax.random.PRNGKey(posterior.config.seed if seed is None else seed)
    starts = [jnp.zeros_like(u0)] + [0.5 * jax.random.normal(k, u0.shape) for k in jax.random.split(key, restarts - 1)]
    best = None
    for z in starts:
        z, value, _ = run(z)
        if jnp.isfinite(value) and (best is None or float(value) < float(best[1])):
            best = (z, value)
    if best is None:
        raise RuntimeError("every best-fit start ended at a non-finite posterior (unphysical region?)")
    u = u0 + best[0] * scales
    x = {k: float(v) for k, v in posterior.constrained(u).items()}
    # Laplace: the inverse Hessian of -log posterior in x (u -> x is one-to-one, so the
    # objective is a function of x through u(x))
    def neg_log_post_x(xv):
        return -posterior.log_posterior(jnp.stack([to_unconstrained(p.prior, xv[i])
                                                   for i, p in enumerate(posterior.params)]))

    xv = jnp.asarray([x[n] for n in posterior.names])
    cov_x = np.linalg.inv(np.asarray(jax.hessian(neg_log_post_x)(xv)))
    return BestFit(posterior.names, x, float(-best[1]), cov_x, steps, np.asarray(u))
