"""Stage-by-stage comparison with CLASS, for tracing a discrepancy along the pipeline.

    cosmo compare --stage background|thermodynamics|perturbations|transfer|cl [--cosmology NAME]

Each stage puts our intermediate quantities beside CLASS's at the same cosmology (CLASS run live
with RECFAST, at its default or cl_ref precision) on CLASS's own sampling:

* ``background``: H [1/Mpc], conformal time, comoving / angular / luminosity distances [Mpc]
  against z (CLASS's background table, z <= 1e4);
* ``thermodynamics``: x_e, T_b [K], kappa' [1/Mpc], exp(-kappa) and the visibility
  g = kappa' exp(-kappa) [1/Mpc] against z (CLASS's thermodynamics table, z <= 8000);
* ``perturbations``: for each k of ``ks`` [1/Mpc], the fluid and metric variables of
  :data:`cosmo.perturbations.history.HISTORY_VARIABLES` against a (CLASS's ``k_output_values``;
  Newtonian gauge, curvature R = 1);
* ``transfer``: the comoving matter density contrast ``d_m`` and the Weyl potential phi + psi at
  redshift ``z`` against k (CLASS's ``get_transfer``);
* ``cl``: unlensed TT, EE, TE, phi-phi and lensed TT, EE, TE, BB (dimensionless C_l) against l.

The result is a :class:`StageComparison`; :func:`summary` gives per quantity the largest relative
difference (where |CLASS| > ``floor`` times its maximum) and the largest difference relative to
the quantity's maximum, :func:`plot` the curves and their relative differences.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import numpy as np

STAGES = ("background", "thermodynamics", "perturbations", "transfer", "cl")
#: Default wavenumbers [1/Mpc] of the perturbations stage.
DEFAULT_KS = (0.001, 0.01, 0.05, 0.2)


@dataclasses.dataclass
class StageComparison:
    """``panels[name] = (x, ours, class)`` on CLASS's sampling ``x`` (label ``x_label``)."""

    stage: str
    x_label: str
    panels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    log_x: bool = True
    notes: str = ""


def _classy(params: dict[str, Any], precision: str, extra: dict[str, Any]):
    from .classy_runner import make_classy, with_precision
    from .spectra_reference import merge_identical_ncdm

    return make_classy(merge_identical_ncdm(params), "RECFAST", extra=with_precision(extra, precision))


