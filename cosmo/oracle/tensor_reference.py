"""High-precision CLASS references for the tensor modes (primordial gravitational waves).

    python -m cosmo.oracle.tensor_reference tensor_r0p1 [tensor_r0p01 ...] [--out tests/reference]
        [--precision high|default] [--recombination RECFAST|HyRec]

Writes ``tensor_<precision>_<recombination>_<name>.npz`` per cosmology of
:data:`~cosmo.oracle.cosmologies.TENSOR_COSMOLOGIES` with classy's ``raw_cl`` of the tensor modes
alone (``modes = t``; ``tt, ee, te, bb``, dimensionless, l = 0..L_MAX = CLASS's default
``l_max_tensors``). The scalar spectra of the same cosmologies are the stored scalar references.
``--precision high`` runs CLASS with its ``cl_ref.pre`` settings; never edit the files.
"""

from __future__ import annotations

import math
import pathlib
import time
from typing import Any

import numpy as np

from .classy_runner import HIGH_PRECISION, make_classy
from .cosmologies import TENSOR_COSMOLOGIES
from .spectra_reference import merge_identical_ncdm, reference_cli

#: Highest multipole (CLASS's default l_max_tensors; the accuracy target is l = 2..500).
L_MAX = 500


def tensor_settings(precision: str) -> dict[str, Any]:
    settings: dict[str, Any] = {"output": "tCl,pCl", "modes": "t", "l_max_tensors": L_MAX}
    if precision == "high":
        settings.update(HIGH_PRECISION)
    elif precision != "default":
        raise ValueError(f"precision must be 'high' or 'default', got {precision!r}")
    return settings


def tensor_reference(params: dict[str, Any], precision: str = "high", recombination: str = "RECFAST") -> dict[str, np.ndarray]:
    """Tensor-mode C_l from classy. Without scalar modes CLASS reads only ``A_s`` (not n_s), so
    the slow-roll n_t, which depends on n_s, is passed explicitly (same value as CLASS's rule)."""
    t0 = time.perf_counter()
    p = dict(merge_identical_ncdm(params))
    if "ln10^{10}A_s" in p:
        p["A_s"] = math.exp(p.pop("ln10^{10}A_s")) * 1.0e-10
    n_s, r = p.pop("n_s"), p["r"]
    p.setdefault("n_t", -r / 8.0 * (2.0 - r / 8.0 - n_s))
    p.setdefault("alpha_t", r / 8.0 * (r / 8.0 + n_s - 1.0))
    c = make_classy(p, recombination, extra=tensor_settings(precision))
    cl = c.raw_cl(L_MAX)
    out: dict[str, np.ndarray] = {f"cl_{key}": np.asarray(cl[key]) for key in ("tt", "ee", "te", "bb")}
    out["ell"] = np.asarray(cl["ell"])
    out["seconds"] = np.asarray(time.perf_counter() - t0)
    c.struct_cleanup()
    c.empty()
    return out


def reference_path(out_dir: pathlib.Path, name: str, precision: str = "high", recombination: str = "RECFAST") -> pathlib.Path:
    return out_dir / f"tensor_{precision}_{recombination.lower()}_{name}.npz"


def main(argv: list[str] | None = None) -> None:
    reference_cli(__doc__, tensor_reference, reference_path, argv, TENSOR_COSMOLOGIES)


if __name__ == "__main__":
    main()
