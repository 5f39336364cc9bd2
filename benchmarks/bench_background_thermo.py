"""Benchmark: background + thermodynamics, cosmo (JAX) vs CLASS in the same process.

    python benchmarks/bench_background_thermo.py [--repeat 10] [--precision default] [--recombination HyRec]

Prints, per cosmology: our first call (tracing + XLA compilation + run), our warm
call, a reverse-mode gradient (compile and warm), and CLASS (classy, background + thermodynamics
only, no spectra) on the same inputs and with the same recombination model (RECFAST by default), with
the ratios.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import cosmo
from cosmo.oracle.classy_runner import make_classy
from cosmo.oracle.cosmologies import COSMOLOGIES

from _timing import median_time  # benchmarks/ is the script's directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--precision", default="default")
    parser.add_argument("--cosmologies", nargs="+", default=["planck2018", "mnu_0p15"])
    parser.add_argument("--no-grad", action="store_true")
    parser.add_argument("--recombination", default="RECFAST", help="RECFAST or HyRec (both codes)")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, precision preset '{args.precision}', "
          f"recombination {args.recombination}")
    header = f"{'cosmology':<12}{'first [s]':>11}{'warm [s]':>10}{'CLASS [s]':>11}{'warm/CLASS':>12}"
    if not args.no_grad:
        header += f"{'grad 1st [s]':>14}{'grad warm [s]':>15}"
    print(header)
    for name in args.cosmologies:
        params = dict(COSMOLOGIES[name], recombination=args.recombination.lower())
        t0 = time.perf_counter()
        jax.block_until_ready(cosmo.solve(params, args.precision))
        first = time.perf_counter() - t0
        warm = median_time(lambda: cosmo.solve(params, args.precision), args.repeat)
        t_class = median_time(lambda: make_classy(COSMOLOGIES[name], args.recombination).struct_cleanup() or 0.0, args.repeat)
        line = f"{name:<12}{first:>11.2f}{warm:>10.3f}{t_class:>11.3f}{warm / t_class:>12.2f}"
        if not args.no_grad:
            def loss(h):
                return cosmo.solve(dict(params, h=h), args.precision).thermo.theta_s_100

            grad = jax.jit(jax.grad(loss))
            t0 = time.perf_counter()
            jax.block_until_ready(grad(jnp.asarray(params["h"])))
            g_first = time.perf_counter() - t0
            g_warm = median_time(lambda: grad(jnp.asarray(params["h"])), max(3, args.repeat // 3))
            line += f"{g_first:>14.1f}{g_warm:>15.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