def _class_z_table(params, precision, table: str, z_max: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """CLASS's ``background`` or ``thermodynamics`` table for 0 < z <= ``z_max``, ascending in z:
    ``(z, {column: values})``."""
    c = _classy(params, precision, {"output": ""})
    t = c.get_background() if table == "background" else c.get_thermodynamics()
    c.struct_cleanup()
    z = np.asarray(t["z"])
    keep = (z <= z_max) & (z > 0.0)
    return z[keep][::-1], {key: np.asarray(v)[keep][::-1] for key, v in t.items()}


def _background(params, precision, sol, **_) -> StageComparison:
    z, t = _class_z_table(params, precision, "background", 1.0e4)
    bg = sol.background
    col = {"H [1/Mpc]": ("H [1/Mpc]", bg.hubble), "conformal time [Mpc]": ("conf. time [Mpc]", bg.conformal_time),
           "comoving distance [Mpc]": ("comov. dist.", bg.comoving_distance),
           "angular distance [Mpc]": ("ang.diam.dist.", bg.angular_distance),
           "luminosity distance [Mpc]": ("lum. dist.", bg.luminosity_distance)}
    panels = {name: (z, np.asarray(fn(z)), t[key]) for name, (key, fn) in col.items()}
    return StageComparison("background", "z", panels)


def _thermodynamics(params, precision, sol, **_) -> StageComparison:
    import jax

    from ..perturbations.local import local_quantities

    z, t = _class_z_table(params, precision, "thermodynamics", 8000.0)
    loc = jax.vmap(lambda x: local_quantities(sol.background, sol.thermo, x))(-np.log1p(z))
    th = sol.thermo
    ours = {"x_e": th.ionization_fraction(z), "T_b [K]": th.baryon_temperature(z), "kappa' [1/Mpc]": loc.dkappa,
            "exp(-kappa)": loc.exp_m_kappa, "visibility g [1/Mpc]": loc.g}
    theirs = {"x_e": "x_e", "T_b [K]": "Tb [K]", "kappa' [1/Mpc]": "kappa' [Mpc^-1]", "exp(-kappa)": "exp(-kappa)",
              "visibility g [1/Mpc]": "g [Mpc^-1]"}
    panels = {name: (z, np.asarray(ours[name]), t[key]) for name, key in theirs.items()}
    return StageComparison("thermodynamics", "z", panels)


def _perturbations(params, precision, sol, ks=DEFAULT_KS, **_) -> StageComparison:
    from ..perturbations.evolve import initial_loga
    from ..perturbations.history import HISTORY_VARIABLES, perturbation_history

    ks = tuple(float(k) for k in ks)
    c = _classy(params, precision, {"output": "mPk", "P_k_max_1/Mpc": max(1.0, 1.5 * max(ks)),
                                    "k_output_values": ",".join(f"{k:g}" for k in ks)})
    rows = c.get_perturbations()["scalar"]
    panels = {}
    for k, row in zip(ks, rows):
        loga = np.log(np.asarray(row["a"]))
        start = initial_loga(k, sol.prec.pert_ktau_ini, sol.prec.pert_a_ini_max)
        keep = np.concatenate([[True], np.diff(loga) > 1e-9]) & (loga > max(loga[0], start) + 0.05)
        loga = loga[keep]
        hist = perturbation_history(sol.params, sol.background, sol.thermo, sol.prec, [k], loga)
        for name in HISTORY_VARIABLES:
            panels[f"{name} (k={k:g})"] = (np.exp(loga), hist[name][0], np.asarray(row[name])[keep])
    c.struct_cleanup()
    return StageComparison("perturbations", "a", panels,
                           notes="Newtonian gauge, R = 1; photon/neutrino variables differ where the two codes "
                                 "switch their approximations (tight coupling, radiation streaming, fluid) at different times")


def _transfer(params, precision, sol, z=0.0, **_) -> StageComparison:
    from ..perturbations import compute_perturbations
    from ..perturbations.perturbations import source_grid

    c = _classy(params, precision, {"output": "mPk,dTk,vTk", "P_k_max_1/Mpc": 2.0, "z_max_pk": max(z, 0.0)})
    t = c.get_transfer(z)
    h = c.h()
    k = np.asarray(t["k (h/Mpc)"]) * h
    keep = (k >= 1e-4) & (k <= 1.0)
    k = k[keep]
    pert = compute_perturbations(sol.params, sol.background, sol.thermo, sol.prec, k)
    loga = source_grid(sol.prec)
    x = -np.log1p(z)

    def at_z(name):
        src = np.asarray(pert.source(name))
        return np.array([np.interp(x, loga, row) for row in src])

    panels = {"d_m": (k, at_z("delta_m"), np.asarray(t["d_m"])[keep]),
              "phi + psi": (k, at_z("phi_plus_psi"), (np.asarray(t["phi"]) + np.asarray(t["psi"]))[keep])}
    c.struct_cleanup()
    return StageComparison("transfer", "k [1/Mpc]", panels, notes=f"z = {z:g}; R = 1")


def _cl(params, precision, sol, l_max=2500, **_) -> StageComparison:
    import jax

    import cosmo

    c = _classy(params, precision, {"output": "tCl,pCl,lCl", "lensing": "yes", "l_max_scalars": l_max})
    raw, lensed = c.raw_cl(l_max), c.lensed_cl(l_max)
    ours = jax.block_until_ready(cosmo.solve(params, sol.prec, l_max=l_max, lensing=True))
    ell = np.arange(2, l_max + 1)
    panels = {}
    for key in ("tt", "ee", "te", "pp"):
        panels[f"unlensed {key.upper()}"] = (ell, np.asarray(getattr(ours.cl, key))[2:l_max + 1], np.asarray(raw[key])[2:])
    for key in ("tt", "ee", "te", "bb"):
        panels[f"lensed {key.upper()}"] = (ell, np.asarray(getattr(ours.lensed_cl, key))[2:l_max + 1],
                                           np.asarray(lensed[key])[2:])
    c.struct_cleanup()
    return StageComparison("cl", "l", panels, notes="dimensionless C_l; TE differences are best read relative "
                                                  "to sqrt(TT EE) (cosmo validate)")


_BUILDERS = {"background": _background, "thermodynamics": _thermodynamics, "perturbations": _perturbations,
             "transfer": _transfer, "cl": _cl}


def compare_stage(stage: str, params: dict[str, Any], precision: str = "default", prec: Any = "default",
                  **options) -> StageComparison:
    """Our ``stage`` beside CLASS's (see the module docstring). ``precision``: CLASS's (``default``
    or ``high`` = cl_ref); ``prec``: our preset. Options: ``ks`` (perturbations), ``z``
    (transfer), ``l_max`` (cl)."""
    import cosmo

    if stage not in _BUILDERS:
        raise ValueError(f"unknown stage {stage!r}; choose one of {STAGES}")
    sol = cosmo.solve(params, cosmo.get_precision(prec))
    return _BUILDERS[stage](params, precision, sol, **options)


def summary(comp: StageComparison, floor: float = 1e-3) -> dict[str, dict[str, float]]:
    """Per quantity: ``max_rel`` = max |ours/CLASS - 1| where |CLASS| > ``floor`` max|CLASS|, with
    its abscissa ``x_worst``, and ``max_scaled`` = max |ours - CLASS| / max |CLASS|."""
    out = {}
    for name, (x, ours, theirs) in comp.panels.items():
        scale = np.max(np.abs(theirs))
        if not np.isfinite(scale) or scale == 0.0:
            out[name] = {"max_rel": float("nan"), "x_worst": float("nan"), "max_scaled": float("nan")}
            continue
        mask = np.abs(theirs) > floor * scale
        rel = np.where(mask, np.abs(ours / np.where(mask, theirs, 1.0) - 1.0), 0.0)
        i = int(np.argmax(rel))
        out[name] = {"max_rel": float(rel[i]), "x_worst": float(x[i]),
                     "max_scaled": float(np.max(np.abs(ours - theirs)) / scale)}
    return out


def format_summary(comp: StageComparison) -> str:
    lines = [f"# {comp.stage}: ours vs CLASS" + (f" ({comp.notes})" if comp.notes else ""), "",
             f"| quantity | max rel. diff | at {comp.x_label} | max diff / max abs |", "|---|---|---|---|"]
    for name, row in summary(comp).items():
        lines.append(f"| {name} | {row['max_rel']:.1e} | {row['x_worst']:.4g} | {row['max_scaled']:.1e} |")
    return "\n".join(lines)


def plot_all(comp: StageComparison, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """:func:`plot` into ``out_dir/compare_STAGE.png``; the perturbations stage gets one figure per
    wavenumber (``compare_perturbations_k0.01.png``, ...)."""
    groups: dict[str, list[str]] = {}
    for name in comp.panels:
        suffix = name.rsplit("(k=", 1)[1].rstrip(")") if "(k=" in name else ""
        groups.setdefault(suffix, []).append(name)
    paths = []
    for suffix, names in groups.items():
        path = out_dir / (f"compare_{comp.stage}" + (f"_k{suffix}" if suffix else "") + ".png")
        plot(comp, path, names)
        paths.append(path)
    return paths


def plot(comp: StageComparison, path: pathlib.Path, names: list[str] | None = None) -> None:
    """Each quantity (ours solid, CLASS dashed) over its relative difference, in a grid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(comp.panels) if names is None else names
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(2 * nrow, ncol, figsize=(4.2 * ncol, 4.6 * nrow), squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1] * nrow})
    for i, name in enumerate(names):
        x, ours, theirs = comp.panels[name]
        top, bottom = axes[2 * (i // ncol), i % ncol], axes[2 * (i // ncol) + 1, i % ncol]
        positive = bool(np.all(theirs > 0) and np.all(ours > 0))
        top.plot(x, ours, "-", lw=1.2, label="ours")
        top.plot(x, theirs, "--", lw=1.0, label="CLASS")
        top.set_yscale("log" if positive else "symlog", **({} if positive else {"linthresh": 1e-3 * np.max(np.abs(theirs))}))
        top.set_title(name, fontsize=9)
        scale = np.abs(theirs) if positive else np.max(np.abs(theirs))
        bottom.plot(x, (ours - theirs) / scale, lw=1.0)
        bottom.set_ylabel("rel. diff" if positive else "diff / max", fontsize=8)
        bottom.set_xlabel(comp.x_label)
        for ax in (top, bottom):
            ax.set_xscale("log" if comp.log_x else "linear")
        if i == 0:
            top.legend(fontsize=7)
    for j in range(len(names), nrow * ncol):
        axes[2 * (j // ncol), j % ncol].axis("off")
        axes[2 * (j // ncol) + 1, j % ncol].axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save(comp: StageComparison, path: pathlib.Path) -> None:
    """The compared arrays as ``.npz`` (``NAME/x``, ``NAME/ours``, ``NAME/class``)."""
    arrays = {}
    for name, (x, ours, theirs) in comp.panels.items():
        arrays.update({f"{name}/x": x, f"{name}/ours": ours, f"{name}/class": theirs})
    np.savez_compressed(path, **arrays)
