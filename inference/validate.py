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
TOLERANCES = {"tt": 1e-3, "ee": 1e-3, "te": 1e-3, "bb": 1e-2, "pp": 1e-3, "pk": 1e-3, "sigma8": 5e-4, "dchi2": 0.1}
#: Wavenumber range [1/Mpc] of the P(k) comparison (the perturbations issue's target range).
PK_K_RANGE = (1e-4, 1.0)
#: Likelihood sets of the Delta chi^2 column.
CHI2_SETS = {
    "plik_lite+lowl": ("planck_2018_highl_plik.TTTEEE_lite", "planck_2018_lowl.TT_bins"),
    "planck_lensing": ("planck_2018_lensing.native",),
}
REFERENCE_DIR = pathlib.Path(__file__).resolve().parents[1] / "tests" / "reference"
#: Stored CLASS cl_ref references of Latin-hypercube points (``python -m
#: cosmo.oracle.lensed_reference lhs50_s0_07 --out validation/class_references``), checked
#: against the point's parameters and the current reference settings when used.
HYPERCUBE_REFERENCE_DIR = pathlib.Path(__file__).resolve().parents[1] / "validation" / "class_references"


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


def load_reference(name: str, reference_dir: pathlib.Path = REFERENCE_DIR, precision: str = "high") -> dict[str, Any]:
    """CLASS spectra of a named cosmology at ``precision`` (``high``: cl_ref): lensed (if stored)
    and unlensed (the spectra file, else the unlensed input stored with the lensed spectra)."""
    out: dict[str, Any] = {}
    lensed = reference_dir / f"lensed_{precision}_recfast_{name}.npz"
    spectra = reference_dir / f"spectra_{precision}_recfast_{name}.npz"
    if lensed.exists():
        ref = np.load(lensed)
        out["lensed"] = {k: ref[f"lensed_{k}"] for k in ("tt", "ee", "te", "bb", "pp")}
        out["unlensed"] = {k: ref[f"raw_{k}"] for k in ("tt", "ee", "te", "pp")}
        out["derived"] = {k.removeprefix("derived/"): float(ref[k]) for k in ref.files if k.startswith("derived/")}
    if spectra.exists():
        ref = np.load(spectra)
        out["unlensed"] = {k: ref[f"cl_{k}"] for k in ("tt", "ee", "te", "pp")}
        if "pk_lin" in ref.files:
            out["pk"] = {"k": ref["k_pk"], "z": ref["z_pk"], "pk_lin": ref["pk_lin"], "sigma8": float(ref["sigma8"])}
    if not out:
        raise FileNotFoundError(f"no stored CLASS reference for {name!r} in {reference_dir} "
                                f"(generate one: python -m cosmo.oracle.lensed_reference {name})")
    return out


