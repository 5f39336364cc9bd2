"""Generate the stored CLASS reference files used by the tests.

    python -m cosmo.oracle.generate [--out tests/reference] [--models RECFAST HyRec]

Writes one compressed ``.npz`` per recombination model with, for every named
cosmology, background quantities, x_e(z), T_b(z) and derived parameters from the
pinned classy. Takes about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np
from tqdm import tqdm

from .classy_runner import background_thermo_reference
from .cosmologies import COSMOLOGIES


def generate(out_dir: pathlib.Path, models: list[str]) -> list[pathlib.Path]:
    import classy

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for model in models:
        arrays: dict[str, np.ndarray] = {}
        for name in tqdm(COSMOLOGIES, desc=f"classy {model}"):
            for key, value in background_thermo_reference(COSMOLOGIES[name], model).items():
                arrays[f"{name}/{key}"] = value
        meta = {"classy_version": classy.__version__, "recombination": model, "cosmologies": COSMOLOGIES}
        arrays["meta"] = np.asarray(json.dumps(meta))
        path = out_dir / f"bg_thermo_{model.lower()}.npz"
        np.savez_compressed(path, **arrays)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("tests/reference"))
    parser.add_argument("--models", nargs="+", default=["RECFAST", "HyRec"])
    args = parser.parse_args(argv)
    for path in generate(args.out, args.models):
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
