"""Report of ``cosmo validate``: Markdown tables, residual and summary plots, merging the
per-task reports of a sweep (a SLURM job array), and the accuracy-history plot.

Units: relative errors are dimensionless (TE relative to sqrt(TT EE)); Delta chi^2 is
chi^2(ours) - chi^2(CLASS) on real data (see :func:`inference.validate.delta_chi2`); times are
wall-clock seconds in the process that ran the validation.
"""

from __future__ import annotations

import datetime
import json
import math
import pathlib
from typing import Any

import numpy as np

from .validate import CHI2_SETS, failures, worst

#: Columns of the summary table (keys of :func:`inference.validate.worst`).
SPECTRA = ("tt", "ee", "te", "bb", "pp", "pk", "sigma8")
#: Above this many cosmologies the residual figure is a per-point summary, not one panel each.
MAX_PANELS = 6


def _row(label: str, code: str, w: dict[str, float], chi2: dict[str, float], first: str, warm: str, ratio: str) -> str:
    cells = [f"{w[k]:.1e}" if k in w else "-" for k in SPECTRA]
    cells += [f"{chi2[s]:+.3f}" if math.isfinite(chi2.get(s, math.nan)) else "-" for s in CHI2_SETS]
    return f"| {label} | {code} | " + " | ".join(cells + [first, warm, ratio]) + " |"


def markdown(results: list[dict[str, Any]], preset: str, l_max: int, reference: str = "high") -> str:
    """Summary table (ours and, where run, CLASS at its default precision, both against the CLASS
    reference), then per-cosmology tables of the worst error per l-range."""
    ref_name = "CLASS cl_ref" if reference == "high" else f"CLASS ({reference} precision)"
    lines = [f"# Validation against {ref_name} (preset `{preset}`, l_max {l_max})", ""]
    lines += ["| cosmology | code | TT | EE | TE | BB | pp (l<=2000) | P(k) | sigma8 | dchi2 plik_lite+lowl "
              "| dchi2 lensing | first [s] | warm [s] | time / CLASS default |", "|---" * 14 + "|"]
    for res in results:
        cd = res.get("class_default")
        ratio = f"{res['seconds_warm'] / cd['seconds']:.1f}" if cd else "-"
        lines.append(_row(res["name"], f"ours ({preset})", worst(res), res.get("delta_chi2", {}),
                          f"{res['seconds_first']:.0f}", f"{res['seconds_warm']:.1f}", ratio))
        if cd:
            lines.append(_row("", "CLASS default", worst(cd), cd.get("delta_chi2", {}), "-", f"{cd['seconds']:.1f}", "1"))
    lines += ["", f"Worst relative error per spectrum over l = 2..l_max against {ref_name} (lensed spectra "
              "where the reference has them; TE relative to sqrt(TT EE); phi-phi unlensed, l <= 2000). "
              "dchi2 = chi^2(spectra) - chi^2(reference) on the real data, nuisance parameters at their "
              "defaults. CLASS default: CLASS (RECFAST) at its default precision, run and timed in the same "
              "process (its error shows how far a CLASS user's default spectra are from the reference). "
              "P(k): linear, k in [1e-4, 1] /Mpc at the reference's redshifts (z = 0, 2), where a spectra "
              "reference exists.", ""]
    helium = [(r["name"], r["YHe"]) for r in results if "YHe" in r]
    if helium:
        lines += ["Helium: our solver runs with CLASS's Y_He, so that both codes see the same input; CLASS's "
                  "BBN interpolation is jagged by ~2e-6 (rms) in omega_b (it reads its table's omega_b column from "
                  "the last Delta N block). Ours from BBN (smooth fit of the same table) relative to CLASS's: "
                  + ", ".join(f"{name} {h['relative']:+.1e}" for name, h in helium) + ".", ""]
    if len(results) > 1:
        lines += _extremes(results)
    for res in results:
        if "matter" in res:
            m = res["matter"]
            lines += [f"## {res['name']}: linear P(k), sigma8", "", "| | max | rms | k_worst [1/Mpc] |", "|---|---|---|---|"]
            lines += [f"| P(k, {key}) | {v['max']:.1e} | {v['rms']:.0e} | {v['k_worst']:.3g} |"
                      for key, v in m.items() if key.startswith("z=")]
            lines += [f"| sigma8 | {m['sigma8']:.1e} | | |", ""]
        for kind in ("lensed", "unlensed"):
            if kind not in res:
                continue
            header = next(iter(res[kind].values())).keys()
            lines += [f"## {res['name']}: {kind}", "", "| spectrum | " + " | ".join(header) + " |",
                      "|---" * (1 + len(header)) + "|"]
            for key, rows in res[kind].items():
                lines.append(f"| {key} | " + " | ".join(
                    f"{r['max']:.1e} (rms {r['rms']:.0e}, {r['max_cv']:.2f} sigma_CV)" for r in rows.values()) + " |")
            lines.append("")
    return "\n".join(lines)


def _extremes(results: list[dict[str, Any]]) -> list[str]:
    """Worst point per column over all cosmologies (ours), the sweep's headline."""
    lines = ["## Worst over all cosmologies (ours)", "", "| quantity | worst | at |", "|---|---|---|"]
    for key in SPECTRA:
        vals = [(worst(r)[key], r["name"]) for r in results if key in worst(r)]
        if vals:
            v, name = max(vals)
            lines.append(f"| {key} | {v:.1e} | {name} |")
    for label in CHI2_SETS:
        vals = [(abs(r["delta_chi2"][label]), r["delta_chi2"][label], r["name"]) for r in results
                if math.isfinite(r.get("delta_chi2", {}).get(label, math.nan))]
        if vals:
            _, v, name = max(vals)
            n_ok = sum(a <= 0.1 for a, _, _ in vals)
            lines.append(f"| dchi2 {label} | {v:+.3f} | {name} ({n_ok} of {len(vals)} within 0.1) |")
    return lines + [""]


