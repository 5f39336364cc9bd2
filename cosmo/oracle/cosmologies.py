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

PLANCK2018: dict[str, Any] = {
    "omega_b": 0.02237,
    "omega_cdm": 0.1200,
    "h": 0.6736,
    "tau_reio": 0.0544,
    "n_s": 0.9649,
    "ln10^{10}A_s": 3.044,
}

_SIGMA = {"omega_b": 0.00015, "omega_cdm": 0.0012, "h": 0.0054, "tau_reio": 0.0073}


def _corner(signs: dict[str, int]) -> dict[str, Any]:
    p = dict(PLANCK2018)
    for name, s in signs.items():
        p[name] = round(PLANCK2018[name] + 5 * s * _SIGMA[name], 6)
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


#: Cosmologies with tensor modes (their own references: ``cosmo.oracle.tensor_reference``).
TENSOR_COSMOLOGIES: dict[str, dict[str, Any]] = {
    "tensor_r0p01": {**PLANCK2018, "r": 0.01},
    "tensor_r0p1": {**PLANCK2018, "r": 0.1},
    "tensor_r0p1_mnu": {**PLANCK2018, "r": 0.1, "m_ncdm": [0.15], "N_ur": 2.0308},
}
