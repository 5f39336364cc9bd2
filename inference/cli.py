"""``cosmo``: the application's command line (a thin layer over library functions).

Solver commands (``run``, ``compare``, ``reference``) come from :mod:`cosmo.cli`, the data
registry (``data``) from :mod:`data.cli`, likelihoods (``loglike``) from :mod:`likelihoods.cli`.
With no command, ``cosmo`` runs ``cosmo run`` (the main job on defaults).
"""

from __future__ import annotations

import argparse
import sys

import cosmo.cli
import data.cli
import likelihoods.cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosmo", description=cosmo.cli.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    cosmo.cli.add_commands(sub)
    data.cli.add_commands(sub)
    likelihoods.cli.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["run", *(argv or [])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
