"""High-precision CLASS references for the spectra stage (unlensed C_l, P(k), sigma8).

    python -m cosmo.oracle.spectra_reference planck2018 [box_low ...] [--out tests/reference]
        [--precision high|default] [--recombination RECFAST|HyRec]

Writes ``spectra_<precision>_<recombination>_<name>.npz`` per cosmology with classy's
``raw_cl`` (unlensed, dimensionless, l = 0..L_MAX), the lensing potential ``pp``, the linear
P(k) [Mpc^3] at z = 0 and 2 on ``K_PK`` [1/Mpc] and sigma8. With ``--precision high``
CLASS runs with its ``cl_ref.pre`` settings (about 20 minutes per cosmology on 2 cores),
so the files are generated once and stored; never edit them.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time
from typing import Any

import numpy as np

from ..params import resolve
from .classy_runner import REFERENCE_META, make_classy, with_precision
from .cosmologies import COSMOLOGIES

#: Highest multipole stored (the accuracy targets stop at 2500 for TT/EE, 2000 for phi-phi).
L_MAX = 3000
#: Wavenumbers [1/Mpc] of the stored linear P(k) (the target range is [1e-4, 1]).
K_PK = np.logspace(-5.0, 1.0, 241)
#: Redshifts of the stored P(k).
Z_PK = (0.0, 2.0)


def spectra_settings(precision: str) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "output": "tCl,pCl,lCl,mPk",
        "lensing": "no",
        "l_max_scalars": L_MAX,
        "P_k_max_1/Mpc": 12.0,
        "z_max_pk": max(Z_PK),
    }
    return with_precision(settings, precision)


def merge_identical_ncdm(params: dict[str, Any]) -> dict[str, Any]:
    """The same cosmology with identical ncdm species given as one species of summed degeneracy.

    CLASS evolves one momentum hierarchy per species; three equal-mass neutrinos as three
    species cost it ~3x the perturbation time (cl_ref did not finish in 105 min on one core),
    while one species with ``deg_ncdm = 3`` solves identical equations. The species are merged
    by :func:`cosmo.params.resolve`, exactly as our solver sees them.
    """
    if not isinstance(params.get("m_ncdm"), (list, tuple)):
        return params
    cp = resolve(params)
    if cp.N_ncdm == len(params["m_ncdm"]):
        return params
    return {
        **params,
        "N_ncdm": cp.N_ncdm,
        **{key: [float(v) for v in getattr(cp, key)] for key in ("m_ncdm", "T_ncdm", "deg_ncdm")},
    }


def spectra_reference(params: dict[str, Any], precision: str = "high", recombination: str = "RECFAST") -> dict[str, np.ndarray]:
    """Unlensed C_l, P(k, z) and sigma8 from classy for our parameter dict."""
    t0 = time.perf_counter()
    c = make_classy(merge_identical_ncdm(params), recombination, extra=spectra_settings(precision))
    cl = c.raw_cl(L_MAX)
    out: dict[str, np.ndarray] = {f"cl_{key}": np.asarray(cl[key]) for key in ("tt", "ee", "te", "pp", "tp")}
    out["ell"] = np.asarray(cl["ell"])
    out["k_pk"] = K_PK
    out["z_pk"] = np.asarray(Z_PK)
    out["pk_lin"] = np.array([[c.pk_lin(k, z) for k in K_PK] for z in Z_PK])
    out["sigma8"] = np.asarray(c.sigma8())
    for name, value in c.get_current_derived_parameters(["100*theta_s", "z_star", "tau_reio", "z_reio"]).items():
        out["derived/" + name] = np.asarray(value)
    out["seconds"] = np.asarray(time.perf_counter() - t0)
    c.struct_cleanup()
    c.empty()
    return out


def reference_path(out_dir: pathlib.Path, name: str, precision: str = "high", recombination: str = "RECFAST") -> pathlib.Path:
    return out_dir / f"spectra_{precision}_{recombination.lower()}_{name}.npz"


def reference_cli(
    description: str, build, path, argv: list[str] | None = None, cosmologies: dict[str, dict[str, Any]] = COSMOLOGIES
) -> None:
    """Command line shared by the stored-reference generators: ``build(params, precision,
    recombination)`` -> arrays, written (with metadata) to ``path(out, name, precision, recombination)``
    for named ``cosmologies`` or points of a Latin hypercube (``lhs50_s0_07``, see
    :func:`cosmo.oracle.cosmologies.named_or_hypercube`)."""
    import classy

    from .cosmologies import named_or_hypercube

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", help=f"cosmologies: {', '.join(sorted(cosmologies))} "
                        "or hypercube points (lhs50_s0_07, lhs50_mnu_s0_07)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("tests/reference"))
    parser.add_argument("--precision", default="high", choices=["high", "default"])
    parser.add_argument("--recombination", default="RECFAST", choices=["RECFAST", "HyRec"])
    args = parser.parse_args(argv)
    try:
        table = {name: cosmologies[name] if name in cosmologies else named_or_hypercube(name) for name in args.names}
    except ValueError as err:
        parser.error(str(err))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, params in table.items():
        arrays = build(params, args.precision, args.recombination)
        meta = {"classy_version": classy.__version__, "cosmology": name, "params": params,
                "precision": args.precision, "recombination": args.recombination}
        if args.precision == "high":
            meta.update(REFERENCE_META)
        arrays["meta"] = np.asarray(json.dumps(meta))
        target = path(args.out, name, args.precision, args.recombination)
        np.savez_compressed(target, **arrays)
        print(f"wrote {target} in {float(arrays['seconds']):.0f} s", flush=True)


def main(argv: list[str] | None = None) -> None:
    reference_cli(__doc__, spectra_reference, reference_path, argv)


if __name__ == "__main__":
    main()
