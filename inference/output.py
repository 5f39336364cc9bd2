"""Run outputs: ArviZ InferenceData (netCDF), GetDist text chains, the resolved config, versions,
and summaries (means, sigmas, R-hat, ESS, divergences) and plots.

Layout of a run directory::

    config.resolved.yaml   the configuration with all defaults
    versions.json          package versions and the device
    checkpoint.pkl         sampler state and draws so far (resumable)
    posterior.nc           ArviZ InferenceData: posterior (sampled + derived), sample_stats
    chains/chain_N.txt     GetDist: weight, -log posterior, parameters (+ chains/chain.paramnames)
    summary.txt            the table printed by `cosmo summary`
"""

from __future__ import annotations

import importlib
import json
import pathlib
import platform

import jax
import jax.numpy as jnp
import numpy as np
import yaml

from .model import Posterior
from .samplers import SampleResult

POSTERIOR = "posterior.nc"


def write_run_info(run_dir: pathlib.Path, posterior: Posterior) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.resolved.yaml").write_text(yaml.safe_dump(posterior.config.resolved(), sort_keys=False))
    versions = {"python": platform.python_version(), "device": str(jax.devices()[0])}
    for mod in ("cosmo", "jax", "numpyro", "blackjax", "optax", "arviz", "equinox", "diffrax", "numpy"):
        try:
            m = importlib.import_module(mod)
            versions[mod] = getattr(m, "__version__", "?")
        except ImportError:
            versions[mod] = None
    (run_dir / "versions.json").write_text(json.dumps(versions, indent=1))


def constrained_draws(posterior: Posterior, draws_u: np.ndarray) -> dict[str, np.ndarray]:
    """Sampled and derived parameters, each (chains, draws)."""
    flat = jnp.asarray(draws_u.reshape(-1, draws_u.shape[-1]))
    out = {k: np.asarray(v) for k, v in jax.jit(jax.vmap(posterior.constrained))(flat).items()}
    if posterior.config.derived:
        derived = jax.jit(jax.vmap(posterior.derived))(flat)
        missing = [n for n in posterior.config.derived if n not in derived]
        if missing:
            raise ValueError(f"derived parameters {missing} are not provided by theory.kind = "
                             f"{posterior.config.theory['kind']}")
        out.update({k: np.asarray(derived[k]) for k in posterior.config.derived})
    return {k: v.reshape(draws_u.shape[:2]) for k, v in out.items()}


GETDIST_NAMES = {"ln10^{10}A_s": "logA", "100*theta_s": "theta_s_100", "A_planck": "calPlanck"}


def getdist_name(name: str) -> str:
    """A GetDist/Cobaya-style name (letters, digits, underscores) for a CLASS parameter name."""
    if name in GETDIST_NAMES:
        return GETDIST_NAMES[name]
    return "".join(c if c.isalnum() or c == "_" else "_" for c in name)


def write_outputs(run_dir: pathlib.Path, posterior: Posterior, result: SampleResult):
    import arviz as az

    draws = constrained_draws(posterior, result.draws_u)
    idata = az.from_dict(posterior=draws, sample_stats={
        "diverging": result.stats["diverging"].astype(bool), "acceptance_rate": result.stats["acceptance_rate"],
        "step_size": result.stats["step_size"], "n_steps": result.stats["n_steps"], "lp": result.stats["lp"]},
        attrs={"backend": posterior.config.sampler["backend"], "algorithm": posterior.config.sampler["algorithm"],
               "warmup_seconds": result.warmup_seconds, "sampling_seconds": result.sampling_seconds,
               "n_gradient_evals": result.n_gradient_evals,
               # cosmological parameters (sampled, then derived): the corner plot's default
               "corner_params": json.dumps([p.name for p in posterior.params
                                            if p.name not in posterior.likelihood.defaults])})
    idata.to_netcdf(str(run_dir / POSTERIOR))
    chains_dir = run_dir / "chains"
    chains_dir.mkdir(exist_ok=True)
    names = list(draws)
    latex = {p.name: p.latex or p.name for p in posterior.params}
    with open(chains_dir / "chain.paramnames", "w") as f:
        for n in names:
            star = "*" if n in posterior.config.derived else ""
            f.write(f"{getdist_name(n)}{star}\t{latex.get(n, n)}\n")
    for c in range(result.draws_u.shape[0]):
        table = np.column_stack([np.ones(result.draws_u.shape[1]), -result.stats["lp"][c],
                                 *[draws[n][c] for n in names]])
        np.savetxt(chains_dir / f"chain_{c + 1}.txt", table, fmt="%.10e")
    return idata


