"""Run classy (CLASS) on our parameter dicts and extract what the tests compare.

Recombination models: ``"RECFAST"`` and ``"HyRec"`` (CLASS's default; both implemented by our solver,
``recombination`` = ``"recfast"`` | ``"hyrec"``). ``HIGH_PRECISION`` holds CLASS's ``cl_ref.pre`` settings for the
spectra references of later stages (with ``REFERENCE_META``: ~25 CPU-minutes per lensed cosmology).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..params import to_classy

#: Tight tolerance on CLASS's own tau_reio -> z_reio bisection (its default is 1e-4).
TIGHT = {"reionization_optical_depth_tol": 1.0e-8}

#: CLASS cl_ref.pre (v3.3): the high-precision reference settings for C_l work, less the two
#: entries classy 3.3.4 rejects as unread without tensors (``recfast_Nz0``, ``l_max_ur_ten``),
#: and with RECFAST integrated to convergence: cl_ref.pre's ``tol_thermo_integration = 1e-5``
#: (looser than CLASS's default 1e-6) leaves x_e errors of 3e-5 at z ~ 1450 and 1.3e-5 at z ~ 900,
#: which move TT by 1.3e-5 at l = 2000 and Delta chi^2 by 0.22 at box_low (CHANGELOG 2026-11-30 (d)).
#: References stored before that entry were made with 1e-5 (their ``meta`` has no ``thermo_tol``).
THERMO_TOL_REFERENCE = 1.0e-8
#: Multipole sampling of the references. CLASS computes C_l (unlensed, and lensed) only at its
#: sampled multipoles and returns a cubic spline in l between them (harmonic.c, lensing.c):
#: cl_ref.pre's steps (1.026, 25) leave spline errors of 1.4e-5 in lensed TT at l ~ 2000, worth
#: Delta chi^2 = 0.65 on plik_lite at box_low (CHANGELOG 2026-11-30 (e)). A linear step of 8
#: should leave ~0.01 (the spline error scales as step^4; estimated, not measured).
L_SAMPLING_REFERENCE: dict[str, float] = {"l_logstep": 1.01, "l_linstep": 8}
#: Sampling of CLASS's tabulated spherical Bessel functions (points per 2 pi in x; flat space).
#: transfer.c interpolates j_l, j_l' and j_l'' between the nodes by cubic Hermite polynomials, which
#: shrink an oscillation's amplitude by ~dx^4 / 720 on average: with cl_ref.pre's 12 (dx = 0.52)
#: CLASS's TT is low by 2-8e-5 at l = 30-1500 against the exact line-of-sight projection of its own
#: sources (box_low: by 2.7e-5 at l = 220, 2.9e-5 at l = 300), EE by 1-3e-5; 24 moves it to within
#: 0.2e-5 of that projection, and the residual scales as dx^4 (CHANGELOG 2026-11-30 (f)).
BESSEL_SAMPLING_REFERENCE: dict[str, float] = {"hyper_sampling_flat": 32.0}
#: Where CLASS's full-Limber lensing-potential integral stops (v3.2.2+): k_max = this x l_max_scalars
#: (1/Mpc). Its default 0.001 truncates phi-phi at L >~ 1500 (box_low: about half of a +2.3e-4 /
#: +9e-4 difference at L = 2000 / 3250 against ours, which integrates to 0.003 l_max; CHANGELOG
#: 2026-12-01). References made before it have no ``k_max_limber_over_l_max_scalars`` in ``meta``.
LIMBER_REFERENCE: dict[str, float] = {"k_max_limber_over_l_max_scalars": 0.003}
#: What the ``meta`` of a high-precision reference records beyond cl_ref.pre (refused if different).
REFERENCE_META: dict[str, float] = {"thermo_tol": THERMO_TOL_REFERENCE, **L_SAMPLING_REFERENCE,
                                    **BESSEL_SAMPLING_REFERENCE, **LIMBER_REFERENCE}
HIGH_PRECISION: dict[str, Any] = {
    "tol_ncdm_bg": 1.0e-10, "tol_thermo_integration": THERMO_TOL_REFERENCE,
    "recfast_x_He0_trigger_delta": 0.01, "recfast_x_H0_trigger_delta": 0.01, "evolver": 0,
    "k_min_tau0": 0.002, "k_max_tau0_over_l_max": 3.0, "k_step_sub": 0.015, "k_step_super": 0.0001,
    "k_step_super_reduction": 0.1, "start_small_k_at_tau_c_over_tau_h": 0.0004,
    "start_large_k_at_tau_h_over_tau_k": 0.05, "tight_coupling_trigger_tau_c_over_tau_h": 0.005,
    "tight_coupling_trigger_tau_c_over_tau_k": 0.008, "start_sources_at_tau_c_over_tau_h": 0.006,
    "l_max_g": 50, "l_max_pol_g": 25, "l_max_ur": 50, "l_max_ncdm": 50, "l_max_g_ten": 50,
    "l_max_pol_g_ten": 25, "tol_perturbations_integration": 1.0e-6,
    "perturbations_sampling_stepsize": 0.01, "radiation_streaming_approximation": 2,
    "radiation_streaming_trigger_tau_over_tau_k": 240.0, "radiation_streaming_trigger_tau_c_over_tau": 100.0,
    "ur_fluid_approximation": 2, "ur_fluid_trigger_tau_over_tau_k": 50.0, "ncdm_fluid_approximation": 3,
    "ncdm_fluid_trigger_tau_over_tau_k": 51.0, "tol_ncdm_synchronous": 1.0e-10, "tol_ncdm_newtonian": 1.0e-10,
    **L_SAMPLING_REFERENCE, **BESSEL_SAMPLING_REFERENCE, **LIMBER_REFERENCE, "hyper_sampling_curved_low_nu": 10.0,
    "hyper_sampling_curved_high_nu": 10.0, "hyper_nu_sampling_step": 10.0, "hyper_phi_min_abs": 1.0e-10,
    "hyper_x_tol": 1.0e-4, "hyper_flat_approximation_nu": 1.0e6, "q_linstep": 0.20, "q_logstep_spline": 20.0,
    "q_logstep_trapzd": 0.5, "q_numstep_transition": 250, "transfer_neglect_delta_k_S_t0": 100.0,
    "transfer_neglect_delta_k_S_t1": 100.0, "transfer_neglect_delta_k_S_t2": 100.0,
    "transfer_neglect_delta_k_S_e": 100.0, "transfer_neglect_delta_k_V_t1": 100.0,
    "transfer_neglect_delta_k_V_t2": 100.0, "transfer_neglect_delta_k_V_e": 100.0,
    "transfer_neglect_delta_k_V_b": 100.0, "transfer_neglect_delta_k_T_t2": 100.0,
    "transfer_neglect_delta_k_T_e": 100.0, "transfer_neglect_delta_k_T_b": 100.0,
    "neglect_CMB_sources_below_visibility": 1.0e-30, "transfer_neglect_late_source": 3000.0,
    "halofit_k_per_decade": 3000.0, "l_switch_limber": 40.0, "accurate_lensing": 1,
    "num_mu_minus_lmax": 1000.0, "delta_l_max": 1000.0,
}

def with_precision(settings: dict[str, Any], precision: str) -> dict[str, Any]:
    """``settings`` plus CLASS's cl_ref settings for ``precision = "high"`` (``"default"``: as is)."""
    if precision == "high":
        return {**settings, **HIGH_PRECISION}
    if precision != "default":
        raise ValueError(f"precision must be 'high' or 'default', got {precision!r}")
    return dict(settings)


