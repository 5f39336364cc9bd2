"""Compare our background and thermodynamics with stored or live CLASS references.

    python -m cosmo.oracle.compare [--reference tests/reference/bg_thermo_recfast.npz]

prints the accuracy table (worst relative error per quantity and cosmology) that
CHANGELOG.md records at each milestone.
"""

from __future__ import annotations

import argparse
import json
import pathlib
from typing import Any

import numpy as np

from ..solver import derived_parameters, solve

#: x_e is compared where x_e > XE_FLOOR (the issue's criterion).
XE_FLOOR = 1.0e-3
#: Background quantities compared for z in [0, 1e4] (distances skip z = 0, where they vanish).
BACKGROUND_KEYS = ("H", "comoving_distance", "angular_distance", "luminosity_distance")


def load_reference(path: str | pathlib.Path) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
    """(meta, {cosmology: {key: array}}) from a file written by ``cosmo.oracle.generate``."""
    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    per: dict[str, dict[str, np.ndarray]] = {}
    for key in data.files:
        if key == "meta":
            continue
        name, rest = key.split("/", 1)
        per.setdefault(name, {})[rest] = data[key]
    return meta, per


def errors_for(params: dict[str, Any], ref: dict[str, np.ndarray], prec: Any = None) -> dict[str, float]:
    """Worst relative error of each compared quantity for one cosmology."""
    sol = solve(params, prec)
    bg, th = sol.background, sol.thermo
    out: dict[str, float] = {}
    zb = ref["z_background"]
    ours_bg = {
        "H": bg.hubble(zb),
        "comoving_distance": bg.comoving_distance(zb),
        "angular_distance": bg.angular_distance(zb),
        "luminosity_distance": bg.luminosity_distance(zb),
    }
    for key in BACKGROUND_KEYS:
        mask = zb > 0 if key != "H" else np.ones_like(zb, dtype=bool)
        out[key] = float(np.max(np.abs(np.asarray(ours_bg[key])[mask] / ref[key][mask] - 1.0)))
    zt = ref["z_thermo"]
    xe_ref = ref["x_e"]
    mask = xe_ref > XE_FLOOR
    out["x_e"] = float(np.max(np.abs(np.asarray(th.ionization_fraction(zt))[mask] / xe_ref[mask] - 1.0)))
    out["T_b"] = float(np.max(np.abs(np.asarray(th.baryon_temperature(zt)) / ref["T_b"] - 1.0)))
    names = [k.split("/", 1)[1] for k in ref if k.startswith("derived/")]
    ours = derived_parameters(sol, names)
    for name in names:
        r = float(ref["derived/" + name])
        out[name] = abs(float(ours[name]) / r - 1.0) if r != 0 else abs(float(ours[name]))
    return out


def accuracy_table(path: str | pathlib.Path, prec: Any = None) -> dict[str, dict[str, float]]:
    """Worst relative errors per cosmology against a stored reference, our solver run with the
    reference's recombination model (RECFAST or HyRec)."""
    meta, per = load_reference(path)
    model = str(meta.get("recombination", "RECFAST")).lower()
    return {name: errors_for(dict(meta["cosmologies"][name], recombination=model), per[name], prec) for name in per}


def format_table(table: dict[str, dict[str, float]], keys: list[str] | None = None) -> str:
    names = list(table)
    keys = keys or list(next(iter(table.values())))
    lines = ["| quantity | worst | " + " | ".join(names) + " |", "|---" * (len(names) + 2) + "|"]
    for k in keys:
        vals = [table[n][k] for n in names]
        lines.append(f"| {k} | {max(vals):.1e} | " + " | ".join(f"{v:.1e}" for v in vals) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=pathlib.Path, default=pathlib.Path("tests/reference/bg_thermo_recfast.npz"))
    parser.add_argument("--precision", default="default")
    args = parser.parse_args(argv)
    print(format_table(accuracy_table(args.reference, args.precision)))


if __name__ == "__main__":
    main()
