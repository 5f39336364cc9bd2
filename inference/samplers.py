"""NUTS/HMC with numpyro or blackjax: window adaptation, several chains, chunked sampling with
atomic checkpoints (a killed run resumes from its last chunk), progress bars.

Both backends sample the same unconstrained log density (:mod:`inference.model`), in
coordinates whitened by default with the Laplace approximation at the MAP (L-BFGS, then the
Hessian), else with the config's ``covmat`` or the parameter scales (:class:`Preconditioner`).
Chains start within 0.1 sigma of that centre. Warm-up (step size + diagonal or dense mass matrix) runs first and
is checkpointed as a whole; draws follow in chunks of ``checkpoint_every``, each followed by
a checkpoint written atomically (temporary file + rename). The random state is part of the checkpoint, so for the same seed an interrupted and
resumed run gives the same draws as an uninterrupted one (same machine and versions).

Chains run vectorised (``vmap``) inside one compiled program per chunk length, for both
backends (numpyro's transition function or blackjax's kernel in a ``lax.scan``); with several
local devices (GPUs) the chain axis is sharded over them (numpyro's warm-up: one device per
chain). Several nodes run independent chain groups (``cosmo sample --chain-group K``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import pickle
import sys
import tempfile
import time
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .model import Posterior

CHECKPOINT = "checkpoint.pkl"
STAT_KEYS = ("diverging", "acceptance_rate", "step_size", "n_steps", "lp")


@dataclasses.dataclass
class SampleResult:
    draws_u: np.ndarray  # (chains, draws, dim)
    stats: dict[str, np.ndarray]  # each (chains, draws)
    warmup_seconds: float
    sampling_seconds: float
    n_gradient_evals: int


def config_hash(config) -> str:
    text = json.dumps(config.resolved(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save_atomic(path: pathlib.Path, obj: Any) -> None:
    """Write a pickle so that ``path`` is always either the old or the new complete file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(run_dir: pathlib.Path) -> dict | None:
    path = run_dir / CHECKPOINT
    if not path.exists():
        return None
    with open(path, "rb") as f:
        return pickle.load(f)


def initial_covariance(posterior: Posterior) -> np.ndarray:
    """The starting guess of the posterior covariance in u: from the config's covmat (CosmoMC
    format, header = parameter names) where it names a parameter, else the parameter scales;
    mapped to u-space with the Jacobian at the start."""
    scales = posterior.scales()
    cov = np.diag(scales**2)
    path = posterior.config.sampler.get("covmat")
    if path:
        with open(path) as f:
            header = f.readline().lstrip("#").split()
        table = np.loadtxt(path, comments="#")
        aliases = {"omegabh2": "omega_b", "omegach2": "omega_cdm", "tau": "tau_reio", "ns": "n_s",
                   "logA": "ln10^{10}A_s", "calPlanck": "A_planck", "H0": "H0"}
        names = [aliases.get(n, n) for n in header]
        u0 = posterior.reference_point()
        # du/dx for each parameter at the start
        dudx = np.array([float(jax.grad(lambda u, i=i: posterior.constrained(u)[posterior.names[i]])(
            jnp.asarray(u0))[i]) for i in range(posterior.dim)])
        idx = {n: i for i, n in enumerate(names)}
        for a, pa in enumerate(posterior.names):
            for b, pb in enumerate(posterior.names):
                if pa in idx and pb in idx:
                    cov[a, b] = table[idx[pa], idx[pb]] / (dudx[a] * dudx[b])
    return cov


