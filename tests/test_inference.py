"""Inference: samplers recover a known posterior, runs resume after a kill, configs fail clearly.

The test problem is the CLASS-linearised stand-in theory (:mod:`inference.standin`) on the real
Planck 2018 plik_lite TTTEEE + low-l TT bins + tau prior, with A_planck fixed: the log
likelihood is exactly quadratic in the parameters, so the posterior is a Gaussian whose mean and
covariance follow from one Newton step (computed here independently of the samplers, in x).
Tolerances are Monte Carlo errors from each run's own effective sample size.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from inference import config as cfg
from inference.bestfit import find_map
from inference.cli import main as cli_main
from inference.model import build_posterior
from inference.output import constrained_draws
from inference.samplers import CHECKPOINT, load_checkpoint, sample

from .conftest import DATA_DIR, requires_data

pytestmark = requires_data

PARAMS = {
    "omega_b": {"prior": {"uniform": [0.019, 0.026]}, "scale": 0.00015},
    "omega_cdm": {"prior": {"uniform": [0.10, 0.14]}, "scale": 0.0012},
    "h": {"prior": {"uniform": [0.60, 0.75]}, "scale": 0.0054},
    "ln10^{10}A_s": {"prior": {"uniform": [2.8, 3.3]}, "scale": 0.014},
    "n_s": {"prior": {"uniform": [0.90, 1.03]}, "scale": 0.0042},
    "tau_reio": {"prior": {"uniform": [0.0, 0.12]}, "scale": 0.0073},
    "A_planck": 1.0,
}


def make_config(tmp: pathlib.Path, **sampler) -> dict:
    return {"theory": {"kind": "linear"},
            "likelihoods": {"planck_2018_highl_plik.TTTEEE_lite": {}, "planck_2018_lowl.TT_bins": {},
                            "tau_prior": {"mean": 0.0544, "sigma": 0.0073}},
            "params": PARAMS, "derived": ["H0", "Omega_m", "sigma8", "S8"],
            "sampler": {"chains": 4, "warmup": 200, "samples": 500, "dense_mass": True, "checkpoint_every": 250,
                        **sampler},
            "output": str(tmp), "seed": 3, "data_dir": str(DATA_DIR)}


@pytest.fixture(scope="module", autouse=True)
def _free_compiled_programs():
    """The sampler programs are not reused by later modules: release them (memory in CI)."""
    yield
    jax.clear_caches()


@pytest.fixture(scope="module")
def analytic():
    """Mean and covariance of the Gaussian posterior, from the quadratic log likelihood in x."""
    post = build_posterior(cfg.parse(make_config(pathlib.Path("unused"))))
    names = post.names

    def log_like(xv):
        x = {**post.fixed, **dict(zip(names, xv))}
        return post.likelihood.log_likelihood(post.theory(x), x) + post.likelihood.log_prior(x)

    x0 = jnp.asarray([post.theory.fiducial_params[n] for n in names])
    hess = np.asarray(jax.hessian(log_like)(x0))
    mean = np.asarray(x0) - np.linalg.solve(hess, np.asarray(jax.grad(log_like)(x0)))
    # exactly quadratic: the Hessian is the same one sigma away
    one_sigma = mean + np.sqrt(np.diag(-np.linalg.inv(hess)))
    shifted = np.asarray(jax.hessian(log_like)(jnp.asarray(one_sigma)))
    np.testing.assert_allclose(shifted, hess, rtol=1e-9, atol=0)
    return names, mean, -np.linalg.inv(hess)


def check_against_analytic(posterior, draws_u, analytic):
    import arviz as az

    names, mean, cov = analytic
    assert posterior.names == names
    draws = constrained_draws(posterior, draws_u)
    x = np.stack([draws[n] for n in names], axis=-1)  # (chains, draws, dim)
    assert np.all(np.isfinite(x))
    idata = az.from_dict(posterior={n: draws[n] for n in names})
    rhat = az.rhat(idata)
    ess = az.ess(idata)
    for n in names:
        assert float(rhat[n]) < 1.01, (n, float(rhat[n]))
    ess_min = min(float(ess[n]) for n in names)
    assert ess_min > 500
    sigma = np.sqrt(np.diag(cov))
    flat = x.reshape(-1, len(names))
    # means within 4.5 Monte Carlo standard errors
    err = (flat.mean(0) - mean) / (sigma / np.sqrt([float(ess[n]) for n in names]))
    assert np.max(np.abs(err)) < 4.5, dict(zip(names, err))
    # covariance: draws whitened with the analytic covariance have unit covariance; each entry
    # E[w_i w_j] within 4.5 Monte Carlo standard errors (from the ESS of the products themselves)
    w = np.linalg.solve(np.linalg.cholesky(cov), (x - mean)[..., None])[..., 0]  # (chains, draws, dim)
    dim = len(names)
    dev = np.zeros((dim, dim))
    for i in range(dim):
        for j in range(i, dim):
            prod = w[..., i] * w[..., j]
            se = np.std(prod) / np.sqrt(float(az.ess(prod)))
            dev[i, j] = dev[j, i] = abs(prod.mean() - (i == j)) / se
    assert np.max(dev) < 4.5, dev
    return err, dev


@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_nuts_recovers_the_analytic_posterior(backend, analytic, tmp_path):
    post = build_posterior(cfg.parse(make_config(tmp_path, backend=backend)))
    result = sample(post, tmp_path, progress=False)
    assert result.draws_u.shape == (4, 500, 6)
    assert int(result.stats["diverging"].sum()) == 0
    check_against_analytic(post, result.draws_u, analytic)


def test_hmc_recovers_the_analytic_posterior(analytic, tmp_path):
    """Static HMC (blackjax), with its default trajectory-length jitter (+-50%): with a fixed 4
    steps the adapted trajectory was ~pi on the whitened posterior, antithetic draws whose R-hat
    came out 1.012-1.016 on some machines (1.04 at 500 warmup steps)."""
    post = build_posterior(cfg.parse(make_config(tmp_path, backend="blackjax", algorithm="hmc", num_steps=8)))
    assert post.config.sampler["num_steps_jitter"] == 0.5
    result = sample(post, tmp_path, progress=False)
    check_against_analytic(post, result.draws_u, analytic)


@pytest.mark.slow
def test_numpyro_hmc_with_diagonal_mass_runs(tmp_path):
    post = build_posterior(cfg.parse(make_config(tmp_path, algorithm="hmc", num_steps=8, chains=2, warmup=60,
                                                 samples=60, checkpoint_every=60, dense_mass=False, init="reference")))
    result = sample(post, tmp_path, progress=False)
    assert result.draws_u.shape == (2, 60, 6) and np.all(np.isfinite(result.draws_u))
    assert np.all(result.stats["n_steps"] == 8)


def test_bestfit_is_the_analytic_mean_and_laplace_its_covariance(analytic, tmp_path):
    names, mean, cov = analytic
    post = build_posterior(cfg.parse(make_config(tmp_path)))
    best = find_map(post)
    sigma = np.sqrt(np.diag(cov))
    x = np.array([best.x[n] for n in names])
    np.testing.assert_allclose((x - mean) / sigma, 0.0, atol=1e-6)
    np.testing.assert_allclose(best.covariance, cov, rtol=1e-6, atol=1e-6 * np.outer(sigma, sigma).max())
    path = best.write(tmp_path)
    header = path.read_text().splitlines()[0].lstrip("# ").split()
    assert tuple(header) == names


def _crash_after(n_saves: int, monkeypatch):
    """Make the n-th checkpoint write the last thing the process does (a kill right after it)."""
    from inference import samplers

    real = samplers.save_atomic
    calls = {"n": 0}

    class Killed(Exception):
        pass

    def save(path, obj):
        real(path, obj)
        calls["n"] += 1
        if calls["n"] == n_saves:
            raise Killed

    monkeypatch.setattr(samplers, "save_atomic", save)
    return Killed, lambda: monkeypatch.setattr(samplers, "save_atomic", real)


@pytest.mark.parametrize("backend", ["numpyro", pytest.param("blackjax", marks=pytest.mark.slow)])
def test_interrupted_run_resumes_bit_identically(backend, tmp_path, monkeypatch):
    conf = make_config(tmp_path, backend=backend, chains=2, warmup=50, samples=60, checkpoint_every=20,
                       init="reference")
    full = sample(build_posterior(cfg.parse({**conf, "output": str(tmp_path / "full")})), tmp_path / "full",
                  progress=False)
    killed, restore = _crash_after(3, monkeypatch)  # warm-up, 20 draws, 40 draws, then killed
    post = build_posterior(cfg.parse({**conf, "output": str(tmp_path / "cut")}))
    with pytest.raises(killed):
        sample(post, tmp_path / "cut", progress=False)
    restore()
    assert load_checkpoint(tmp_path / "cut")["draws_u"].shape[1] == 40
    resumed = sample(post, tmp_path / "cut", progress=False)
    assert resumed.draws_u.shape == (2, 60, 6)
    np.testing.assert_array_equal(resumed.draws_u, full.draws_u)
    for k in full.stats:
        np.testing.assert_array_equal(resumed.stats[k], full.stats[k])


def test_sigkill_mid_sampling_then_resume_from_the_command_line(analytic, tmp_path, capsys):
    """`cosmo sample` killed with SIGKILL while drawing restarts from its checkpoint, finishes
    with the requested number of draws and recovers the posterior (bit-identity with an
    uninterrupted run is checked in-process above)."""
    conf = {**make_config(tmp_path / "cut", chains=4, warmup=100, samples=400, checkpoint_every=25),
            "optimizer": {"restarts": 1}}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(conf, sort_keys=False))
    # the resumed process reuses the first one's compiled programs
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "COSMO_JAX_CACHE": str(tmp_path / "jax-cache")}
    cmd = [sys.executable, "-m", "inference.cli", "sample", str(path), "--quiet", "--no-plot"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        ckpt = load_checkpoint(tmp_path / "cut") if (tmp_path / "cut" / CHECKPOINT).exists() else None
        if ckpt is not None and ckpt["draws_u"].shape[1] >= 50:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert 50 <= load_checkpoint(tmp_path / "cut")["draws_u"].shape[1] < 400
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "r_hat" in done.stdout
    resumed = load_checkpoint(tmp_path / "cut")
    assert resumed["draws_u"].shape == (4, 400, 6)
    post = build_posterior(cfg.parse(conf))
    check_against_analytic(post, resumed["draws_u"], analytic)
    check_run_directory(tmp_path / "cut", tmp_path, capsys)
    assert cli_main(["bestfit", str(path), "--output", str(tmp_path / "bf")]) == 0
    assert (tmp_path / "bf" / "bestfit.covmat").exists()


def check_run_directory(run, tmp_path, capsys):
    """The outputs of `cosmo sample` and the `summary` and `plot` commands on them."""
    import arviz as az

    for name in ("posterior.nc", "config.resolved.yaml", "versions.json", "summary.txt",
                 "chains/chain.paramnames", "chains/chain_4.txt"):
        assert (run / name).exists(), name
    chain = np.loadtxt(run / "chains" / "chain_1.txt")
    assert chain.shape == (400, 2 + 6 + 4)
    idata = az.from_netcdf(str(run / "posterior.nc"))
    for name in ("H0", "Omega_m", "sigma8", "S8", "omega_b"):
        assert name in idata.posterior
    np.testing.assert_allclose(idata.posterior["H0"].values, 100 * idata.posterior["h"].values, rtol=1e-14)
    np.testing.assert_allclose(chain[:, 2 + list(idata.posterior.data_vars).index("h")],
                               idata.posterior["h"].values[0], rtol=1e-9)
    for name in ("diverging", "acceptance_rate", "step_size", "n_steps", "lp"):
        assert name in idata.sample_stats
    ref = tmp_path / "ref.json"
    ref.write_text('{"h": [0.6766, 0.0042]}')
    capsys.readouterr()
    assert cli_main(["summary", str(run), "--reference", str(ref)]) == 0
    out = capsys.readouterr().out
    assert "(m-ref)/sig" in out and "sigma8" in out and "r_hat" in out
    assert cli_main(["plot", str(run)]) == 0
    assert (run / "corner.png").exists() and (run / "trace.png").exists()


def test_changed_config_refuses_to_resume(tmp_path):
    conf = make_config(tmp_path, chains=1, warmup=20, samples=20, checkpoint_every=20, init="reference")
    sample(build_posterior(cfg.parse(conf)), tmp_path, progress=False)
    changed = build_posterior(cfg.parse({**conf, "seed": 4}))
    with pytest.raises(RuntimeError, match="different configuration"):
        sample(changed, tmp_path, progress=False)


@pytest.mark.parametrize("backend", ["numpyro", pytest.param("blackjax", marks=pytest.mark.slow)])
def test_unphysical_region_gives_minus_inf_not_nan_chains(backend, tmp_path):
    """A theory that fails (NaN spectra) for tau_reio > 0.06 - inside the prior, near the peak -
    gives -inf log density there; chains stay finite and never enter the region."""
    post = build_posterior(cfg.parse(make_config(tmp_path, backend=backend, chains=2, warmup=100, samples=100,
                                                 checkpoint_every=100, init="reference")))
    linear = post.theory

    def failing(x):
        th = linear(x)
        bad = x["tau_reio"] > 0.06
        return dataclasses.replace(th, cl={k: jnp.where(bad, jnp.nan, v) for k, v in th.cl.items()})

    post = dataclasses.replace(post, theory=failing)
    u_bad = post.reference_point().copy()
    u_bad[post.names.index("tau_reio")] = 1.0  # tau = 0.088
    assert float(post.log_density(jnp.asarray(u_bad))) == -np.inf
    result = sample(post, tmp_path, progress=False)
    tau = constrained_draws(post, result.draws_u)["tau_reio"]
    assert np.all(np.isfinite(result.draws_u)) and np.all(np.isfinite(result.stats["lp"]))
    assert np.all(tau <= 0.06)


def test_config_errors_name_the_key():
    base = make_config(pathlib.Path("x"))
    bad = [({"params": {**PARAMS, "h": {"prior": {"uniform": [0.8, 0.6]}}}}, "params.h.prior.uniform"),
           ({"params": {**PARAMS, "h": {"prior": {"triangle": [0, 1]}}}}, "unknown prior 'triangle'"),
           ({"params": {**PARAMS, "h": {"prior": {"uniform": [0.6, 0.8]}, "ref": 0.9}}}, "params.h.ref"),
           ({"sampler": {"backend": "emcee"}}, "sampler.backend"),
           ({"sampler": {"chains": 0}}, "sampler.chains"),
           ({"sampler": {"num_steps_jitter": 0.3}}, "sampler.num_steps_jitter applies to static HMC"),
           ({"sampler": {"algorithm": "hmc", "backend": "blackjax", "num_steps_jitter": 1.5}},
            "sampler.num_steps_jitter must lie in"),
           ({"sampler": {"warmup_steps": 10}}, "unknown keys ['warmup_steps']"),
           ({"theory": {"kind": "camb"}}, "theory.kind"),
           ({"likelihoods": {}}, "likelihoods"),
           ({"optimizer": {"method": "sgd"}}, "optimizer.method"),
           ({"sampler_opts": {}}, "unknown top-level keys")]
    for change, message in bad:
        with pytest.raises(cfg.ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            cfg.parse({**base, **change})
    with pytest.raises(ValueError, match="cannot sample"):
        build_posterior(cfg.parse({**base, "params": {**PARAMS, "m_ncdm": {"prior": {"uniform": [0.0, 1.0]}}}}))
    with pytest.raises(ValueError, match="BAO needs the solver"):
        build_posterior(cfg.parse({**base, "likelihoods": {"bao.desi_dr2": {}}}))


def test_covmat_initialises_the_preconditioner(tmp_path):
    """Planck's covmat (CosmoMC names) sets the start covariance of the parameters it names."""
    from inference.samplers import initial_covariance

    covmat = DATA_DIR / "planck2018_covmats" / "base_plikHM_TTTEEE_lowl_lowE.covmat"
    post = build_posterior(cfg.parse(make_config(tmp_path, covmat=str(covmat))))
    cov = initial_covariance(post)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    names = covmat.read_text().splitlines()[0].lstrip("#").split()
    table = np.loadtxt(covmat)
    i, j = names.index("omegabh2"), names.index("omegach2")
    a, b = post.names.index("omega_b"), post.names.index("omega_cdm")
    corr = cov[a, b] / np.sqrt(cov[a, a] * cov[b, b])
    np.testing.assert_allclose(corr, table[i, j] / np.sqrt(table[i, i] * table[j, j]), rtol=1e-10)


