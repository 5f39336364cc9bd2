"""Where a compiled program spends its time, per XLA operation (for finding what to optimise).

    python benchmarks/profile_ops.py --stage transfer [--grad] [--precision fast] [--l-max 200]
        [--cosmology planck2018] [--top 40]

Compiles one stage of the flat C_l pipeline (``background`` = background + thermodynamics,
``perturbations``, ``transfer`` = line of sight + C_l), forward or, with ``--grad``, reverse mode
(``jax.grad`` of a fixed random weighting of its outputs with respect to all its floating-point
inputs, as benchmarks/bench_gradient_stages.py), runs it once warm under ``jax.profiler`` and
prints the operations with the largest *exclusive* time (time inside an operation minus the
operations nested in it: a ``while`` loop's own time is its loop overhead), how often each ran,
and the JAX operation it comes from (the HLO's ``op_name``: the transformation and primitive,
e.g. ``transpose(jvp())/while/body/.../reduce_sum`` for a reverse-mode reduction inside a loop).
The HLO text goes to ``/tmp/profile_ops_<stage>.hlo.txt`` (look a fusion up there by name).

Keep the problem small (fast preset, low l_max): every operation run inside a loop is one trace
event, and the perturbation stage runs ~10^3 steps per mode group. Found with it: the
line-of-sight reverse pass differentiated the Bessel-table interpolation term by term (CHANGELOG
2026-12-03 (c)).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import shutil
import tempfile
import time

import equinox as eqx
import jax

import cosmo
from cosmo.background import compute_background
from cosmo.harmonic import compute_cl
from cosmo.oracle.cosmologies import COSMOLOGIES
from cosmo.solver import cl_internal_l_max
from cosmo.thermodynamics import compute_thermodynamics
from cosmo.transfer import cmb_perturbations, compute_transfer

from bench_gradient_stages import weighted_sum  # benchmarks/ is the script's directory


def exclusive_times(trace_file: str) -> tuple[collections.Counter, collections.Counter]:
    """Exclusive time [us] and count per event name of a perfetto trace (nested events per thread)."""
    events = json.load(gzip.open(trace_file))
    events = events["traceEvents"] if isinstance(events, dict) else events
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[(e.get("pid"), e.get("tid"))].append(e)
    excl, count = collections.Counter(), collections.Counter()
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in evs:
            while stack and stack[-1]["ts"] + stack[-1]["dur"] <= e["ts"]:
                stack.pop()
            if stack:
                excl[stack[-1]["name"]] -= e["dur"]
            excl[e["name"]] += e["dur"]
            count[e["name"]] += 1
            stack.append(e)
    return excl, count


def op_names(hlo_text: str) -> dict[str, str]:
    """HLO instruction name -> the tail of its JAX ``op_name``."""
    out = {}
    for line in hlo_text.splitlines():
        m = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = .*op_name=\"([^\"]+)\"", line)
        if m:
            out[m.group(1)] = "/".join(m.group(2).split("/")[-4:])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", choices=("background", "perturbations", "transfer"), default="transfer")
    parser.add_argument("--grad", action="store_true")
    parser.add_argument("--precision", default="fast")
    parser.add_argument("--l-max", type=int, default=200)
    parser.add_argument("--cosmology", default="planck2018")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    prec = cosmo.get_precision(args.precision)
    cp = cosmo.params.resolve(COSMOLOGIES[args.cosmology])
    l_int = cl_internal_l_max(prec, args.l_max)
    bg = jax.jit(lambda c: compute_background(c, prec))(cp)
    th = jax.jit(lambda c, b: compute_thermodynamics(c, b, prec))(cp, bg)
    if args.stage == "background":
        fn, arg = (lambda c: (lambda b: (b, compute_thermodynamics(c, b, prec)))(compute_background(c, prec))), cp
    elif args.stage == "perturbations":
        fn, arg = (lambda a: cmb_perturbations(cp, a[0], a[1], prec, l_int)), (bg, th)
    else:
        pert = eqx.filter_jit(lambda b, t: cmb_perturbations(cp, b, t, prec, l_int))(bg, th)
        fn, arg = (lambda a: compute_cl(cp, compute_transfer(a[0], a[1], a[2], prec, l_int), l_int)), (pert, bg, th)
    scalar = lambda a: weighted_sum(fn(a))  # noqa: E731
    dynamic, static = eqx.partition(arg, eqx.is_inexact_array)
    program = eqx.filter_grad(scalar) if args.grad else scalar
    t0 = time.perf_counter()
    compiled = jax.jit(lambda d: program(eqx.combine(d, static))).lower(dynamic).compile()
    print(f"{args.stage} {'reverse' if args.grad else 'forward'} ({args.precision}, l_max {args.l_max}): "
          f"compiled in {time.perf_counter() - t0:.1f} s", flush=True)
    jax.block_until_ready(compiled(dynamic))
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(dynamic))
    print(f"warm {time.perf_counter() - t0:.2f} s", flush=True)
    text = compiled.as_text()
    with open(f"/tmp/profile_ops_{args.stage}.hlo.txt", "w") as f:
        f.write(text)
    names = op_names(text)
    log_dir = tempfile.mkdtemp(prefix="profile_ops_")
    try:
        with jax.profiler.trace(log_dir, create_perfetto_trace=True):
            jax.block_until_ready(compiled(dynamic))
        excl, count = exclusive_times(glob.glob(f"{log_dir}/**/*perfetto_trace.json.gz", recursive=True)[0])
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
    print(f"{'exclusive [ms]':>15}{'runs':>8}  {'operation':<42}JAX op_name")
    for name, us in excl.most_common(args.top):
        print(f"{us / 1e3:>15.1f}{count[name]:>8}  {name[:40]:<42}{names.get(name, '')[:110]}")


if __name__ == "__main__":
    main()