#: Redshifts at which background quantities are compared.
Z_BACKGROUND = np.concatenate([[0.0], np.logspace(-3, 4, 141)])
#: Redshifts at which x_e and T_b are compared.
Z_THERMO = np.arange(0.0, 8000.0 + 1e-9, 5.0)
#: Derived parameters compared (classy names).
DERIVED = (
    "YHe", "z_reio", "tau_reio", "z_star", "z_rec", "z_d", "rs_star", "rs_rec", "rs_d", "ds_star", "ra_star",
    "da_star", "100*theta_s", "100*theta_star", "Omega_m", "Neff", "age", "conformal_age",
)


#: CLASS cl_ref's hyper_flat_approximation_nu = 1e6 (exact hyperspherical functions everywhere)
#: fails for closed universes after the whole transfer stage ("index_start_spline outside of
#: range" in harmonic.c: its spline/trapezoid switch is the flat-approximation index, then the
#: end of the q list). Closed references use this instead: the flat approximation then only
#: touches q > 2.5e4 sqrt(K) (0.55/Mpc at Omega_k = -0.01), beyond the projections of l <= 2500.
CLOSED_FLAT_NU = 2.5e4


def make_classy(params: dict[str, Any], recombination: str = "RECFAST", extra: dict[str, Any] | None = None):
    """A computed ``classy.Class`` for our parameter dict (background + thermodynamics)."""
    from classy import Class

    c = Class()
    settings = to_classy(params)
    settings.update({"recombination": recombination, **TIGHT})
    settings.setdefault("output", "")
    if extra:
        settings.update(extra)
    if float(settings.get("Omega_k", 0.0)) < 0.0 and float(settings.get("hyper_flat_approximation_nu", 0.0)) > CLOSED_FLAT_NU:
        settings["hyper_flat_approximation_nu"] = CLOSED_FLAT_NU
    c.set(settings)
    c.compute()
    return c


def background_thermo_reference(params: dict[str, Any], recombination: str = "RECFAST") -> dict[str, np.ndarray]:
    """Arrays on ``Z_BACKGROUND``/``Z_THERMO`` plus derived parameters from classy."""
    c = make_classy(params, recombination)
    out = {
        "z_background": Z_BACKGROUND,
        "H": np.array([c.Hubble(z) for z in Z_BACKGROUND]),
        "comoving_distance": np.array([c.comoving_distance(z) for z in Z_BACKGROUND]),
        "angular_distance": np.array([c.angular_distance(z) for z in Z_BACKGROUND]),
        "luminosity_distance": np.array([c.luminosity_distance(z) for z in Z_BACKGROUND]),
        "z_thermo": Z_THERMO,
        "x_e": np.array([c.ionization_fraction(z) for z in Z_THERMO]),
        "T_b": np.array([c.baryon_temperature(z) for z in Z_THERMO]),
    }
    derived = c.get_current_derived_parameters(list(DERIVED))
    for name, value in derived.items():
        out["derived/" + name] = np.asarray(value)
    c.struct_cleanup()
    c.empty()
    return out
