"""``cosmo validate``: the solver against CLASS, in the units that matter for inference.

For each named cosmology with a stored CLASS cl_ref reference (``tests/reference``:
``lensed_high_recfast_NAME.npz`` and ``spectra_high_recfast_NAME.npz``) the solver runs at the
chosen precision preset and the report gives, per spectrum (lensed TT/EE/TE/BB, unlensed
TT/EE/TE and phi-phi) and per multipole range:

* the largest and the rms relative error (TE relative to sqrt(TT EE));
* the largest error in units of cosmic variance, sigma_l = sqrt(2/(2l+1)) C_l (TE:
  sqrt((C^TT C^EE + (C^TE)^2)/(2l+1)));
* the Delta chi^2 between our lensed spectra and CLASS's on Planck 2018 plik_lite TTTEEE + low-l
  TT and on Planck 2018 lensing (same data, nuisance parameters at their defaults; multipoles
  beyond the reference's 2500 take CLASS's values in both): the number a sampler feels;
* our time per cosmology (first call with compilation, and warm).

Outputs: ``validation.json``, ``validation.md`` (tables), ``residuals.png`` and our spectra
(``spectra_NAME.npz``, for tracing a discrepancy) in the output directory; ``--history FILE`` appends one JSON line per run (date, commit, preset, worst errors).
The exit status is non-zero when a tolerance is exceeded (defaults: the issue targets, 1e-3 for
TT/EE/TE, 1e-2 for BB, |Delta chi^2| <= 0.1).
"""

from __future__ import annotations

import datetime
import json
import math
import pathlib
import subprocess
import time
from typing import Any

import numpy as np

#: Multipole ranges of the report (the last one is cut at l_max).
L_RANGES = ((2, 29), (30, 499), (500, 999), (1000, 1999), (2000, 2500))
#: Default tolerances: relative errors (issue targets) and |Delta chi^2| per likelihood set.
TOLERANCES = {"tt": 1e-3, "ee": 1e-3, "te": 1e-3, "bb": 1e-2, "pp": 1e-3, "dchi2": 0.1}
#: Likelihood sets of the Delta chi^2 column.
CHI2_SETS = {
    "plik_lite+lowl": ("planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins"),
    "planck_lensing": ("planck_2018_lensing.native",),
}
REFERENCE_DIR = pathlib.Path(__file__).resolve().parents[1] / "tests" / "reference"


def _relative(ours: np.ndarray, ref: np.ndarray, key: str, tt=None, ee=None) -> np.ndarray:
    if key == "te":
        return np.abs(ours - ref) / np.sqrt(tt * ee)
    return np.abs(ours / ref - 1.0)


def _cosmic_variance(ref: np.ndarray, ell: np.ndarray, key: str, tt=None, ee=None) -> np.ndarray:
    if key == "te":
        return np.sqrt((tt * ee + ref**2) / (2 * ell + 1.0))
    return np.sqrt(2.0 / (2 * ell + 1.0)) * np.abs(ref)