@dataclasses.dataclass(frozen=True)
class Preconditioner:
    """Affine whitening u = u0 + L z with L L^T the initial covariance guess.

    Both backends sample z, where the posterior is close to a unit Gaussian from the start:
    window adaptation then begins with a good mass matrix (blackjax's always starts from the
    identity) and the Jacobian is a constant. Draws are mapped back to u.
    """

    u0: np.ndarray
    L: np.ndarray

    @classmethod
    def build(cls, posterior: Posterior, init: str = "laplace") -> Preconditioner:
        """``laplace``: centred on the MAP with the inverse Hessian of -log density (in u) there,
        so the sampled density is close to a unit Gaussian; ``reference``: the reference point
        with the covmat / parameter scales. Laplace falls back to reference where the Hessian is
        not positive definite (a posterior piled up against a prior edge)."""
        if init == "laplace":
            from .bestfit import find_map

            u = jnp.asarray(find_map(posterior, restarts=1).u)
            hess = np.asarray(jax.hessian(lambda u: -posterior.log_density(u))(u))
            try:
                return cls(np.asarray(u), np.linalg.cholesky(np.linalg.inv(hess)))
            except np.linalg.LinAlgError:
                warnings.warn("Laplace start: the Hessian at the MAP is not positive definite; "
                              "starting from the reference point and covmat/scales instead", stacklevel=2)
        return cls(posterior.reference_point(), np.linalg.cholesky(initial_covariance(posterior)))

    def log_density(self, posterior: Posterior):
        u0, L = jnp.asarray(self.u0), jnp.asarray(self.L)
        return lambda z: posterior.log_density(u0 + L @ z)

    def to_u(self, z: np.ndarray) -> np.ndarray:
        return self.u0 + np.asarray(z) @ self.L.T


def initial_positions(dim: int, chains: int, key) -> np.ndarray:
    """Starting points in the whitened space: the reference point jittered by 0.1 sigma."""
    return 0.1 * np.asarray(jax.random.normal(key, (chains, dim)))


class _Progress:
    """A tqdm bar over draws with step size, acceptance and divergences in the postfix."""

    def __init__(self, total: int, initial: int, enabled: bool, desc: str):
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=desc, unit="draw")

    def update(self, n: int, stats: dict[str, np.ndarray], divergences: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix(step=f"{np.mean(stats['step_size'][:, -1]):.3g}",
                                 accept=f"{np.mean(stats['acceptance_rate']):.2f}", divergent=divergences)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- numpyro
def _numpyro_kernel(log_density, settings: dict):
    from numpyro.infer import HMC, NUTS

    def potential(z):
        return -log_density(z)

    common = {"potential_fn": potential, "target_accept_prob": settings["target_accept"],
              "dense_mass": bool(settings["dense_mass"])}
    if settings["algorithm"] == "nuts":
        return NUTS(max_tree_depth=settings["max_tree_depth"], **common)
    return HMC(num_steps=settings["num_steps"], trajectory_length=None, **common)


def _numpyro_mcmc(kernel, settings: dict, num_samples: int, progress: bool):
    from numpyro.infer import MCMC

    chains = settings["chains"]
    method = "parallel" if jax.local_device_count() >= chains > 1 else "vectorized"
    return MCMC(kernel, num_warmup=settings["warmup"], num_samples=num_samples, num_chains=chains,
                chain_method=method, progress_bar=progress)


def _numpyro_chunk(kernel, n: int):
    """n transitions of every chain (chain axis first), one compiled program reused by every chunk."""

    @jax.jit
    def run(state):
        def body(state, _):
            state = jax.vmap(lambda s: kernel.sample(s, (), {}))(state)
            stats = {"diverging": state.diverging, "acceptance_rate": state.accept_prob,
                     "step_size": state.adapt_state.step_size, "n_steps": state.num_steps,
                     "lp": -state.potential_energy}
            return state, (state.z, stats)

        state, (z, stats) = jax.lax.scan(body, state, None, length=n)
        return state, jnp.swapaxes(z, 0, 1), jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), stats)

    return run


