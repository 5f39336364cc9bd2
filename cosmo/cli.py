"""Command-line interface: ``cosmo <command>`` (a thin layer over library functions).

Commands:
  run       background + thermodynamics at a cosmology (default: Planck 2018 best fit),
            printed beside CLASS, with a figure of x_e(z) and the visibility function
  compare   accuracy table against the stored CLASS references (tests/reference)
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
    from .oracle.compare import accuracy_table, format_table

    print(format_table(accuracy_table(args.reference, args.precision)))
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
    run.add_argument("--recombination", default="RECFAST", help="CLASS model to compare with (RECFAST or HyRec)")
    run.add_argument("--no-class", action="store_true", help="do not run CLASS beside")
    run.add_argument("--out", default="out", help="directory for figures (default: out/)")
    run.set_defaults(func=cmd_run)
    cmp_ = sub.add_parser("compare", help="accuracy table against stored CLASS references")
    cmp_.add_argument("--reference", default="tests/reference/bg_thermo_recfast.npz")
    cmp_.add_argument("--precision", default="default")
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