def live_reference(name: str, params: dict[str, Any], cache_dir: pathlib.Path, precision: str = "high") -> dict[str, Any]:
    """CLASS lensed spectra (and their unlensed input) for any cosmology, computed with classy at
    ``precision`` (``high`` = cl_ref: 15-100 minutes on one core; ``default``: seconds) and cached
    in ``cache_dir`` as ``lensed_PRECISION_recfast_NAME.npz`` with the parameters, so that a rerun
    (or the next solver version) reuses it; a cached file for other parameters is an error."""
    import classy

    from cosmo.oracle.classy_runner import REFERENCE_META
    from cosmo.oracle.lensed_reference import lensed_reference, reference_path

    path = reference_path(cache_dir, name, precision)
    if path.exists():
        meta = json.loads(str(np.load(path)["meta"]))
        if meta["params"] != json.loads(json.dumps(params)):
            raise ValueError(f"{path} holds CLASS spectra for other parameters ({meta['params']}, not {params}): "
                             "remove it or use another cache directory")
        stale = {k: meta.get(k) for k, v in REFERENCE_META.items() if meta.get(k) != v}
        if precision == "high" and stale:
            raise ValueError(f"{path} was made with other reference settings ({stale}, now {REFERENCE_META}: "
                             "cl_ref.pre's RECFAST tolerance, l sampling and Bessel sampling leave 1e-5 errors in TT); "
                             "remove it to recompute")
    else:
        cache_dir.mkdir(parents=True, exist_ok=True)
        print(f"  CLASS ({precision}) for {name}" + (" (cl_ref: 15-100 min)" if precision == "high" else ""), flush=True)
        arrays = lensed_reference(params, precision)
        arrays["meta"] = np.asarray(json.dumps({"classy_version": classy.__version__, "cosmology": name,
                                                "params": params, "precision": precision, "recombination": "RECFAST",
                                                **(REFERENCE_META if precision == "high" else {})}))
        tmp = path.with_name(path.name + ".part.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
    return load_reference(name, cache_dir, precision)


def class_helium(params: dict[str, Any], ref: dict[str, Any]) -> float | None:
    """CLASS's Y_He at ``params``: stored with the reference (``derived/YHe``), else from a classy
    background + thermodynamics run (a second); None without classy or when ``params`` fix Y_He.

    The report runs our solver with this Y_He so that both codes see the same helium: CLASS reads
    its BBN table's omega_b column from the last Delta N block only (thermodynamics.c overwrites
    ``omegab[i]`` line by line), and the blocks' omega_b differ by up to 2e-5, so its Y_He(omega_b)
    is off the table by +2.3e-6 on average and jagged by ~2e-6 rms. Our smooth fit of the table
    differs from it by up to ~1.1e-5 relative (box_low), which moves TT by ~1e-5 at l = 2000
    (CHANGELOG 2026-12-01); the difference is reported beside the spectra (``YHe``)."""
    if "YHe" in params:
        return None
    derived = ref.get("derived", {})
    if "YHe" in derived:
        return float(derived["YHe"])
    from cosmo.oracle.classy_runner import make_classy

    try:
        c = make_classy(params, "RECFAST")
    except ImportError:  # classy is a test/validation dependency
        return None
    value = float(c.get_current_derived_parameters(["YHe"])["YHe"])
    c.struct_cleanup()
    c.empty()
    return value


def class_default_row(params: dict[str, Any], ref: dict[str, Any], l_max: int, T_cmb: float, data_dir=None) -> dict[str, Any]:
    """CLASS at its default precision (RECFAST, the reference's run settings, lensed to ``l_max``), timed in this process and compared with the reference exactly as our solver is: the
    benchmark row of the report and a measure of how far CLASS's own defaults are from cl_ref."""
    from cosmo.oracle.lensed_reference import lensed_reference

    t0 = time.perf_counter()
    arrays = lensed_reference(params, "default", l_max=l_max)
    seconds = time.perf_counter() - t0
    keys = ("tt", "ee", "te", "bb", "pp")
    lensed = {k: arrays[f"lensed_{k}"] for k in keys}
    unlensed = {k: arrays[f"raw_{k}"] for k in ("tt", "ee", "te", "pp")}
    row: dict[str, Any] = {"seconds": seconds, "lensed": spectrum_errors(lensed, ref["lensed"], l_max, keys[:4])}
    if "unlensed" in ref:
        row["unlensed"] = _pp_rows(spectrum_errors(unlensed, ref["unlensed"], l_max, ("pp",)))
    row["delta_chi2"] = delta_chi2(lensed, {k: ref["lensed"][k] for k in keys}, T_cmb, data_dir)
    return row


def _pp_rows(errors: dict[str, Any]) -> dict[str, Any]:
    """The phi-phi target stops at l = 2000: drop the last l-range."""
    if "pp" in errors:
        errors["pp"] = {k: v for k, v in errors["pp"].items() if not k.startswith("2000")}
    return errors


def validate_cosmology(name: str, params: dict[str, Any], prec, l_max: int = 2500, data_dir=None,
                       reference_dir: pathlib.Path = REFERENCE_DIR, ref: dict[str, Any] | None = None,
                       with_class_default: bool = False) -> dict[str, Any]:
    """Errors, Delta chi^2 and timings of one cosmology (see the module docstring) against ``ref``
    (default: the stored reference of ``name`` in ``reference_dir``). ``with_class_default`` adds
    the row of CLASS at its default precision (:func:`class_default_row`) under ``"class_default"``."""
    import jax

    import cosmo

    ref = load_reference(name, reference_dir) if ref is None else ref
    lensing = "lensed" in ref
    pk = "pk" in ref
    helium = class_helium(params, ref)
    solved = params if helium is None else {**params, "YHe": helium}
    t0 = time.perf_counter()
    sol = jax.block_until_ready(cosmo.solve(solved, prec, pk=pk, l_max=l_max, lensing=lensing))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = jax.block_until_ready(cosmo.solve(solved, prec, pk=pk, l_max=l_max, lensing=lensing))
    warm = time.perf_counter() - t0
    result: dict[str, Any] = {"name": name, "params": params, "seconds_first": first, "seconds_warm": warm}
    if helium is not None:
        from cosmo.thermodynamics.bbn import helium_from_bbn_at

        ours_bbn = float(helium_from_bbn_at(sol.params.omega_b, sol.background))
        result["YHe"] = {"class": helium, "ours_bbn": ours_bbn, "relative": ours_bbn / helium - 1.0}
    spectra = {f"unlensed_{k}": np.asarray(v) for k, v in sol.cl.as_dict().items()}
    if lensing:
        spectra.update({f"lensed_{k}": np.asarray(v) for k, v in sol.lensed_cl.as_dict().items()})
    result["_spectra"] = spectra  # written to OUT/spectra_NAME.npz, not to the JSON
    if "unlensed" in ref:
        ours = {k: np.asarray(v) for k, v in sol.cl.as_dict().items()}
        result["unlensed"] = _pp_rows(spectrum_errors(ours, ref["unlensed"], l_max, ("tt", "ee", "te", "pp")))
    if pk:
        result["matter"] = matter_power_errors(sol, ref["pk"])
    if lensing:
        ours_l = {k: np.asarray(v) for k, v in sol.lensed_cl.as_dict().items()}
        result["lensed"] = spectrum_errors(ours_l, ref["lensed"], l_max, ("tt", "ee", "te", "bb"))
        keep = ("tt", "ee", "te", "bb", "pp")
        T_cmb = float(sol.background.T_cmb)
        result["delta_chi2"] = delta_chi2({k: ours_l[k] for k in keep}, {k: ref["lensed"][k] for k in keep},
                                          T_cmb, data_dir)
        if with_class_default:
            result["class_default"] = class_default_row(params, ref, l_max, T_cmb, data_dir)
    return result


def matter_power_errors(sol, ref: dict[str, Any]) -> dict[str, Any]:
    """Largest relative error of our linear P(k, z) for k in :data:`PK_K_RANGE` at each redshift
    of the reference (``"z=0"``, ``"z=2"``: max, rms, k_worst) and of sigma8."""
    import jax.numpy as jnp

    k = np.asarray(ref["k"])
    sel = (k >= PK_K_RANGE[0]) & (k <= PK_K_RANGE[1])
    out: dict[str, Any] = {}
    for iz, z in enumerate(np.asarray(ref["z"])):
        rel = np.abs(np.asarray(sol.pk_lin(jnp.asarray(k[sel]), float(z))) / np.asarray(ref["pk_lin"])[iz][sel] - 1.0)
        out[f"z={z:g}"] = {"max": float(rel.max()), "rms": float(np.sqrt(np.mean(rel**2))),
                           "k_worst": float(k[sel][np.argmax(rel)])}
    out["sigma8"] = abs(float(sol.sigma8) / ref["sigma8"] - 1.0)
    return out


def worst(result: dict[str, Any]) -> dict[str, float]:
    """Largest relative error per spectrum over all l-ranges (lensed where available) and the
    largest |Delta chi^2|."""
    out: dict[str, float] = {}
    for kind in ("unlensed", "lensed"):
        for key, rows in result.get(kind, {}).items():
            if kind == "unlensed" and key != "pp" and "lensed" in result:
                continue
            out[key] = max(r["max"] for r in rows.values())
    if "matter" in result:
        out["pk"] = max(v["max"] for key, v in result["matter"].items() if key.startswith("z="))
        out["sigma8"] = result["matter"]["sigma8"]
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


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=pathlib.Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _reference_for(name: str, params: dict[str, Any], reference_dir: pathlib.Path, live: str | None,
                   cache_dir: pathlib.Path | None) -> dict[str, Any]:
    """The stored reference of ``name`` if there is one (and ``live`` is None): ``reference_dir``,
    then the stored hypercube references (:data:`HYPERCUBE_REFERENCE_DIR`, checked against
    ``params`` and the reference settings); else CLASS at precision ``live`` (default ``high``)
    through :func:`live_reference`, cached in ``cache_dir``."""
    from cosmo.oracle.lensed_reference import reference_path

    if live is None:
        try:
            return load_reference(name, reference_dir)
        except FileNotFoundError:
            if reference_path(HYPERCUBE_REFERENCE_DIR, name).exists():
                return live_reference(name, params, HYPERCUBE_REFERENCE_DIR)
            if cache_dir is None:
                raise
    return live_reference(name, params, cache_dir or reference_dir, live or "high")


def run(names: list[str], preset: str = "default", l_max: int = 2500, out_dir: pathlib.Path | None = None,
        history: pathlib.Path | None = None, tolerances: dict[str, float] | None = None, data_dir=None,
        reference_dir: pathlib.Path = REFERENCE_DIR, prec=None, live: str | None = None,
        cache_dir: pathlib.Path | None = None, with_class_default: bool = True,
        label: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Validate the cosmologies ``names`` (named ones or hypercube points, see
    :func:`cosmo.oracle.cosmologies.named_or_hypercube`); write the report; return the results and
    the failures.

    References: the stored CLASS cl_ref files of ``reference_dir`` and of the hypercube points
    (:data:`HYPERCUBE_REFERENCE_DIR`); cosmologies without one (and
    all of them if ``live`` is a CLASS precision, ``high`` or ``default``) get CLASS computed here
    and cached in ``cache_dir`` (default ``out_dir/class_references``). ``with_class_default``
    also runs CLASS at its default precision beside ours (time ratio; CLASS's own error)."""
    from tqdm import tqdm

    import cosmo
    from cosmo.oracle.cosmologies import named_or_hypercube

    from .validate_report import write_report

    table = {name: named_or_hypercube(name) for name in names}
    prec = cosmo.get_precision(prec if prec is not None else preset)
    tolerances = {**TOLERANCES, **(tolerances or {})}
    if cache_dir is None and out_dir is not None:
        cache_dir = out_dir / "class_references"
    results = []
    for name in tqdm(names, desc=f"validate ({preset})", unit="cosmology"):
        ref = _reference_for(name, table[name], reference_dir, live, cache_dir)
        compare_default = with_class_default and "lensed" in ref and live != "default"
        results.append(validate_cosmology(name, table[name], prec, l_max, data_dir, ref=ref,
                                          with_class_default=compare_default))
    fails = failures(results, tolerances)
    spectra = {r["name"]: r.pop("_spectra") for r in results}
    meta = {"preset": preset, "l_max": l_max, "tolerances": tolerances, "commit": _commit(),
            "date": datetime.date.today().isoformat(), "reference": live or "high"}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, arrays in spectra.items():
            np.savez_compressed(out_dir / f"spectra_{name}.npz", **arrays)
        write_report(out_dir, results, fails, meta)
    if history is not None:
        append_history(history, results, meta, label)
    return results, fails


def append_history(path: pathlib.Path, results: list[dict[str, Any]], meta: dict[str, Any], label: str | None = None) -> None:
    """One JSON line per validation run: date, commit, preset, optional milestone label, the worst
    errors and Delta chi^2 per cosmology and our warm time (CLASS default's where measured)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "commit": meta["commit"],
            "preset": meta["preset"], "l_max": meta["l_max"], "reference": meta.get("reference", "high"),
            "worst": {r["name"]: worst(r) for r in results},
            "seconds_warm": {r["name"]: r["seconds_warm"] for r in results}}
    class_seconds = {r["name"]: r["class_default"]["seconds"] for r in results if "class_default" in r}
    if class_seconds:
        line["class_default_seconds"] = class_seconds
    if label:
        line["label"] = label
    with path.open("a") as f:
        f.write(json.dumps(line) + "\n")