def test_chain_groups_merge_into_one_run(tmp_path, capsys):
    """Job-array style: two independent chain groups (own seed, own directory), then `cosmo merge`."""
    import arviz as az

    conf = make_config(tmp_path / "run", chains=1, warmup=30, samples=40, checkpoint_every=40, init="reference")
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(conf, sort_keys=False))
    for k in (0, 1):
        assert cli_main(["sample", str(path), "--quiet", "--no-plot", "--chain-group", str(k)]) == 0
    a = load_checkpoint(tmp_path / "run" / "group_0")["draws_u"]
    b = load_checkpoint(tmp_path / "run" / "group_1")["draws_u"]
    assert not np.array_equal(a, b)  # different seeds
    assert cli_main(["merge", str(tmp_path / "run")]) == 0
    idata = az.from_netcdf(str(tmp_path / "run" / "posterior.nc"))
    assert idata.posterior.sizes["chain"] == 2 and idata.posterior.sizes["draw"] == 40
    assert sorted(p.name for p in (tmp_path / "run" / "chains").glob("chain_*.txt")) == ["chain_1.txt", "chain_2.txt"]
    assert "2 chains x 40 draws" in capsys.readouterr().out


def test_sampling_theta_s_instead_of_h_gives_the_same_best_fit(tmp_path):
    """Reparameterisation: with flat priors the maximum of likelihood x tau prior does not depend
    on the parameterisation, so the best fit in (100*theta_s, ...) has the H0 of the one in h."""
    base = make_config(tmp_path)
    params = {k: v for k, v in PARAMS.items() if k != "h"}
    params["100*theta_s"] = {"prior": {"uniform": [1.03, 1.05]}, "scale": 0.0003}
    by_h = find_map(build_posterior(cfg.parse(base)))
    post = build_posterior(cfg.parse({**base, "params": params}))
    by_theta = find_map(post)
    derived = post.derived(jnp.asarray(by_theta.u))
    np.testing.assert_allclose(float(derived["H0"]), 100 * by_h.x["h"], rtol=1e-7)
    np.testing.assert_allclose(by_theta.log_posterior, by_h.log_posterior, atol=1e-7)
    with pytest.raises(ValueError, match="either h or 100\\*theta_s"):
        build_posterior(cfg.parse({**base, "params": {**PARAMS, "100*theta_s": params["100*theta_s"]}}))


