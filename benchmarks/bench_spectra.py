"""Benchmark: C_l (TT, EE, TE, phi-phi; lensed with --lensing), cosmo (JAX) vs CLASS in one process.

    python benchmarks/bench_spectra.py [--l-max 2500] [--precision default] [--repeat 2]
        [--cosmologies planck2018 mnu_0p15] [--grad] [--lensing] [--reverse-save stages]

Prints, per cosmology: our first call (tracing + XLA compilation + run), our warm call,
optionally a reverse-mode gradient of a scalar of the C_l (first call and warm), and CLASS
(classy 3.3, RECFAST, its default precision, tCl,pCl,lCl to the same l_max, same number of
threads as JAX gets) with the ratio warm / CLASS. With ``--lensing`` both compute lensed
spectra (ours: unlensed to l_max + 1000 and the full-sky lensing; CLASS: its default lensing),
and the lensing stage alone (warm, on our unlensed spectra) is printed too. ``--reverse-save``
overrides the preset's ``pert_reverse_save`` (what the perturbations' reverse pass keeps per
step; run under ``/usr/bin/time -v`` for the peak memory of the gradient).
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import jax
import jax.numpy as jnp

import cosmo
from cosmo.oracle.classy_runner import to_classy
from cosmo.oracle.cosmologies import COSMOLOGIES

from _timing import median_time  # benchmarks/ is the script's directory


def _run_class(settings) -> float:
    """CLASS at its default precision (no tightened tolerances), freed afterwards."""
    from classy import Class

    c = Class()
    c.set(settings)
    c.compute()
    c.struct_cleanup()
    c.empty()
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--l-max", type=int, default=2500)
    parser.add_argument("--precision", default="default")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cosmologies", nargs="+", default=["planck2018", "mnu_0p15"])
    parser.add_argument("--grad", action="store_true", help="also time d(sum C_l^TT)/d omega_cdm (reverse mode)")
    parser.add_argument("--lensing", action="store_true", help="lensed spectra (both codes)")
    parser.add_argument("--reverse-save", choices=["state", "factors", "stages"], default=None,
                        help="override the preset's pert_reverse_save")
    args = parser.parse_args()
    lensing = args.lensing
    prec = cosmo.get_precision(args.precision)
    if args.reverse_save is not None:
        prec = dataclasses.replace(prec, pert_reverse_save=args.reverse_save)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, preset '{args.precision}', l_max {args.l_max}, "
          f"pert_reverse_save '{prec.pert_reverse_save}'")
    header = f"{'cosmology':<12}{'first [s]':>11}{'warm [s]':>10}{'CLASS [s]':>11}{'warm/CLASS':>12}"
    if args.grad:
        header += f"{'grad 1st [s]':>14}{'grad warm [s]':>15}{'grad/warm':>11}"
    if lensing:
        header += f"{'lensing stage [s]':>19}"
    print(header)
    for name in args.cosmologies:
        params = COSMOLOGIES[name]
        cp = cosmo.params.resolve(params)
        def spectra(cp):
            sol = cosmo.solve(cp, prec, l_max=args.l_max, lensing=lensing)
            return sol.lensed_cl if lensing else sol.cl

        run = jax.jit(spectra)
        t0 = time.perf_counter()
        jax.block_until_ready(run(cp))
        first = time.perf_counter() - t0
        warm = median_time(lambda: run(cp), args.repeat)
        extra = {"output": "tCl,pCl,lCl", "lensing": "yes" if lensing else "no", "l_max_scalars": args.l_max}
        t_class = median_time(lambda: _run_class({**to_classy(params), "recombination": "RECFAST", **extra}), args.repeat)
        line = f"{name:<12}{first:>11.1f}{warm:>10.2f}{t_class:>11.2f}{warm / t_class:>12.1f}"
        if args.grad:
            def loss(omega_cdm):
                p = cosmo.params.resolve(dict(params, omega_cdm=omega_cdm))
                return jnp.sum(spectra(p).tt[2:] * 1e10)

            grad = jax.jit(jax.grad(loss))
            x = jnp.asarray(params["omega_cdm"])
            t0 = time.perf_counter()
            jax.block_until_ready(grad(x))
            g_first = time.perf_counter() - t0
            g_warm = median_time(lambda: grad(x), 1)
            line += f"{g_first:>14.1f}{g_warm:>15.2f}{g_warm / warm:>11.1f}"
        if lensing:
            from cosmo.lensing import lens_spectra

            unlensed = cosmo.solve(cp, prec, l_max=args.l_max, lensing=True).cl.as_dict()
            stage = jax.jit(lambda cl: lens_spectra(cl, args.l_max, n_mu=len(cl["tt"]) - 1 + prec.lensing_num_mu_minus_lmax,
                                                    chunk=prec.lensing_mu_chunk))
            jax.block_until_ready(stage(unlensed))
            line += f"{median_time(lambda: stage(unlensed), args.repeat):>19.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