# --------------------------------------------------------------------------- blackjax
def _blackjax_step(log_density, settings: dict):
    import blackjax

    if settings["algorithm"] == "nuts":
        kernel = blackjax.nuts.build_kernel()

        def step(key, state, step_size, imm):
            return kernel(key, state, log_density, step_size, imm, max_num_doublings=settings["max_tree_depth"])
    else:
        kernel = blackjax.hmc.build_kernel()
        jitter = float(settings.get("num_steps_jitter") or 0.0)

        n = int(settings["num_steps"])
        lo, hi = max(1, round(n * (1.0 - jitter))), max(1, round(n * (1.0 + jitter)))

        def step(key, state, step_size, imm):
            num_steps = n
            if hi > lo:  # a trajectory length drawn per draw: no (near-)periodic fixed trajectories
                key, sub = jax.random.split(key)
                num_steps = jax.random.randint(sub, (), lo, hi + 1)
            return kernel(key, state, log_density, step_size, imm, num_steps)
    return step


def _blackjax_warmup(log_density, settings: dict, positions, key):
    import blackjax

    algorithm = blackjax.nuts if settings["algorithm"] == "nuts" else blackjax.hmc
    extra = {} if settings["algorithm"] == "nuts" else {"num_integration_steps": settings["num_steps"]}
    adaptation = blackjax.window_adaptation(
        algorithm, log_density, is_mass_matrix_diagonal=not settings["dense_mass"],
        target_acceptance_rate=settings["target_accept"], **extra)

    def one(key, position):
        (state, params), _ = adaptation.run(key, position, num_steps=settings["warmup"])
        return state, params["step_size"], params["inverse_mass_matrix"]

    keys = jax.random.split(key, settings["chains"])
    return jax.jit(jax.vmap(one))(keys, jnp.asarray(positions))


def _blackjax_chunk(log_density, settings: dict, n: int):
    step = _blackjax_step(log_density, settings)
    vstep = jax.vmap(step)

    @jax.jit
    def run(key, state, step_size, imm):
        def body(state, key):
            keys = jax.random.split(key, settings["chains"])
            state, info = vstep(keys, state, step_size, imm)
            n_steps = info.num_integration_steps
            stats = {"diverging": info.is_divergent, "acceptance_rate": info.acceptance_rate,
                     "step_size": step_size, "n_steps": n_steps, "lp": state.logdensity}
            return state, (state.position, stats)

        state, (pos, stats) = jax.lax.scan(body, state, jax.random.split(key, n))
        return state, jnp.swapaxes(pos, 0, 1), jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), stats)

    return run


def _shard_chains(tree):
    """Put the chain axis across local devices when there are several (GPUs)."""
    n = jax.local_device_count()
    if n < 2:
        return tree
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.local_devices()), ("chains",))

    def put(a):
        if getattr(a, "ndim", 0) >= 1 and a.shape[0] % n == 0:
            return jax.device_put(a, NamedSharding(mesh, PartitionSpec("chains")))
        return a
    return jax.tree.map(put, tree)