def spectrum_errors(ours: dict[str, np.ndarray], ref: dict[str, np.ndarray], l_max: int,
                    keys=("tt", "ee", "te", "bb", "pp")) -> dict[str, dict[str, dict[str, float]]]:
    """``{key: {"l_lo-l_hi": {"max": ..., "rms": ..., "max_cv": ..., "l_worst": ...}}}`` for the
    spectra present in both (C_l dimensionless, indexed by l from 0)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key in keys:
        if key not in ours or key not in ref:
            continue
        rows = {}
        for lo, hi in L_RANGES:
            hi = min(hi, l_max, len(ours[key]) - 1, len(ref[key]) - 1)
            if hi < lo:
                continue
            ell = np.arange(lo, hi + 1)
            tt, ee = (ref["tt"][ell], ref["ee"][ell]) if key == "te" else (None, None)
            rel = _relative(ours[key][ell], ref[key][ell], key, tt, ee)
            cv = np.abs(ours[key][ell] - ref[key][ell]) / _cosmic_variance(ref[key][ell], ell, key, tt, ee)
            rows[f"{lo}-{hi}"] = {"max": float(rel.max()), "rms": float(np.sqrt(np.mean(rel**2))),
                                  "max_cv": float(cv.max()), "l_worst": int(ell[np.argmax(rel)])}
        out[key] = rows
    return out


def delta_chi2(ours_lensed: dict[str, np.ndarray], class_lensed: dict[str, np.ndarray], T_cmb: float,
               data_dir=None) -> dict[str, float]:
    """chi^2(ours) - chi^2(CLASS) of each likelihood set of :data:`CHI2_SETS` (real data,
    nuisance parameters at their defaults); sets whose data are missing are left out."""
    import likelihoods as lk
    from likelihoods.adapters import cl_to_theory_units
    from likelihoods.theory import Theory

    # plik_lite reads l <= 2508 and the references stop at 2500: beyond our l_max both take CLASS's
    # values (extended flat past its end; a flat extension of both at our l_max would leave huge
    # residuals there, which the bin covariance couples to the compared multipoles)
    n = max(2509, max(len(v) for v in class_lensed.values()))
    m = min(min(len(v) for v in ours_lensed.values()), min(len(v) for v in class_lensed.values()))

    def padded(cl):
        out = {}
        for k, v in cl.items():
            base = np.asarray(class_lensed[k])
            tail = np.concatenate([base[m:], np.full(max(0, n - len(base)), base[-1])])
            out[k] = np.concatenate([np.asarray(v)[:m], tail])[:n]
        return out

    pair = (padded(ours_lensed), padded(class_lensed))
    out = {}
    for label, names in CHI2_SETS.items():
        try:
            like = lk.combine(list(names), data_dir)
        except Exception as err:  # missing data: say so in the report, do not fail the run
            out[label] = float("nan")
            print(f"  (no Delta chi^2 for {label}: {err})")
            continue
        loglike = [float(like(Theory(cl=cl_to_theory_units(cl, T_cmb)), None)) for cl in pair]
        out[label] = -2.0 * (loglike[0] - loglike[1])
    return out


def load_reference(name: str, reference_dir: pathlib.Path = REFERENCE_DIR) -> dict[str, Any]:
    """CLASS cl_ref spectra of a named cosmology: lensed (if stored) and unlensed."""
    out: dict[str, Any] = {}
    lensed = reference_dir / f"lensed_high_recfast_{name}.npz"
    spectra = reference_dir / f"spectra_high_recfast_{name}.npz"
    if lensed.exists():
        ref = np.load(lensed)
        out["lensed"] = {k: ref[f"lensed_{k}"] for k in ("tt", "ee", "te", "bb", "pp")}
    if spectra.exists():
        ref = np.load(spectra)
        out["unlensed"] = {k: ref[f"cl_{k}"] for k in ("tt", "ee", "te", "pp")}
    if not out:
        raise FileNotFoundError(f"no stored CLASS reference for {name!r} in {reference_dir} "
                                f"(generate one: python -m cosmo.oracle.lensed_reference {name})")
    return out


def validate_cosmology(name: str, params: dict[str, Any], prec, l_max: int = 2500, data_dir=None,
                       reference_dir: pathlib.Path = REFERENCE_DIR) -> dict[str, Any]:
    """Errors, Delta chi^2 and timings of one named cosmology (see the module docstring)."""
    import jax

    import cosmo

    ref = load_reference(name, reference_dir)
    lensing = "lensed" in ref
    t0 = time.perf_counter()
    sol = jax.block_until_ready(cosmo.solve(params, prec, l_max=l_max, lensing=lensing))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = jax.block_until_ready(cosmo.solve(params, prec, l_max=l_max, lensing=lensing))
    warm = time.perf_counter() - t0
    result: dict[str, Any] = {"name": name, "seconds_first": first, "seconds_warm": warm}
    spectra = {f"unlensed_{k}": np.asarray(v) for k, v in sol.cl.as_dict().items()}
    if lensing:
        spectra.update({f"lensed_{k}": np.asarray(v) for k, v in sol.lensed_cl.as_dict().items()})
    result["_spectra"] = spectra  # written to OUT/spectra_NAME.npz, not to the JSON
    if "unlensed" in ref:
        ours = {k: np.asarray(v) for k, v in sol.cl.as_dict().items()}
        result["unlensed"] = spectrum_errors(ours, ref["unlensed"], l_max, ("tt", "ee", "te", "pp"))
        if "pp" in result["unlensed"]:  # the phi-phi target stops at l = 2000
            result["unlensed"]["pp"] = {k: v for k, v in result["unlensed"]["pp"].items() if not k.startswith("2000")}
    if lensing:
        ours_l = {k: np.asarray(v) for k, v in sol.lensed_cl.as_dict().items()}
        result["lensed"] = spectrum_errors(ours_l, ref["lensed"], l_max, ("tt", "ee", "te", "bb"))
        keep = ("tt", "ee", "te", "bb", "pp")
        result["delta_chi2"] = delta_chi2({k: ours_l[k] for k in keep}, {k: ref["lensed"][k] for k in keep},
                                          float(sol.background.T_cmb), data_dir)
    return result


def worst(result: dict[str, Any]) -> dict[str, float]:
    """Largest relative error per spectrum over all l-ranges (lensed where available) and the
    largest |Delta chi^2|."""
    out: dict[str, float] = {}
    for kind in ("unlensed", "lensed"):
        for key, rows in result.get(kind, {}).items():
            if kind == "unlensed" and key != "pp" and "lensed" in result:
                continue
            out[key] = max(r["max"] for r in rows.values())
    chi2 = [abs(v) for v in result.get("delta_chi2", {}).values() if math.isfinite(v)]
    if chi2:
        out["dchi2"] = max(chi2)
    return out


def failures(results: list[dict[str, Any]], tolerances: dict[str, float]) -> list[str]:
    msgs = []
    for res in results:
        for key, value in worst(res).items():
            if value > tolerances.get(key, math.inf):
                msgs.append(f"{res['name']}: {key} {value:.2e} > {tolerances[key]:.0e}")
    return msgs


def markdown(results: list[dict[str, Any]], preset: str, l_max: int) -> str:
    lines = [f"# Validation against CLASS cl_ref (preset `{preset}`, l_max {l_max})", ""]
    lines += ["| cosmology | " + " | ".join(["TT", "EE", "TE", "BB", "pp (l<=2000)", "dchi2 plik_lite+lowl",
                                             "dchi2 lensing", "first [s]", "warm [s]"]) + " |",
              "|---" * 10 + "|"]
    for res in results:
        w = worst(res)
        chi2 = res.get("delta_chi2", {})
        cells = [f"{w[k]:.1e}" if k in w else "-" for k in ("tt", "ee", "te", "bb", "pp")]
        cells += [f"{chi2[s]:+.3f}" if s in chi2 else "-" for s in CHI2_SETS]
        cells += [f"{res['seconds_first']:.0f}", f"{res['seconds_warm']:.1f}"]
        lines.append(f"| {res['name']} | " + " | ".join(cells) + " |")
    lines += ["", "Worst relative error per spectrum over l = 2..l_max (lensed spectra where a lensed "
              "reference exists; TE relative to sqrt(TT EE)).", ""]
    for res in results:
        for kind in ("lensed", "unlensed"):
            if kind not in res:
                continue
            lines += [f"## {res['name']}: {kind}", "", "| spectrum | " + " | ".join(
                next(iter(res[kind].values())).keys()) + " |", "|---" * (1 + len(next(iter(res[kind].values())))) + "|"]
            for key, rows in res[kind].items():
                lines.append(f"| {key} | " + " | ".join(
                    f"{r['max']:.1e} (rms {r['rms']:.0e}, {r['max_cv']:.2f} sigma_CV)" for r in rows.values()) + " |")
            lines.append("")
    return "\n".join(lines)


def plot_residuals(results: list[dict[str, Any]], path: pathlib.Path) -> None:
    """Worst relative error per l-range and spectrum, one panel per cosmology."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.6), squeeze=False)
    for ax, res in zip(axes[0], results):
        kind = "lensed" if "lensed" in res else "unlensed"
        for key, rows in res[kind].items():
            mids = [0.5 * sum(int(x) for x in r.split("-")) for r in rows]
            ax.semilogy(mids, [rows[r]["max"] for r in rows], "o-", label=key.upper())
        ax.axhline(1e-3, color="k", lw=0.8, ls="--")
        ax.set(title=f"{res['name']} ({kind})", xlabel="l (range centre)", ylabel="max |rel. error| vs CLASS")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=pathlib.Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run(names: list[str], preset: str = "default", l_max: int = 2500, out_dir: pathlib.Path | None = None,
        history: pathlib.Path | None = None, tolerances: dict[str, float] | None = None, data_dir=None,
        reference_dir: pathlib.Path = REFERENCE_DIR, prec=None) -> tuple[list[dict[str, Any]], list[str]]:
    """Validate the named cosmologies; write the report; return the results and the failures."""
    from tqdm import tqdm

    import cosmo
    from cosmo.oracle.cosmologies import COSMOLOGIES, TENSOR_COSMOLOGIES

    table = {**COSMOLOGIES, **TENSOR_COSMOLOGIES}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown cosmologies {unknown}; named ones: {sorted(table)}")
    prec = cosmo.get_precision(prec if prec is not None else preset)
    tolerances = {**TOLERANCES, **(tolerances or {})}
    results = []
    for name in tqdm(names, desc=f"validate ({preset})", unit="cosmology"):
        results.append(validate_cosmology(name, table[name], prec, l_max, data_dir, reference_dir))
    fails = failures(results, tolerances)
    spectra = {r["name"]: r.pop("_spectra") for r in results}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, arrays in spectra.items():
            np.savez_compressed(out_dir / f"spectra_{name}.npz", **arrays)
        payload = {"preset": preset, "l_max": l_max, "tolerances": tolerances, "results": results,
                   "failures": fails, "commit": _commit(), "date": datetime.date.today().isoformat()}
        (out_dir / "validation.json").write_text(json.dumps(payload, indent=1))
        (out_dir / "validation.md").write_text(markdown(results, preset, l_max))
        plot_residuals(results, out_dir / "residuals.png")
    if history is not None:
        history.parent.mkdir(parents=True, exist_ok=True)
        line = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": _commit(), "preset": preset,
                "l_max": l_max, "worst": {r["name"]: worst(r) for r in results},
                "seconds_warm": {r["name"]: r["seconds_warm"] for r in results}}
        with history.open("a") as f:
            f.write(json.dumps(line) + "\n")
    return results, fails