def plot_residuals(results: list[dict[str, Any]], path: pathlib.Path) -> None:
    """Worst relative error per l-range and spectrum, one panel per cosmology; for many
    cosmologies a summary instead (worst error per spectrum and Delta chi^2 per point)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(results) > MAX_PANELS:
        _plot_summary(results, path)
        return
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


def _plot_summary(results: list[dict[str, Any]], path: pathlib.Path) -> None:
    import matplotlib.pyplot as plt

    idx = np.arange(len(results))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(8, 0.18 * len(results)), 6.5), sharex=True)
    for key in SPECTRA:
        vals = [worst(r).get(key, np.nan) for r in results]
        if np.all(np.isnan(vals)):
            continue
        ax1.semilogy(idx, vals, "o", ms=4, label=key.upper())
    ax1.axhline(1e-3, color="k", lw=0.8, ls="--")
    ax1.set(ylabel="max |rel. error| vs CLASS")
    ax1.legend(fontsize=7, ncol=5)
    for label, marker in zip(CHI2_SETS, "os"):
        ax2.plot(idx, [r.get("delta_chi2", {}).get(label, np.nan) for r in results], marker, ms=4, label=f"ours, {label}")
        ax2.plot(idx, [r.get("class_default", {}).get("delta_chi2", {}).get(label, np.nan) for r in results],
                 marker, ms=4, mfc="none", label=f"CLASS default, {label}")
    ax2.axhspan(-0.1, 0.1, color="0.85")
    ax2.set_yscale("symlog", linthresh=0.1)
    ax2.set(xlabel="cosmology (index)", ylabel="Delta chi^2 vs reference")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(out_dir: pathlib.Path, results: list[dict[str, Any]], fails: list[str], meta: dict[str, Any]) -> None:
    """``validation.json`` (everything), ``validation.md`` and ``residuals.png`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {**meta, "results": results, "failures": fails}
    (out_dir / "validation.json").write_text(json.dumps(payload, indent=1))
    (out_dir / "validation.md").write_text(markdown(results, meta["preset"], meta["l_max"], meta.get("reference", "high")))
    plot_residuals(results, out_dir / "residuals.png")


def merge(paths: list[pathlib.Path], out_dir: pathlib.Path, tolerances: dict[str, float] | None = None
          ) -> tuple[list[dict[str, Any]], list[str]]:
    """Merge the ``validation.json`` of several runs (e.g. the tasks of a job array; a path may be a
    report directory) into one report in ``out_dir``; returns the results and the failures."""
    payloads = []
    for p in paths:
        p = p / "validation.json" if p.is_dir() else p
        payloads.append(json.loads(p.read_text()))
    if not payloads:
        raise ValueError("nothing to merge: no validation.json given")
    keys = {(p["preset"], p["l_max"], p.get("reference", "high")) for p in payloads}
    if len(keys) > 1:
        raise ValueError(f"cannot merge runs of different preset / l_max / reference: {sorted(keys)}")
    results = sorted((r for p in payloads for r in p["results"]), key=lambda r: r["name"])
    tolerances = {**payloads[0]["tolerances"], **(tolerances or {})}
    fails = failures(results, tolerances)
    meta = {k: payloads[0][k] for k in ("preset", "l_max", "commit", "date")}
    meta.update(reference=payloads[0].get("reference", "high"), tolerances=tolerances,
                commits=sorted({p["commit"] for p in payloads}))
    write_report(out_dir, results, fails, meta)
    return results, fails


def plot_history(history: pathlib.Path, path: pathlib.Path) -> None:
    """Worst error per spectrum (over the cosmologies of each run) and the worst |Delta chi^2|
    against the date of the run, one line per (preset, l_max, reference); runs with a ``label`` (a milestone) are
    annotated with it, the others with their commit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [json.loads(line) for line in history.read_text().splitlines() if line.strip()]
    if not runs:
        raise ValueError(f"{history} holds no validation runs")
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    def series(r):
        return r["preset"], r["l_max"], r.get("reference", "high")

    for key3 in sorted({series(r) for r in runs}):
        sel = sorted((r for r in runs if series(r) == key3), key=lambda r: r["date"])
        preset = f"{key3[0]}, l<={key3[1]}" + ("" if key3[2] == "high" else f", vs CLASS {key3[2]}")
        dates = [datetime.datetime.fromisoformat(r["date"]) for r in sel]
        for key in SPECTRA:
            vals = [max((w[key] for w in r["worst"].values() if key in w), default=np.nan) for r in sel]
            if np.all(np.isnan(vals)):
                continue
            ax1.semilogy(dates, vals, "o-", ms=4, label=f"{key.upper()} ({preset})")
        chi2 = [max((w["dchi2"] for w in r["worst"].values() if "dchi2" in w), default=np.nan) for r in sel]
        ax2.semilogy(dates, chi2, "s-", ms=4, label=f"max |dchi2| ({preset})")
        for d, r, v in zip(dates, sel, chi2):
            ax2.annotate(r.get("label", r["commit"]), (d, v), fontsize=6, rotation=30, xytext=(2, 4),
                         textcoords="offset points")
    ax1.axhline(1e-3, color="k", lw=0.8, ls="--")
    ax2.axhline(0.1, color="k", lw=0.8, ls="--")
    ax1.set(ylabel="worst |rel. error| vs CLASS", title=f"accuracy history ({history.name})")
    ax2.set(ylabel="worst |Delta chi^2|", xlabel="date of the validation run")
    ax1.legend(fontsize=6, ncol=3)
    ax2.legend(fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
