"""Command-line interface: ``cosmo <command>`` (a thin layer over library functions).

Commands:
  run       background + thermodynamics at a cosmology (default: Planck 2018 best fit),
            printed beside CLASS, with a figure of x_e(z) and the visibility function
  compare   accuracy table against the stored CLASS references (tests/reference), or with
            --stage background|thermodynamics|perturbations|transfer|cl one stage beside CLASS
            (tables, relative-difference plots), to trace a discrepancy along the pipeline
  reference regenerate the stored CLASS references
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any


def _parse_params(items: list[str] | None, json_path: str | None) -> dict[str, Any] | None:
    params: dict[str, Any] | None = None
    if json_path:
        params = json.loads(pathlib.Path(json_path).read_text())
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"--param expects name=value, got {item!r}")
        key, value = item.split("=", 1)
        from .oracle.cosmologies import PLANCK2018

        params = dict(PLANCK2018) if params is None else params
        try:
            params[key] = float(value) if "," not in value else [float(v) for v in value.split(",")]
        except ValueError:
            params[key] = value
    return params


def cmd_run(args: argparse.Namespace) -> int:
    from .report import format_summary, plot_thermo, summary_table

    params = _parse_params(args.param, args.params_json)
    with_class = not args.no_class
    print("cosmo: background + thermodynamics" + (" vs CLASS" if with_class else ""))
    rows, timings = summary_table(params, with_class=with_class, recombination=args.recombination)
    print(format_summary(rows))
    print()
    for k, v in timings.items():
        print(f"{k:<45}{v:10.3f}")
    out = pathlib.Path(args.out) / "thermo.png"
    plot_thermo(params, out, recombination=args.recombination, with_class=with_class)
    print(f"\nfigure: x_e(z) and visibility -> {out}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    if args.stage is None:
        from .oracle.compare import accuracy_table, format_table

        print(format_table(accuracy_table(args.reference, args.precision)))
        return 0
    from .oracle import stages
    from .oracle.cosmologies import PLANCK2018, named_or_hypercube

    params = _parse_params(args.param, args.params_json)
    if params is None:
        params = named_or_hypercube(args.cosmology) if args.cosmology else dict(PLANCK2018)
    options = {"ks": [float(k) for k in args.k.split(",")], "z": args.z, "l_max": args.l_max}
    comp = stages.compare_stage(args.stage, params, args.class_precision, args.precision, **options)
    print(stages.format_summary(comp))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figures = stages.plot_all(comp, out)
    stages.save(comp, out / f"compare_{args.stage}.npz")
    print(f"\nfigures: {', '.join(str(p) for p in figures)}; arrays: {out / f'compare_{args.stage}.npz'}")
    return 0


def cmd_reference(args: argparse.Namespace) -> int:
    from .oracle.generate import generate

    for path in generate(pathlib.Path(args.out), args.models):
        print(f"wrote {path}")
    return 0


def add_commands(sub) -> None:
    """Register the solver's commands (run, compare, reference) on an argparse subparsers object."""
    run = sub.add_parser("run", help="background + thermodynamics beside CLASS, with a figure")
    run.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help="override a Planck 2018 parameter (CLASS name), repeatable")
    run.add_argument("--params-json", metavar="FILE", help="JSON dict of CLASS-named parameters")
    run.add_argument("--recombination", default="RECFAST", help="recombination model of both codes (RECFAST or HyRec)")
    run.add_argument("--no-class", action="store_true", help="do not run CLASS beside")
    run.add_argument("--out", default="out", help="directory for figures (default: out/)")
    run.set_defaults(func=cmd_run)
    cmp_ = sub.add_parser("compare", help="accuracy table against stored CLASS references, or one stage beside "
                          "live CLASS (--stage) with plots")
    cmp_.add_argument("--reference", default="tests/reference/bg_thermo_recfast.npz",
                      help="stored background/thermodynamics reference (without --stage)")
    cmp_.add_argument("--precision", default="default", help="our precision preset (default or fast)")
    cmp_.add_argument("--stage", choices=["background", "thermodynamics", "perturbations", "transfer", "cl"],
                      help="compare this stage with CLASS run here (RECFAST), on CLASS's own sampling")
    cmp_.add_argument("--cosmology", help="named cosmology or hypercube point (default: Planck 2018)")
    cmp_.add_argument("--param", action="append", metavar="NAME=VALUE", help="override a parameter, repeatable")
    cmp_.add_argument("--params-json", metavar="FILE", help="JSON dict of CLASS-named parameters")
    cmp_.add_argument("--class-precision", default="default", choices=["default", "high"],
                      help="CLASS's precision: its defaults or cl_ref (slow for cl)")
    cmp_.add_argument("--k", default="0.001,0.01,0.05,0.2", help="wavenumbers [1/Mpc] of --stage perturbations")
    cmp_.add_argument("--z", type=float, default=0.0, help="redshift of --stage transfer")
    cmp_.add_argument("--l-max", type=int, default=2500, help="l_max of --stage cl")
    cmp_.add_argument("--out", default="out", help="directory for the figure and arrays (default: out/)")
    cmp_.set_defaults(func=cmd_compare)
    ref = sub.add_parser("reference", help="regenerate the stored CLASS references (needs classy)")
    ref.add_argument("--out", default="tests/reference")
    ref.add_argument("--models", nargs="+", default=["RECFAST", "HyRec"])
    ref.set_defaults(func=cmd_reference)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosmo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_commands(parser.add_subparsers(dest="command"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