def summary_table(run_dir: pathlib.Path, reference: dict[str, tuple[float, float]] | None = None) -> str:
    """Means, sigmas, R-hat, bulk ESS per parameter; divergences; optional reference columns."""
    import arviz as az

    idata = az.from_netcdf(str(run_dir / POSTERIOR))
    summ = az.summary(idata, kind="all", round_to="none")
    div = int(np.asarray(idata.sample_stats["diverging"]).sum())
    n_chains, n_draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    lines = [(f"{run_dir}: {n_chains} chains x {n_draws} draws, {div} divergences, "
              f"{idata.attrs.get('backend')} {idata.attrs.get('algorithm')}, "
              f"sampling {float(idata.attrs.get('sampling_seconds', 0)):.1f} s")]
    head = f"{'parameter':16s} {'mean':>13s} {'sigma':>12s} {'r_hat':>7s} {'ess_bulk':>9s}"
    if reference:
        head += f" {'ref mean':>13s} {'ref sigma':>12s} {'(m-ref)/sig':>11s}"
    lines.append(head)
    for name in idata.posterior.data_vars:
        row = summ.loc[name]
        line = f"{name:16s} {row['mean']:13.6g} {row['sd']:12.4g} {row['r_hat']:7.4f} {row['ess_bulk']:9.0f}"
        if reference and name in reference:
            m, s = reference[name]
            line += f" {m:13.6g} {s:12.4g} {(row['mean'] - m) / s:11.3f}"
        lines.append(line)
    text = "\n".join(lines)
    (run_dir / "summary.txt").write_text(text + "\n")
    return text


def plot_run(run_dir: pathlib.Path, fmt: str = "png", var_names: list[str] | None = None) -> list[pathlib.Path]:
    """Corner (pair: 2D KDE contours, marginals on the diagonal, divergences marked) and trace
    plots; by default of the sampled cosmological parameters (nuisance parameters and derived
    ones are in the trace plot and the table)."""
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    idata = az.from_netcdf(str(run_dir / POSTERIOR))
    out = []
    if var_names is None and "corner_params" in idata.attrs:
        var_names = json.loads(idata.attrs["corner_params"])
    with az.rc_context({"plot.max_subplots": 200}):
        axes = az.plot_pair(idata, var_names=var_names, kind="kde", marginals=True, divergences=True,
                            kde_kwargs={"contour": True, "fill_last": False, "hdi_probs": [0.68, 0.95]})
    fig = np.atleast_1d(axes).ravel()[0].figure
    path = run_dir / f"corner.{fmt}"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    out.append(path)
    with az.rc_context({"plot.max_subplots": 200}):
        axes = az.plot_trace(idata, compact=True)
    fig = np.atleast_1d(axes).ravel()[0].figure
    path = run_dir / f"trace.{fmt}"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    out.append(path)
    return out


def merge_groups(run_dir: pathlib.Path) -> pathlib.Path:
    """Merge the chain groups ``run_dir/group_K`` (job-array tasks or nodes, each its own
    ``cosmo sample --chain-group K``) into ``run_dir``: one posterior.nc with all chains, the
    GetDist chains renumbered, the first group's config and versions; then the summary."""
    import shutil

    import arviz as az

    groups = sorted((d for d in run_dir.glob("group_*") if (d / POSTERIOR).exists()),
                    key=lambda d: int(d.name.split("_")[1]))
    if not groups:
        raise FileNotFoundError(f"{run_dir}: no finished chain group (group_K/{POSTERIOR})")
    unfinished = [d.name for d in run_dir.glob("group_*") if not (d / POSTERIOR).exists()]
    if unfinished:
        raise RuntimeError(f"{run_dir}: chain groups {sorted(unfinished)} have not finished")
    idatas = [az.from_netcdf(str(d / POSTERIOR)) for d in groups]
    merged = az.concat(idatas, dim="chain")
    merged.attrs = {**idatas[0].attrs, "groups": len(groups),
                    "sampling_seconds": sum(float(i.attrs.get("sampling_seconds", 0)) for i in idatas)}
    merged.to_netcdf(str(run_dir / POSTERIOR))
    chains_dir = run_dir / "chains"
    chains_dir.mkdir(exist_ok=True)
    shutil.copy(groups[0] / "chains" / "chain.paramnames", chains_dir / "chain.paramnames")
    n = 0
    for d in groups:
        for f in sorted((d / "chains").glob("chain_*.txt"), key=lambda f: int(f.stem.split("_")[1])):
            n += 1
            shutil.copy(f, chains_dir / f"chain_{n}.txt")
    for name in ("config.resolved.yaml", "versions.json"):
        shutil.copy(groups[0] / name, run_dir / name)
    return run_dir
