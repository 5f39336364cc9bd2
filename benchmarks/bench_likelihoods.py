"""Value + gradient time of the Planck combination (plik_lite TTTEEE + low-l TT + lensing + tau prior).

    python benchmarks/bench_likelihoods.py [--repeat 200]

The gradient is taken with respect to all theory spectra and A_planck (what HMC needs through
the solver); CLASS's spectra at the Planck best fit are the input. Prints compile time and the
median warm time per call; the likelihoods should cost milliseconds, negligible next to the solver.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import likelihoods as lk
from cosmo.oracle.classy_runner import make_classy
from cosmo.oracle.cosmologies import PLANCK2018


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    combo = lk.combine(["planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins",
                        "planck_2018_lensing.native", "tau_prior"])
    req = combo.requirements
    c = make_classy(PLANCK2018, "HyRec", extra={"output": "tCl,pCl,lCl", "lensing": "yes", "l_max_scalars": req.l_max})
    t = time.perf_counter()
    theory = lk.adapters.from_classy(c, req)
    t_class_adapter = time.perf_counter() - t
    params = {"A_planck": 1.0, "tau_reio": PLANCK2018["tau_reio"]}

    def log_post(theory, params):
        return combo.log_likelihood(theory, params) + combo.log_prior(params)

    for label, fn in (("value", jax.jit(log_post)), ("value+grad", jax.jit(jax.value_and_grad(log_post, (0, 1))))):
        t = time.perf_counter()
        jax.block_until_ready(fn(theory, params))
        compile_s = time.perf_counter() - t
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            jax.block_until_ready(fn(theory, params))
            times.append(time.perf_counter() - t)
        print(f"{label:11s} first call {compile_s:6.2f} s   warm {1e3 * np.median(times):7.3f} ms (median of {args.repeat})")
    print(f"classy -> Theory adapter: {1e3 * t_class_adapter:.1f} ms;  ln L + ln prior = {float(log_post(theory, params)):.4f}")


if __name__ == "__main__":
    main()
