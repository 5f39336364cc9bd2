"""Sampler efficiency: ESS per second and gradient evaluations per effective sample,
numpyro vs blackjax (NUTS, and static HMC), on the stand-in Planck posterior.

    python benchmarks/bench_samplers.py [--chains 4] [--warmup 500] [--samples 1000]

The problem is the CLASS-linearised theory on plik_lite TTTEEE + low-l TT + tau prior with
A_planck sampled (7 parameters): a nearly Gaussian posterior with Planck's degeneracies, the
case the samplers face with the full solver, where each gradient costs seconds instead of a
millisecond. So the number that carries over is gradient evaluations per effective sample
(min bulk ESS over parameters); ESS/s here mostly measures per-step overhead. Both backends
run the same whitened log density, from the same Laplace start.
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile

import jax
import numpy as np

from inference import config as cfg
from inference.model import build_posterior
from inference.output import constrained_draws
from inference.samplers import sample

CONFIG = pathlib.Path(__file__).resolve().parents[1] / "examples" / "runs" / "lcdm_plik_lite_standin.yaml"


def run(backend: str, algorithm: str, args) -> dict:
    import arviz as az

    source = cfg.load(CONFIG).source
    source = {**source, "sampler": {**source["sampler"], "backend": backend, "algorithm": algorithm,
                                    "chains": args.chains, "warmup": args.warmup, "samples": args.samples,
                                    "checkpoint_every": args.samples, "num_steps": args.num_steps}}
    with tempfile.TemporaryDirectory() as tmp:
        post = build_posterior(cfg.parse({**source, "output": tmp}))
        result = sample(post, pathlib.Path(tmp), progress=False)
    draws = constrained_draws(post, result.draws_u)
    idata = az.from_dict(posterior={n: draws[n] for n in post.names})
    ess = min(float(v) for v in az.ess(idata).values())
    rhat = max(float(v) for v in az.rhat(idata).values())
    return {"backend": backend, "algorithm": algorithm, "warmup_s": result.warmup_seconds,
            "sampling_s": result.sampling_seconds, "min_ess": ess, "max_rhat": rhat,
            "ess_per_s": ess / result.sampling_seconds, "grads_per_ess": result.n_gradient_evals / ess,
            "divergences": int(result.stats["diverging"].sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--num-steps", type=int, default=4, help="static HMC leapfrog steps")
    args = parser.parse_args()
    print(f"device: {jax.devices()[0]}; {args.chains} chains x {args.samples} draws after {args.warmup} warm-up")
    head = (f"{'backend':9s} {'alg':5s} {'warmup s':>9s} {'sample s':>9s} {'min ESS':>8s} {'R-hat':>7s} "
            f"{'ESS/s':>8s} {'grads/ESS':>10s} {'div':>4s}")
    print(head)
    for backend in ("numpyro", "blackjax"):
        for algorithm in ("nuts", "hmc"):
            r = run(backend, algorithm, args)
            print(f"{backend:9s} {algorithm:5s} {r['warmup_s']:9.1f} {r['sampling_s']:9.1f} {r['min_ess']:8.0f} "
                  f"{r['max_rhat']:7.4f} {r['ess_per_s']:8.1f} {r['grads_per_ess']:10.1f} {r['divergences']:4d}")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
