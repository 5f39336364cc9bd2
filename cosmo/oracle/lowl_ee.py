"""CLASS's own E-mode source, projected exactly onto the lowest multipoles (oracle side).

    python -m cosmo.oracle.lowl_ee planck2018 [box_low ...] [--out tests/reference]

Why: for low optical depth (tau_reio = 0.018, the box_low and box_mixed_a corners) CLASS's
harmonic/transfer integration of EE at l = 2-4 is off by ~1e-3 (l = 2: -1.2e-3) from the
exact line-of-sight integral of *its own* E source (CHANGELOG 2026-11-23 (e)), and no CLASS
precision knob moves it (transfer q sampling, source k sampling, time sampling, hierarchy
sizes, tolerances: < 1e-4). This module exports CLASS's source S_E(k, tau) at the cl_ref.pre
settings (``get_sources``) and evaluates

    C_l^EE = 4 pi int dk/k P_R(k) [ sqrt(3/8 (l+2)!/(l-2)!) int dtau S_E(k, tau) j_l(x)/x^2 ]^2,
    x = k (tau_0 - tau),

with exact spherical Bessel functions (scipy), the trapezoid rule on CLASS's own tau sampling
and a cubic spline in ln k onto a dense k grid (converged: 4000 vs 12000 points agree to
< 1e-6). The output is a reference for EE at l = 2..L_EXACT built only from CLASS's physics;
CLASS's own raw EE from the same run is stored beside it for the record.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time
from typing import Any

import numpy as np

from .classy_runner import HIGH_PRECISION, THERMO_TOL_REFERENCE, make_classy
from .cosmologies import COSMOLOGIES
from .spectra_reference import merge_identical_ncdm

#: Highest multipole of the exact projection (sources exported with l_max_scalars = 100).
L_EXACT = 10
#: CLASS's l_max_scalars for the source export (its k range then reaches 3 * 100 / tau_0).
L_MAX_SOURCES = 100
#: Dense k grid of the projection (log-spaced over CLASS's source k range).
N_K = 6000


def primordial_power(params: dict[str, Any], k: np.ndarray) -> np.ndarray:
    """P_R(k) = A_s (k / 0.05)^(n_s - 1) (pivot 0.05 /Mpc, no running: the oracle cosmologies)."""
    a_s = params["A_s"] if "A_s" in params else np.exp(params["ln10^{10}A_s"]) * 1.0e-10
    return a_s * (k / 0.05) ** (params["n_s"] - 1.0)


def project_e_source(
    source: np.ndarray, k_src: np.ndarray, tau: np.ndarray, tau0: float, power, ells, n_k: int = N_K
) -> np.ndarray:
    """Exact LOS projection of an E source sampled as ``source[k, tau]``; C_l^EE at ``ells``."""
    from scipy.interpolate import CubicSpline
    from scipy.special import spherical_jn

    k = np.logspace(np.log10(k_src[0]), np.log10(k_src[-1]), n_k)
    s = CubicSpline(np.log(k_src), source, axis=0)(np.log(k))
    x = k[:, None] * (tau0 - tau[None, :])
    out = []
    for l in ells:
        xs = np.maximum(x, 1.0e-8)
        radial = spherical_jn(l, xs) / xs**2
        if l == 2:  # j_2(x)/x^2 -> 1/15 as x -> 0 (the observer's position)
            radial = np.where(x < 1.0e-4, 1.0 / 15.0, radial)
        norm = np.sqrt(3.0 / 8.0 * (l + 2) * (l + 1) * l * (l - 1))
        delta = norm * np.trapezoid(s * radial, tau, axis=1)
        out.append(4.0 * np.pi * np.trapezoid(power(k) * delta**2, np.log(k)))
    return np.asarray(out)


def lowl_ee_reference(params: dict[str, Any]) -> dict[str, np.ndarray]:
    """EE at l = 2..L_EXACT from CLASS's cl_ref sources, projected exactly; CLASS's own beside."""
    t0 = time.perf_counter()
    settings = {"output": "tCl,pCl", "lensing": "no", "l_max_scalars": L_MAX_SOURCES, **HIGH_PRECISION}
    c = make_classy(merge_identical_ncdm(params), "RECFAST", extra=settings)
    cl = c.raw_cl(L_EXACT)
    sources, k_src, tau = c.get_sources()
    tau0 = c.get_current_derived_parameters(["conformal_age"])["conformal_age"]
    ells = np.arange(2, L_EXACT + 1)
    exact = project_e_source(np.asarray(sources["p"]), np.asarray(k_src), np.asarray(tau), tau0,
                             lambda k: primordial_power(params, k), ells)
    c.struct_cleanup()
    c.empty()
    return {"ell": ells, "cl_ee_exact": exact, "cl_ee_class": np.asarray(cl["ee"])[ells],
            "seconds": np.asarray(time.perf_counter() - t0)}


def lowl_ee_path(out_dir: pathlib.Path, name: str) -> pathlib.Path:
    return out_dir / f"lowl_ee_high_recfast_{name}.npz"


def main(argv: list[str] | None = None) -> None:
    import classy

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", choices=sorted(COSMOLOGIES))
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("tests/reference"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names:
        arrays = lowl_ee_reference(COSMOLOGIES[name])
        meta = {"classy_version": classy.__version__, "cosmology": name, "params": COSMOLOGIES[name],
                "settings": "cl_ref.pre + l_max_scalars 100, RECFAST", "n_k": N_K,
                "thermo_tol": THERMO_TOL_REFERENCE}
        arrays["meta"] = np.asarray(json.dumps(meta))
        path = lowl_ee_path(args.out, name)
        np.savez_compressed(path, **arrays)
        rel = arrays["cl_ee_exact"] / arrays["cl_ee_class"] - 1.0
        print(f"wrote {path} in {float(arrays['seconds']):.0f} s; exact/CLASS - 1 at l = 2..6: "
              + " ".join(f"{r:+.1e}" for r in rel[:5]), flush=True)


if __name__ == "__main__":
    main()
