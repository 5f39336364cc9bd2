"""Fit the BBN helium abundance table that CLASS interpolates (oracle-side script).

CLASS (v3.3) obtains Y_He from the PArthENoPE v3.0 table ``external/bbn/sBBN_2025.dat``
as a function of omega_b and Delta N_eff = N_eff(BBN) - 3.046. We do not ship that
table; we ship a smooth polynomial fit of it in ``cosmo/thermodynamics/bbn.py``.
This script regenerates the coefficients from the copy of the table that the pinned
``classy`` package installs, and prints the fit residuals:

    python -m cosmo.oracle.fit_bbn
"""

from __future__ import annotations

import pathlib

import numpy as np

#: Fit domain (covers the Planck 5-sigma box with a wide margin).
OMEGA_B_RANGE = (0.015, 0.030)
DELTA_N_RANGE = (-2.0, 2.0)
DEGREE = (6, 4)  # powers of ln(omega_b / 0.0224) and of Delta N
OMEGA_B_PIVOT = 0.0224


def load_table() -> np.ndarray:
    import classy

    path = pathlib.Path(classy.__file__).parent / "external" / "bbn" / "sBBN_2025.dat"
    rows = [line.split() for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return np.array([[float(v) for v in r] for r in rows[1:]])


def design(omega_b: np.ndarray, delta_n: np.ndarray) -> np.ndarray:
    x = np.log(omega_b / OMEGA_B_PIVOT)
    return np.stack([x**i * delta_n**j for i in range(DEGREE[0] + 1) for j in range(DEGREE[1] + 1)], axis=-1)


def fit() -> tuple[np.ndarray, float]:
    table = load_table()
    ob, dn, y = table.T
    sel = (ob >= OMEGA_B_RANGE[0]) & (ob <= OMEGA_B_RANGE[1]) & (dn >= DELTA_N_RANGE[0]) & (dn <= DELTA_N_RANGE[1])
    X = design(ob[sel], dn[sel])
    coef, *_ = np.linalg.lstsq(X, y[sel], rcond=None)
    resid = float(np.max(np.abs(X @ coef - y[sel])))
    return coef.reshape(DEGREE[0] + 1, DEGREE[1] + 1), resid


def class_interpolation(omega_b: float, delta_n: float) -> float:
    """Y_He exactly as CLASS v3.3 computes it from the table (thermodynamics_helium_from_bbn):
    natural cubic splines along Delta N, then along omega_b, where the omega_b column is the one of
    the table's *last* Delta N block (CLASS reads ``omegab[line % num_omegab]`` from every line, so
    each block overwrites the previous one). The blocks' omega_b columns differ by up to 2e-5
    (rounded to 1e-5), so CLASS's Y_He is off the table's by +2.3e-6 on average (Planck range) and
    jagged by ~2e-6 rms in omega_b; our smooth fit stays within 1.4e-6 rms of the table itself."""
    from scipy.interpolate import CubicSpline

    table = load_table()
    n_dn = len(np.unique(table[:, 1]))
    blocks = table.reshape(n_dn, -1, 3)
    along_dn = CubicSpline(blocks[:, 0, 1], blocks[:, :, 2], axis=0, bc_type="natural")(delta_n)
    return float(CubicSpline(blocks[-1, :, 0], along_dn, bc_type="natural")(omega_b))


if __name__ == "__main__":
    coef, resid = fit()
    np.set_printoptions(precision=17, floatmode="unique")
    print("max |residual| on the table:", resid)
    print("COEFFICIENTS = [")
    for row in coef:
        print("    [" + ", ".join(repr(float(v)) for v in row) + "],")
    print("]")
