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

import pathlib
import time
from typing import Any

import numpy as np

from ..params import resolve
from .classy_runner import make_classy, with_precision
from .cosmologies import TENSOR_COSMOLOGIES
from .spectra_reference import merge_identical_ncdm, reference_cli

#: Highest multipole (CLASS's default l_max_tensors; the accuracy target is l = 2..500).
L_MAX = 500


def tensor_settings(precision: str) -> dict[str, Any]:
    settings: dict[str, Any] = {"output": "tCl,pCl", "modes": "t", "l_max_tensors": L_MAX}
    return with_precision(settings, precision)


def tensor_reference(params: dict[str, Any], precision: str = "high", recombination: str = "RECFAST") -> dict[str, np.ndarray]:
    """Tensor-mode C_l from classy. Without scalar modes CLASS reads only ``A_s`` (not n_s), so
    A_s and the slow-roll n_t and alpha_t (which depend on n_s) are passed as resolved by
    :func:`cosmo.params.resolve` (CLASS's rules)."""
    t0 = time.perf_counter()
    cp = resolve(params)
    p = {k: v for k, v in merge_identical_ncdm(params).items() if k not in ("n_s", "ln10^{10}A_s")}
    p.update(A_s=float(cp.A_s), n_t=float(cp.n_t), alpha_t=float(cp.alpha_t))
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
