"""The main job for now: background and thermodynamics at one cosmology, side by side
with CLASS, and a figure of x_e(z) and the visibility function.

Library functions (the CLI in :mod:`cosmo.cli` is a thin layer over them).
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import jax
import numpy as np

from .oracle.cosmologies import PLANCK2018
from .solver import derived_parameters, solve

#: Quantities printed by the main job (classy names).
SUMMARY_NAMES = (
    "h", "Omega_m", "YHe", "Neff", "age", "conformal_age", "z_reio", "tau_reio", "z_star", "rs_star",
    "100*theta_star", "z_rec", "100*theta_s", "z_d", "rs_d",
)
SUMMARY_REDSHIFTS = (0.5, 1.0, 2.33, 1100.0)


def summary_table(params: dict[str, Any] | None = None, with_class: bool = True,
                  recombination: str = "RECFAST") -> tuple[list[tuple[str, float, float | None]], dict[str, float]]:
    """Rows ``(name, ours, CLASS or None)`` and timings for ``params`` (default: Planck 2018)."""
    params = dict(PLANCK2018 if params is None else params)
    ours_params = dict(params, recombination=recombination)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    sol = jax.block_until_ready(solve(ours_params))
    timings["cosmo (first call, incl. compilation) [s]"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = jax.block_until_ready(solve(ours_params))
    timings["cosmo (warm) [s]"] = time.perf_counter() - t0
    ours = {k: float(v) for k, v in derived_parameters(sol, list(SUMMARY_NAMES)).items()}
    bg = sol.background
    for z in SUMMARY_REDSHIFTS:
        ours[f"H({z}) [1/Mpc]"] = float(bg.hubble(z))
        ours[f"D_A({z}) [Mpc]"] = float(bg.angular_distance(z))
    theirs: dict[str, float] = {}
    if with_class:
        try:
            from .oracle.classy_runner import make_classy
        except ImportError:  # pragma: no cover - classy is a test dependency
            with_class = False
        else:
            t0 = time.perf_counter()
            c = make_classy(params, recombination)
            timings[f"CLASS ({recombination}) [s]"] = time.perf_counter() - t0
            theirs = c.get_current_derived_parameters([n for n in SUMMARY_NAMES])
            for z in SUMMARY_REDSHIFTS:
                theirs[f"H({z}) [1/Mpc]"] = c.Hubble(z)
                theirs[f"D_A({z}) [Mpc]"] = c.angular_distance(z)
    rows = [(k, v, theirs.get(k) if with_class else None) for k, v in ours.items()]
    return rows, timings


def format_summary(rows: list[tuple[str, float, float | None]]) -> str:
    lines = [f"{'quantity':<24}{'cosmo':>18}{'CLASS':>18}{'rel. diff':>12}"]
    for name, ours, ref in rows:
        if ref is None:
            lines.append(f"{name:<24}{ours:>18.10g}{'-':>18}{'-':>12}")
        else:
            rel = ours / ref - 1.0 if ref != 0 else ours
            lines.append(f"{name:<24}{ours:>18.10g}{ref:>18.10g}{rel:>12.1e}")
    return "\n".join(lines)


def plot_thermo(params: dict[str, Any] | None, path: pathlib.Path, recombination: str = "RECFAST",
                with_class: bool = True) -> pathlib.Path:
    """Save x_e(z) and the visibility function g(z) (ours and CLASS's) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = dict(PLANCK2018 if params is None else params)
    sol = solve(dict(params, recombination=recombination))
    th = sol.thermo
    z = np.concatenate([np.linspace(0.0, 50.0, 501), np.geomspace(50.0, 8000.0, 1500)[1:]])
    x_e = np.asarray(th.ionization_fraction(z))
    zg = np.asarray(np.expm1(th.lnz))
    sel = (zg > 200) & (zg < 2500)
    fig, axes = plt.subplots(3, 1, figsize=(7.5, 9), constrained_layout=True)
    axes[0].loglog(1 + z, x_e, label="cosmo (JAX)")
    axes[1].plot(zg[sel], np.asarray(th.g)[sel], label="cosmo (JAX)")
    if with_class:
        try:
            from .oracle.classy_runner import make_classy

            c = make_classy(params, recombination)
            xc = np.array([c.ionization_fraction(zz) for zz in z])
            axes[0].loglog(1 + z, xc, "--", label=f"CLASS ({recombination})")
            axes[2].semilogx(1 + z, x_e / xc - 1.0)
            th_c = c.get_thermodynamics()
            zc, gc = th_c["z"], th_c["g [Mpc^-1]"]
            m = (zc > 200) & (zc < 2500)
            axes[1].plot(zc[m], gc[m], "--", label=f"CLASS ({recombination})")
        except ImportError:  # pragma: no cover
            pass
    axes[0].set(xlabel="1 + z", ylabel="$x_e = n_e / n_H$", title="Ionization history")
    axes[1].set(xlabel="z", ylabel=r"$g = \kappa' e^{-\kappa}$ [1/Mpc]", title="Visibility function")
    axes[1].axvline(float(th.z_star), color="gray", lw=0.8, label=f"z* = {float(th.z_star):.2f}")
    axes[2].set(xlabel="1 + z", ylabel="$x_e$ / CLASS - 1", title="Relative difference")
    for ax in axes[:2]:
        ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
