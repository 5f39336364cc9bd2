"""Named cosmologies spanning the Planck 2018 5-sigma LCDM box plus extensions.

Centre: Planck 2018 TT,TE,EE+lowE+lensing best fit (Planck 2018 VI, Table 2).
Box corners move omega_b, omega_cdm, h and tau_reio by +-5 sigma (sigmas of the same
table: 0.00015, 0.0012, 0.0054, 0.0073). Extensions: one 0.15 eV neutrino, three
degenerate 0.05 eV neutrinos, N_eff = 3.5, a w0wa fluid, positive/negative curvature,
and a z_reio (instead of tau_reio) input. Massive-neutrino cosmologies keep
N_eff = 3.044 by lowering N_ur (CLASS's T_ncdm default gives 1.0132 per species).
:data:`TENSOR_COSMOLOGIES` add primordial gravitational waves (r = 0.01, 0.1; CLASS's
slow-roll n_t) to the centre, and to one 0.15 eV neutrino (whose relativistic pressure joins the
tensor neutrino stress).
"""

from __future__ import annotations

from typing import Any

import numpy as np

PLANCK2018: dict[str, Any] = {
    "omega_b": 0.02237,
    "omega_cdm": 0.1200,
    "h": 0.6736,
    "tau_reio": 0.0544,
    "n_s": 0.9649,
    "ln10^{10}A_s": 3.044,
}

#: 1-sigma errors of the six LCDM parameters (Planck 2018 TT,TE,EE+lowE+lensing, Table 2).
PLANCK2018_SIGMA: dict[str, float] = {
    "omega_b": 0.00015, "omega_cdm": 0.0012, "h": 0.0054, "tau_reio": 0.0073, "n_s": 0.0042,
    "ln10^{10}A_s": 0.014,
}


def _corner(signs: dict[str, int]) -> dict[str, Any]:
    p = dict(PLANCK2018)
    for name, s in signs.items():
        p[name] = round(PLANCK2018[name] + 5 * s * PLANCK2018_SIGMA[name], 6)
    return p


COSMOLOGIES: dict[str, dict[str, Any]] = {
    "planck2018": dict(PLANCK2018),
    "box_low": _corner({"omega_b": -1, "omega_cdm": -1, "h": -1, "tau_reio": -1}),
    "box_high": _corner({"omega_b": 1, "omega_cdm": 1, "h": 1, "tau_reio": 1}),
    "box_mixed_a": _corner({"omega_b": 1, "omega_cdm": -1, "h": 1, "tau_reio": -1}),
    "box_mixed_b": _corner({"omega_b": -1, "omega_cdm": 1, "h": -1, "tau_reio": 1}),
    "mnu_0p15": {**PLANCK2018, "m_ncdm": [0.15], "N_ur": 2.0308},
    "mnu_3deg": {**PLANCK2018, "m_ncdm": [0.05, 0.05, 0.05], "N_ur": 0.00441},
    "neff_3p5": {**PLANCK2018, "N_ur": 3.5},
    "w0wa": {**PLANCK2018, "w0_fld": -0.9, "wa_fld": -0.2},
    "omk_pos": {**PLANCK2018, "Omega_k": 0.01},
    "omk_neg": {**PLANCK2018, "Omega_k": -0.01},
    "zreio_input": {**{k: v for k, v in PLANCK2018.items() if k != "tau_reio"}, "z_reio": 9.0},
}


#: Curved cosmologies at the edge of the issue's |Omega_k| <= 0.02 (their own lensed references:
#: ``python -m cosmo.oracle.lensed_reference omk_neg_0p02``; not in :data:`COSMOLOGIES`, whose
#: background/thermodynamics references are stored together).
CURVED_COSMOLOGIES: dict[str, dict[str, Any]] = {
    "omk_pos_0p02": {**PLANCK2018, "Omega_k": 0.02},
    "omk_neg_0p02": {**PLANCK2018, "Omega_k": -0.02},
}


#: Cosmologies with tensor modes (their own references: ``cosmo.oracle.tensor_reference``).
TENSOR_COSMOLOGIES: dict[str, dict[str, Any]] = {
    "tensor_r0p01": {**PLANCK2018, "r": 0.01},
    "tensor_r0p1": {**PLANCK2018, "r": 0.1},
    "tensor_r0p1_mnu": {**PLANCK2018, "r": 0.1, "m_ncdm": [0.15], "N_ur": 2.0308},
}