# --------------------------------------------------------------------------- driver
def sample(posterior: Posterior, run_dir: pathlib.Path, progress: bool = True, resume: bool = True) -> SampleResult:
    """Run (or resume) the sampler of ``posterior.config`` writing checkpoints to ``run_dir``.

    The checkpoint holds the sampler state (positions, step size, adapted mass matrix, random
    keys), the preconditioner and all draws so far; it is replaced atomically after warm-up
    and after every ``checkpoint_every`` draws. A run resumed from it continues exactly where
    the interrupted one would have gone: the same seed gives bit-identical chains.
    """
    config = posterior.config
    settings = config.sampler
    run_dir.mkdir(parents=True, exist_ok=True)
    chash = config_hash(config)
    ckpt = load_checkpoint(run_dir) if resume else None
    if ckpt is not None and ckpt["config_hash"] != chash:
        raise RuntimeError(f"{run_dir} holds a run of a different configuration ({ckpt['config_hash']} != {chash}); "
                           "use another output directory, or --restart to overwrite it")
    backend, chains, total = settings["backend"], settings["chains"], settings["samples"]
    chunk = min(settings["checkpoint_every"], total)

    if ckpt is None:
        pre = Preconditioner.build(posterior, settings["init"])
        log_density = pre.log_density(posterior)
        key, k_init, k_warm = jax.random.split(jax.random.PRNGKey(config.seed), 3)
        positions = jnp.asarray(initial_positions(posterior.dim, chains, k_init))
        t0 = time.perf_counter()
        if backend == "numpyro":
            mcmc = _numpyro_mcmc(_numpyro_kernel(log_density, settings), settings, chunk, progress)
            # numpyro takes one chain's position without the chain axis
            mcmc.warmup(k_warm, init_params=positions if chains > 1 else positions[0])
            state = jax.device_get(mcmc.last_state)
            if chains == 1:
                state = jax.tree.map(lambda a: np.asarray(a)[None], state)
        else:
            if progress:  # blackjax's adaptation runs inside one compiled program: no per-step bar
                print(f"warm-up: blackjax window adaptation, {settings['warmup']} steps x {chains} chains ...",
                      file=sys.stderr, flush=True)
            state = jax.device_get(_blackjax_warmup(log_density, settings, positions, k_warm))
        ckpt = {"version": 1, "backend": backend, "config_hash": chash, "preconditioner": pre, "state": state,
                "key": np.asarray(key), "draws_u": np.zeros((chains, 0, posterior.dim)),
                "stats": {k: np.zeros((chains, 0)) for k in STAT_KEYS},
                "warmup_seconds": time.perf_counter() - t0, "sampling_seconds": 0.0, "n_gradient_evals": 0}
        save_atomic(run_dir / CHECKPOINT, ckpt)

    pre = ckpt["preconditioner"]
    log_density = pre.log_density(posterior)
    done = ckpt["draws_u"].shape[1]
    bar = _Progress(total, done, progress, f"{backend} {settings['algorithm']} x{chains}")
    runners: dict[int, Any] = {}
    if backend == "numpyro":
        kernel = _numpyro_kernel(log_density, settings)
        # builds the kernel's transition function; the state itself comes from the checkpoint
        kernel.init(jax.random.PRNGKey(0), 0, jnp.asarray(ckpt["state"].z[0]), (), {})
    while done < total:
        n = min(chunk, total - done)
        t0 = time.perf_counter()
        key = jnp.asarray(ckpt["key"])
        if backend == "numpyro":
            if n not in runners:
                runners[n] = _numpyro_chunk(kernel, n)
            state, draws_z, stats = runners[n](_shard_chains(ckpt["state"]))
            state = jax.device_get(state)
        else:
            if n not in runners:
                runners[n] = _blackjax_chunk(log_density, settings, n)
            st, step_size, imm = ckpt["state"]
            key, sub = jax.random.split(key)
            st, draws_z, stats = runners[n](sub, _shard_chains(st), step_size, imm)
            state = jax.device_get((st, step_size, imm))
        stats = {k: np.asarray(v) for k, v in stats.items()}
        draws_u = pre.to_u(np.asarray(draws_z))
        ckpt = {**ckpt, "state": state, "key": np.asarray(key),
                "draws_u": np.concatenate([ckpt["draws_u"], draws_u], axis=1),
                "stats": {k: np.concatenate([ckpt["stats"][k], stats[k]], axis=1) for k in STAT_KEYS},
                "sampling_seconds": ckpt["sampling_seconds"] + time.perf_counter() - t0,
                "n_gradient_evals": ckpt["n_gradient_evals"] + int(np.sum(stats["n_steps"]))}
        save_atomic(run_dir / CHECKPOINT, ckpt)
        done += n
        bar.update(n, stats, int(np.sum(ckpt["stats"]["diverging"])))
    bar.close()
    return SampleResult(ckpt["draws_u"], ckpt["stats"], ckpt["warmup_seconds"], ckpt["sampling_seconds"],
                        ckpt["n_gradient_evals"])
