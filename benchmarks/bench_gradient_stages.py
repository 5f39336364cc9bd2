"""Benchmark: where the reverse pass spends its time, stage by stage (flat C_l pipeline).

    python benchmarks/bench_gradient_stages.py [--precision default] [--l-max 2500] [--lensing]
        [--cosmology planck2018] [--repeat 2]

Each stage of :func:`cosmo.solve` is timed alone, forward and reverse: the reverse is
``jax.grad`` of a fixed random weighting of the stage's outputs with respect to its
floating-point inputs (the stage before is evaluated once, outside the timing). Stages: background
+ thermodynamics (from the cosmological parameters), perturbations (from the background and
thermodynamics), transfer + C_l (line of sight, from the sources *and* the background and
thermodynamics: the Bessel arguments k (tau0 - tau) depend on the cosmology), lensing (from the
unlensed C_l). The sum over stages is what one jitted gradient of the whole pipeline costs
(CHANGELOG 2026-12-03 (c); with the transfer stage differentiated with respect to its sources
alone, as before, the sum missed most of that stage's reverse pass). Prints the forward and the
gradient time of each (first call incl. compilation, then the median warm time) and their ratio.
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import cosmo
from cosmo.background import compute_background
from cosmo.harmonic import compute_cl
from cosmo.lensing import lens_spectra
from cosmo.oracle.cosmologies import COSMOLOGIES
from cosmo.solver import cl_internal_l_max, cl_unlensed_l_max
from cosmo.thermodynamics import compute_thermodynamics
from cosmo.transfer import cmb_perturbations, compute_transfer

from _timing import median_time  # benchmarks/ is the script's directory


def weighted_sum(tree, seed: int = 0):
    """A fixed random linear functional of every floating-point leaf of ``tree``."""
    leaves = jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_inexact_array))
    total = 0.0
    for i, x in enumerate(leaves):
        w = jax.random.normal(jax.random.PRNGKey(seed + i), x.shape, x.dtype)
        total = total + jnp.sum(w * x)
    return total


def time_stage(label: str, fn, arg, repeat: int) -> tuple[float, float]:
    """Print and return (forward warm, gradient warm) of ``fn(arg)`` [s]."""
    fwd = eqx.filter_jit(lambda a: weighted_sum(fn(a)))
    grad = eqx.filter_jit(eqx.filter_grad(lambda a: weighted_sum(fn(a))))
    t0 = time.perf_counter()
    jax.block_until_ready(fwd(arg))
    fwd_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    jax.block_until_ready(grad(arg))
    grad_first = time.perf_counter() - t0
    f, g = median_time(lambda: fwd(arg), repeat), median_time(lambda: grad(arg), repeat)
    print(f"{label:<26}{fwd_first:>10.1f}{f:>10.2f}{grad_first:>12.1f}{g:>10.2f}{g / f:>9.1f}", flush=True)
    return f, g


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="default")
    parser.add_argument("--l-max", type=int, default=2500)
    parser.add_argument("--lensing", action="store_true")
    parser.add_argument("--cosmology", default="planck2018")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--stages", default="bt,pert,los,lens", help="comma-separated subset of bt,pert,los,lens")
    args = parser.parse_args()
    prec = cosmo.get_precision(args.precision)
    cp = cosmo.params.resolve(COSMOLOGIES[args.cosmology])
    l_int = cl_internal_l_max(prec, args.l_max, args.lensing)
    l_unl = cl_unlensed_l_max(prec, args.l_max, args.lensing)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, preset '{args.precision}', l_max {args.l_max}"
          f"{' lensed' if args.lensing else ''}, {args.cosmology}")
    print(f"{'stage':<26}{'fwd 1st':>10}{'fwd [s]':>10}{'grad 1st':>12}{'grad [s]':>10}{'ratio':>9}")
    bg = jax.jit(lambda c: compute_background(c, prec))(cp)
    th = jax.jit(lambda c, b: compute_thermodynamics(c, b, prec))(cp, bg)
    pert = eqx.filter_jit(lambda b, t: cmb_perturbations(cp, b, t, prec, l_int))(bg, th)
    stages = set(args.stages.split(","))
    rows = []
    if "bt" in stages:
        rows.append(time_stage("background+thermo", lambda c: (lambda b: (b, compute_thermodynamics(c, b, prec)))(
            compute_background(c, prec)), cp, args.repeat))
    if "pert" in stages:
        rows.append(time_stage("perturbations", lambda bt: cmb_perturbations(cp, bt[0], bt[1], prec, l_int), (bg, th),
                               args.repeat))
    if "los" in stages:
        rows.append(time_stage("transfer + C_l", lambda a: compute_cl(cp, compute_transfer(a[0], a[1], a[2], prec, l_int),
                                                                      l_int), (pert, bg, th), args.repeat))
    if args.lensing and "lens" in stages:
        cl = eqx.filter_jit(lambda p: compute_cl(cp, compute_transfer(p, bg, th, prec, l_int), l_int).truncate(l_unl))(pert)
        rows.append(time_stage("lensing", lambda c: lens_spectra(
            c.as_dict(), args.l_max, n_mu=l_unl + prec.lensing_num_mu_minus_lmax, chunk=prec.lensing_mu_chunk), cl,
            args.repeat))
    f, g = np.sum(rows, axis=0)
    print(f"{'sum of stages':<26}{'':>10}{f:>10.2f}{'':>12}{g:>10.2f}{g / f:>9.1f}")


if __name__ == "__main__":
    main()