#: Ranges of the optional extension dimensions of :func:`latin_hypercube` (uniform). ``mnu``: one
#: massive neutrino of mass m_ncdm [eV] (N_ur lowered to keep N_eff = 3.044 unless ``neff`` is on);
#: ``neff``: N_eff (carried by N_ur); ``w0wa``: the CPL fluid (PPF perturbations, w may cross -1);
#: ``omk``: spatial curvature.
EXTENSIONS: dict[str, dict[str, tuple[float, float]]] = {
    "mnu": {"m_ncdm": (0.06, 0.30)},
    "neff": {"N_eff": (2.6, 3.9)},
    "w0wa": {"w0_fld": (-1.3, -0.7), "wa_fld": (-0.8, 0.4)},
    "omk": {"Omega_k": (-0.02, 0.02)},
}
#: N_eff of one massive species at CLASS's default T_ncdm (N_ur = N_eff - this per species).
NEFF_PER_NCDM = 1.0132
#: Standard-model N_eff (CLASS's default N_ur for three massless species).
NEFF_STANDARD = 3.044


def hypercube_name(n: int, seed: int, extensions: tuple[str, ...], index: int) -> str:
    """Name of point ``index`` of a hypercube: ``lhs50_s0_07``, ``lhs50_mnu_w0wa_s0_07``."""
    ext = "".join(f"_{e}" for e in sorted(extensions))
    return f"lhs{n}{ext}_s{seed}_{index:02d}"


def latin_hypercube(n: int, seed: int = 0, extensions: tuple[str, ...] | list[str] = (),
                    n_sigma: float = 5.0) -> dict[str, dict[str, Any]]:
    """``n`` points of a Latin hypercube (scipy's, optimised by random CD) over the Planck 2018
    ``n_sigma`` box of the six LCDM parameters (:data:`PLANCK2018_SIGMA` around
    :data:`PLANCK2018`), plus the extension dimensions named in ``extensions`` (keys of
    :data:`EXTENSIONS`). Returns ``{name: CLASS-named parameters}`` (names from
    :func:`hypercube_name`); the same arguments always give the same points."""
    from scipy.stats import qmc

    unknown = sorted(set(extensions) - set(EXTENSIONS))
    if unknown:
        raise ValueError(f"unknown hypercube extensions {unknown}; allowed: {sorted(EXTENSIONS)}")
    if n < 1:
        raise ValueError(f"the number of hypercube points must be >= 1, got {n}")
    extensions = tuple(sorted(extensions))
    ranges = {k: (PLANCK2018[k] - n_sigma * s, PLANCK2018[k] + n_sigma * s) for k, s in PLANCK2018_SIGMA.items()}
    for ext in extensions:
        ranges.update(EXTENSIONS[ext])
    names = list(ranges)
    unit = qmc.LatinHypercube(d=len(names), seed=seed, optimization="random-cd").random(n)
    lo, hi = np.array([ranges[k][0] for k in names]), np.array([ranges[k][1] for k in names])
    points = {}
    for i, row in enumerate(lo + unit * (hi - lo)):
        values = {k: round(float(v), 8) for k, v in zip(names, row)}
        p: dict[str, Any] = {k: values[k] for k in PLANCK2018}
        n_eff = values.pop("N_eff", NEFF_STANDARD)
        if "m_ncdm" in values:
            p["m_ncdm"] = [values.pop("m_ncdm")]
            p["N_ur"] = round(n_eff - NEFF_PER_NCDM, 8)
        elif "neff" in extensions:
            p["N_ur"] = n_eff
        p.update({k: v for k, v in values.items() if k not in p})
        points[hypercube_name(n, seed, extensions, i)] = p
    return points


def named_or_hypercube(name: str) -> dict[str, Any]:
    """Parameters of a named cosmology (:data:`COSMOLOGIES`, :data:`TENSOR_COSMOLOGIES`) or of a
    hypercube point named by :func:`hypercube_name`."""
    table = {**COSMOLOGIES, **TENSOR_COSMOLOGIES}
    if name in table:
        return table[name]
    import re

    m = re.fullmatch(r"lhs(\d+)((?:_[a-z0-9]+)*)_s(\d+)_(\d+)", name)
    if m is None:
        raise ValueError(f"unknown cosmology {name!r}: not one of {sorted(table)} and not a hypercube point "
                         "name such as 'lhs50_s0_07' or 'lhs50_mnu_w0wa_s0_07'")
    n, ext, seed, index = int(m[1]), tuple(e for e in m[2].split("_") if e), int(m[3]), int(m[4])
    points = latin_hypercube(n, seed, ext)
    if name not in points:
        raise ValueError(f"hypercube point {name!r} does not exist (index must be < {n})")
    return points[name]
