"""``cosmo data list | verify | install``: the dataset registry from the command line."""

from __future__ import annotations

import argparse
import pathlib

from .registry import DATA_DIR_ENV, DATASETS, DataError, data_dir, install, locate, verify


def _progress(name: str):
    def wrap(files):
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover
            return files
        return tqdm(files, desc=f"install {name}", unit="file")
    return wrap


def _package_copy(name: str, root) -> pathlib.Path | None:
    """Folder of the sound package copy of a dataset (``Dataset.package_copy``), else None."""
    try:
        folder = locate(name, root)
    except DataError:
        return None
    return folder if folder != data_dir(root) / name else None


def cmd_list(args: argparse.Namespace) -> int:
    root = data_dir(args.data_dir)
    print(f"data directory: {root}  (set with --data-dir or ${DATA_DIR_ENV})\n")
    for name, ds in DATASETS.items():
        folder = root / name
        state = "installed" if folder.exists() and not verify(name, root) else (
            "incomplete/corrupt" if folder.exists() else "not installed")
        if state != "installed" and ds.package_copy and _package_copy(name, root):
            state = f"in {ds.package_copy.split(':')[0]}"
        print(f"{name:26s} {state:19s} {len(ds.files):3d} files  {ds.description}")
        print(f"{'':26s} official: {ds.official}")
        print(f"{'':26s} download: https://github.com/{ds.repository} ({ds.prefix or '/'})")
        print(f"{'':26s} cite: {ds.citation}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    root = data_dir(args.data_dir)
    bad = 0
    for name in args.names or list(DATASETS):
        try:
            problems = verify(name, root)
        except DataError as err:
            problems = [str(err)]
        copy = _package_copy(name, root) if problems and DATASETS.get(name) and DATASETS[name].package_copy else None
        if copy is not None:
            print(f"{name:26s} OK (the copy shipped with {DATASETS[name].package_copy.split(':')[0]}: {copy})")
            continue
        print(f"{name:26s} {'OK' if not problems else 'FAILED'}")
        for p in problems:
            print(f"    {p}")
        bad += bool(problems)
    if bad:
        print(f"\n{bad} dataset(s) failed; fix with: cosmo data install NAME [--from DIR]")
    return 1 if bad else 0


def cmd_install(args: argparse.Namespace) -> int:
    root = data_dir(args.data_dir)
    for name in args.names:
        try:
            folder = install(name, root, source=args.source, mirror=args.mirror, progress=_progress(name))
        except DataError as err:
            print(f"error: {err}")
            return 1
        print(f"{name}: installed and verified in {folder}")
    return 0


def add_commands(sub) -> None:
    data = sub.add_parser("data", help="dataset registry: list, verify, install")
    dsub = data.add_subparsers(dest="data_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help=f"data directory (default: ${DATA_DIR_ENV} or ~/.local/share/cosmo-jax/data)")
    p = dsub.add_parser("list", parents=[common], help="datasets, official sources, install state")
    p.set_defaults(func=cmd_list)
    p = dsub.add_parser("verify", parents=[common], help="check every file's sha256")
    p.add_argument("names", nargs="*", metavar="NAME", help="datasets to verify (default: all)")
    p.set_defaults(func=cmd_verify)
    p = dsub.add_parser("install", parents=[common], help="install (download, or copy with --from) and verify")
    p.add_argument("names", nargs="+", choices=list(DATASETS), metavar="NAME")
    p.add_argument("--from", dest="source", help="copy from a local directory laid out like a data directory")
    p.add_argument("--mirror", help="download from this base URL (<mirror>/<dataset>/<file>) instead of upstream")
    p.set_defaults(func=cmd_install)
