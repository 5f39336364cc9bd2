"""``cosmo``: the application's command line (a thin layer over library functions).

Solver commands (``run``, ``compare``, ``reference``) come from :mod:`cosmo.cli`, the data
registry (``data``) from :mod:`data.cli`, likelihoods (``loglike``) from :mod:`likelihoods.cli`;
inference: ``sample CONFIG``, ``bestfit CONFIG``, ``summary RUN_DIR``, ``merge RUN_DIR``,
``plot RUN_DIR``; validation: ``validate [NAMES]`` (the solver against stored CLASS references).
With no command, ``cosmo`` runs ``cosmo run`` (the main job on defaults).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

# Before equinox is imported (it reads this once): a runtime failure inside a compiled solver
# program (a Newton iteration that does not converge at an extreme parameter point) returns NaN,
# which the posterior turns into -inf, instead of aborting a chain; and programs without host
# callbacks (equinox's default "raise" mode is one) are what JAX's persistent compilation cache
# can store, so a repeated or resumed run skips the solver's compilation.
os.environ.setdefault("EQX_ON_ERROR", "nan")

import cosmo.cli  # noqa: E402
import data.cli  # noqa: E402
import likelihoods.cli  # noqa: E402


def _load(args):
    from . import config as cfg

    overrides = {}
    if getattr(args, "output", None):
        overrides["output"] = args.output
    conf = cfg.load(args.config, overrides)
    sampler = dict(conf.sampler)
    for key in ("samples", "warmup", "chains", "backend", "algorithm"):
        value = getattr(args, key, None)
        if value is not None:
            sampler[key] = value
    group = getattr(args, "chain_group", None)
    if group is not None:  # an independent chain group: own directory and seed
        overrides["output"] = str(conf.output / f"group_{group}")
        overrides["seed"] = conf.seed + group
    return cfg.parse({**conf.source, **overrides, "sampler": {**(conf.source.get("sampler") or {}), **sampler}},
                     pathlib.Path(args.config).parent)


def _posterior(args):
    """The run config and its posterior, or None after printing what is wrong with them."""
    from data.registry import DataError

    from .config import ConfigError
    from .model import build_posterior

    try:
        conf = _load(args)
        return conf, build_posterior(conf)
    except (ConfigError, DataError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}")
        return None


def cmd_sample(args: argparse.Namespace) -> int:
    from .output import summary_table, write_outputs, write_run_info
    from .samplers import sample

    loaded = _posterior(args)
    if loaded is None:
        return 2
    conf, posterior = loaded
    run_dir = conf.output
    write_run_info(run_dir, posterior)
    print(f"{conf.sampler['backend']} {conf.sampler['algorithm']}: {conf.sampler['chains']} chains, "
          f"{conf.sampler['warmup']} warm-up + {conf.sampler['samples']} draws of {posterior.dim} parameters "
          f"{list(posterior.names)} -> {run_dir}")
    result = sample(posterior, run_dir, progress=not args.quiet, resume=not args.restart)
    write_outputs(run_dir, posterior, result)
    print(summary_table(run_dir))
    if not args.no_plot:
        from .output import plot_run

        for path in plot_run(run_dir):
            print(f"wrote {path}")
    return 0


def cmd_bestfit(args: argparse.Namespace) -> int:
    from .bestfit import find_map

    loaded = _posterior(args)
    if loaded is None:
        return 2
    conf, posterior = loaded
    best = find_map(posterior, steps=args.steps)
    path = best.write(conf.output)
    print(f"MAP: log posterior = {best.log_posterior:.4f}")
    sig = dict(zip(best.names, best.covariance.diagonal() ** 0.5))
    for n in best.names:
        print(f"  {n:16s} {best.x[n]:14.7g} +- {sig[n]:.4g}  (Laplace)")
    print(f"covariance -> {path} (use as sampler.covmat)")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from .output import summary_table

    reference = json.loads(pathlib.Path(args.reference).read_text()) if args.reference else None
    print(summary_table(pathlib.Path(args.run_dir), reference))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from .output import merge_groups, summary_table

    run = merge_groups(pathlib.Path(args.run_dir))
    print(summary_table(run))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from .output import plot_run

    for path in plot_run(pathlib.Path(args.run_dir), args.format):
        print(f"wrote {path}")
    return 0


def _indices(spec: str, n: int) -> list[int]:
    """``"3"``, ``"0-9"`` or ``"1,4,7"`` -> point indices of an ``n``-point hypercube."""
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    bad = [i for i in out if not 0 <= i < n]
    if bad:
        raise SystemExit(f"--index {spec}: indices {bad} outside 0..{n - 1}")
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    from .validate import TOLERANCES, run
    from .validate_report import markdown, merge, plot_history

    out = pathlib.Path(args.out)
    if args.plot_history:
        out.mkdir(parents=True, exist_ok=True)
        plot_history(pathlib.Path(args.plot_history), out / "history.png")
        print(f"wrote {out / 'history.png'}")
        return 0
    tolerances = dict(TOLERANCES)
    if args.tol_dchi2 is not None:
        tolerances["dchi2"] = args.tol_dchi2
    if args.merge:
        results, fails = merge([pathlib.Path(p) for p in args.merge], out, tolerances)
        print(f"merged {len(results)} cosmologies")
    else:
        names = list(args.names)
        if args.lhs:
            from cosmo.oracle.cosmologies import latin_hypercube

            points = list(latin_hypercube(args.lhs, args.seed, args.extend))
            names += [points[i] for i in (_indices(args.index, args.lhs) if args.index else range(args.lhs))]
        names = names or ["planck2018", "box_low", "box_high", "mnu_0p15"]
        results, fails = run(names, args.preset, args.l_max, out,
                             pathlib.Path(args.history) if args.history else None, tolerances, args.data_dir,
                             live=args.live, cache_dir=pathlib.Path(args.class_cache) if args.class_cache else None,
                             with_class_default=not args.no_class_default, label=args.label)
    print(markdown(results, args.preset, args.l_max).split("\n\n")[1])  # the summary table
    print(f"report: {out}/validation.md, validation.json, residuals.png")
    for msg in fails:
        print(f"FAIL {msg}")
    return 1 if fails else 0


def add_commands(sub) -> None:
    p = sub.add_parser("validate", help="the solver against CLASS (stored cl_ref or live): errors, Delta chi^2, time",
                       description="Validate the solver against CLASS: named cosmologies with stored cl_ref references, "
                       "points of a Latin hypercube over the Planck 2018 5-sigma box (CLASS run here and cached), "
                       "merging of per-task reports, and the accuracy-history plot.")
    p.add_argument("names", nargs="*", help="named cosmologies or hypercube points (default without --lhs: "
                   "planck2018 box_low box_high mnu_0p15)")
    p.add_argument("--preset", default="default", choices=["default", "fast"])
    p.add_argument("--l-max", type=int, default=2500)
    p.add_argument("--out", default="out/validate", help="report directory (default out/validate)")
    p.add_argument("--lhs", type=int, metavar="N", help="add the N points of a Latin hypercube over the Planck 2018 "
                   "5-sigma LCDM box (CLASS references computed here unless cached)")
    p.add_argument("--seed", type=int, default=0, help="hypercube seed (default 0)")
    p.add_argument("--extend", nargs="+", default=[], choices=["mnu", "neff", "w0wa", "omk"],
                   help="extra hypercube dimensions (ranges: cosmo.oracle.cosmologies.EXTENSIONS)")
    p.add_argument("--index", help="only these hypercube points: 7, 0-9 or 1,4,7 (a job array's task)")
    p.add_argument("--live", choices=["high", "default"], help="compute every CLASS reference here at this "
                   "precision (high = cl_ref, 15-100 min per cosmology on one core) instead of the stored ones")
    p.add_argument("--class-cache", help="directory caching the CLASS references computed here "
                   "(default OUT/class_references)")
    p.add_argument("--no-class-default", action="store_true",
                   help="do not run CLASS at its default precision beside ours (time ratio, CLASS's own error)")
    p.add_argument("--history", help="append a JSON line (date, commit, worst errors) to this file")
    p.add_argument("--label", help="milestone label of the history line")
    p.add_argument("--merge", nargs="+", metavar="REPORT", help="merge these report directories (validation.json) "
                   "into OUT instead of validating")
    p.add_argument("--plot-history", metavar="FILE", help="plot the accuracy history FILE to OUT/history.png")
    p.add_argument("--tol-dchi2", type=float, help="tolerance on |Delta chi^2| (default 0.1)")
    p.add_argument("--data-dir", help="data directory for the Delta chi^2 (default: $COSMO_DATA_DIR)")
    p.set_defaults(func=cmd_validate)
    for name, func, helptext in (("sample", cmd_sample, "NUTS/HMC chains from a YAML run config (resumable)"),
                                 ("bestfit", cmd_bestfit, "MAP with optax + Laplace covariance")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("config", help="YAML run configuration (see inference/config.py, examples/runs/)")
        p.add_argument("--output", help="run directory (overrides the config's output)")
        if name == "sample":
            p.add_argument("--samples", type=int)
            p.add_argument("--warmup", type=int)
            p.add_argument("--chains", type=int)
            p.add_argument("--backend", choices=["numpyro", "blackjax"])
            p.add_argument("--algorithm", choices=["nuts", "hmc"])
            p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
            p.add_argument("--quiet", action="store_true", help="no progress bars")
            p.add_argument("--no-plot", action="store_true", help="skip the corner and trace plots")
            p.add_argument("--chain-group", type=int, metavar="K",
                           help="run an independent group of chains into OUTPUT/group_K with seed + K "
                                "(job arrays, one per node); combine with `cosmo merge OUTPUT`")
        else:
            p.add_argument("--steps", type=int)
        p.set_defaults(func=func)
    p = sub.add_parser("summary", help="means, sigmas, R-hat, ESS, divergences of a run")
    p.add_argument("run_dir")
    p.add_argument("--reference", help='JSON {"param": [mean, sigma]} to compare with')
    p.set_defaults(func=cmd_summary)
    p = sub.add_parser("merge", help="merge the chain groups RUN_DIR/group_K into RUN_DIR")
    p.add_argument("run_dir")
    p.set_defaults(func=cmd_merge)
    p = sub.add_parser("plot", help="corner and trace plots of a run")
    p.add_argument("run_dir")
    p.add_argument("--format", default="png", choices=["png", "pdf"])
    p.set_defaults(func=cmd_plot)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosmo", description=cosmo.cli.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    cosmo.cli.add_commands(sub)
    data.cli.add_commands(sub)
    likelihoods.cli.add_commands(sub)
    add_commands(sub)
    return parser


def enable_compilation_cache() -> str | None:
    """Keep compiled XLA programs on disk between runs (solver and sampler compilations take
    minutes; a resumed or repeated run reuses them). ``COSMO_JAX_CACHE``: the directory, or
    ``off``; default ``~/.cache/cosmo-jax/jax``."""
    import os

    import jax

    path = os.environ.get("COSMO_JAX_CACHE", str(pathlib.Path.home() / ".cache" / "cosmo-jax" / "jax"))
    if path.lower() in ("", "0", "off", "none"):
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    return path


def main(argv: list[str] | None = None) -> int:
    enable_compilation_cache()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
