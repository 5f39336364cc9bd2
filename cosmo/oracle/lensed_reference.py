"""High-precision CLASS references for the lensing stage (lensed C_l and CLASS's own input to it).

    python -m cosmo.oracle.lensed_reference planck2018 [box_low ...] [--out tests/reference]
        [--precision high|default] [--recombination RECFAST|HyRec]

Writes ``lensed_<precision>_<recombination>_<name>.npz`` per cosmology with, from one CLASS run:

- ``lensed_{tt,ee,te,bb,pp}`` = classy's ``lensed_cl(L_MAX)`` (dimensionless, l = 0..L_MAX);
- ``raw_{tt,ee,te,bb,pp}`` = classy's ``raw_cl(L_MAX + delta_l_max)``: the unlensed spectra CLASS
  fed into its lensing module (BB: tensor modes, for the cosmologies with ``r``). Our lensing operator applied to these isolates the lensing stage
  (a module test); our own unlensed spectra through our operator are the end-to-end test.

``--precision high`` runs CLASS with its ``cl_ref.pre`` settings (``delta_l_max = 1000``,
``num_mu_minus_lmax = 1000``, ``accurate_lensing = 1``, l steps 1.01 / 8, Bessel functions sampled 32 times per 2 pi), about 25-30 minutes of CPU per cosmology on
one core, so the files are generated once and stored; never edit them.
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import numpy as np

from .classy_runner import make_classy, with_precision
from .cosmologies import COSMOLOGIES, CURVED_COSMOLOGIES, TENSOR_COSMOLOGIES
from .spectra_reference import merge_identical_ncdm, reference_cli

#: Highest lensed multipole stored (the accuracy targets stop at 2500).
L_MAX = 2500
#: CLASS's default ``delta_l_max`` (unlensed spectra computed beyond L_MAX for the lensing).
DELTA_L_MAX_DEFAULT = 500


def lensed_settings(precision: str, l_max: int = L_MAX) -> dict[str, Any]:
    settings: dict[str, Any] = {"output": "tCl,pCl,lCl", "lensing": "yes", "l_max_scalars": l_max}
    return with_precision(settings, precision)


def lensed_reference(params: dict[str, Any], precision: str = "high", recombination: str = "RECFAST",
                     l_max: int = L_MAX) -> dict[str, np.ndarray]:
    """Lensed C_l to ``l_max`` and the unlensed input of CLASS's lensing module, from one classy run."""
    t0 = time.perf_counter()
    settings = lensed_settings(precision, l_max)
    c = make_classy(merge_identical_ncdm(params), recombination, extra=settings)
    delta = int(settings.get("delta_l_max", DELTA_L_MAX_DEFAULT))
    raw = c.raw_cl(l_max + delta)
    lensed = c.lensed_cl(l_max)
    out: dict[str, np.ndarray] = {f"raw_{key}": np.asarray(raw[key]) for key in ("tt", "ee", "te", "bb", "pp")}
    out.update({f"lensed_{key}": np.asarray(lensed[key]) for key in ("tt", "ee", "te", "bb", "pp")})
    out["delta_l_max"] = np.asarray(delta)
    for name, value in c.get_current_derived_parameters(["100*theta_s", "z_star", "tau_reio", "z_reio", "YHe"]).items():
        out["derived/" + name] = np.asarray(value)
    out["seconds"] = np.asarray(time.perf_counter() - t0)
    c.struct_cleanup()
    c.empty()
    return out


def reference_path(out_dir: pathlib.Path, name: str, precision: str = "high", recombination: str = "RECFAST") -> pathlib.Path:
    return out_dir / f"lensed_{precision}_{recombination.lower()}_{name}.npz"


def main(argv: list[str] | None = None) -> None:
    reference_cli(__doc__, lensed_reference, reference_path, argv, {**COSMOLOGIES, **CURVED_COSMOLOGIES, **TENSOR_COSMOLOGIES})


if __name__ == "__main__":
    main()