MULTI_DEVICE = r"""
import pathlib, sys, jax, numpy as np
assert jax.local_device_count() == 2, jax.devices()
from inference import config as cfg
from inference.model import build_posterior
from inference.samplers import sample, load_checkpoint, _shard_chains
import yaml
assert len(_shard_chains(np.zeros((2, 3))).sharding.device_set) == 2
conf = yaml.safe_load(pathlib.Path(sys.argv[1]).read_text())
for backend in ("numpyro", "blackjax"):
    out = pathlib.Path(sys.argv[2]) / backend
    post = build_posterior(cfg.parse({**conf, "output": str(out), "sampler": {**conf["sampler"], "backend": backend}}))
    r = sample(post, out, progress=False)
    assert r.draws_u.shape == (2, 20, 6) and np.all(np.isfinite(r.draws_u)), backend
    assert np.unique(r.draws_u[:, -1, 0]).size == 2  # two distinct chains
    print(backend, "ok")
"""


def test_chains_are_sharded_over_several_devices(tmp_path):
    """Two (virtual CPU) devices: numpyro's warm-up runs one chain per device (pmap) and both
    backends' sampling scans take the chain axis sharded over the devices."""
    conf = make_config(tmp_path, chains=2, warmup=30, samples=20, checkpoint_every=20, init="reference")
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(conf, sort_keys=False))
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    proc = subprocess.run([sys.executable, "-c", MULTI_DEVICE, str(path), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "numpyro ok" in proc.stdout and "blackjax ok" in proc.stdout


@pytest.mark.parametrize("path", sorted((pathlib.Path(__file__).parents[1] / "examples" / "runs").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_example_configs_build(path):
    """Every shipped run config parses and assembles its posterior (data, likelihoods, theory)."""
    conf = cfg.load(path)
    post = build_posterior(conf)
    assert set(conf.names) <= set(post.names)
    if conf.theory["kind"] == "linear":  # cheap enough to evaluate here
        assert np.isfinite(float(post.log_density(jnp.asarray(post.reference_point()))))


@requires_data
@pytest.mark.parametrize("path", sorted((pathlib.Path(__file__).parents[1] / "examples" / "runs").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_example_runs_build_their_posterior(path):
    """Every shipped run config parses and builds its posterior (likelihoods, priors, theory),
    without solving anything: the solver configs sample 100*theta_s and use lensed spectra."""
    conf = yaml.safe_load(path.read_text())
    conf["data_dir"] = str(DATA_DIR)
    post = build_posterior(cfg.parse(conf))
    names = [p.name for p in post.params]
    if conf["theory"]["kind"] == "cosmo":
        assert "100*theta_s" in names and "h" not in names and "allow_unlensed" not in conf["theory"]
