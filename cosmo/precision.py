"""Precision settings: one hashable set of static numbers passed down the pipeline.

Every number here changes the sampling of a grid or the order of a quadrature,
never the physics. Grids are fixed (parameter independent), so outputs are smooth
functions of the cosmological parameters: no adaptive step-size control.
Presets: ``"default"`` (meets the accuracy targets against CLASS) and ``"fast"``
(for exploration; its accuracy is measured in CHANGELOG.md).
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Precision:
    """Static precision parameters (hashable, usable as a ``jax.jit`` static arg)."""

    #: Earliest scale factor of the background tables (CLASS: a_ini_over_a_today_default).
    a_ini: float = 1.0e-14
    #: Number of intervals of the uniform ln(a) background grid.
    background_intervals: int = 1200
    #: Gauss-Legendre nodes per background interval for the cumulative integrals.
    background_gauss_nodes: int = 4
    #: Gauss-Legendre nodes for the massive-neutrino momentum integrals on [0, q_max].
    ncdm_q_size: int = 64
    ncdm_q_max: float = 60.0
    #: Step of the fixed thermodynamics grid in ln(1+z) during and before recombination.
    thermo_dlnz_early: float = 2.0e-3
    #: Step in ln(1+z) below thermo_z_late (after recombination, reionization).
    thermo_dlnz_late: float = 5.0e-3
    thermo_z_late: float = 400.0
    #: Number of uniform-in-z samples for the reionization optical depth integral (z < 50).
    reio_samples: int = 2001

    # ---- perturbations (see cosmo/perturbations/evolve.py for the grids)
    #: Hierarchy truncation of photon temperature, polarisation and massless neutrinos.
    l_max_g: int = 30
    l_max_pol_g: int = 30
    l_max_ur: int = 30
    #: Start of each mode: k tau = pert_ktau_ini, but not after a = pert_a_ini_max.
    pert_ktau_ini: float = 0.01
    pert_a_ini_max: float = 1.0e-6
    #: Largest step in ln a, and largest step in free-streaming phase k tau [rad] for the
    #: CMB sources (acoustic oscillations at recombination) and for the P(k)-only modes
    #: (unresolved oscillations are Silk- and integrator-damped; P(k) unchanged to 1e-5).
    #: pert_dphase 0.3 -> 0.4 (2026-12-04 (a)): the grids get 9% shorter, the lensed C_l move by
    #: <= 1.2e-6 (EE), Delta chi^2 of box_low (plik_lite + low-l) +0.014 -> +0.027; 0.5 moved it to
    #: +0.041 (EE 2.7e-6), 0.6 EE by 4.7e-6.
    pert_dloga: float = 0.05
    pert_dphase: float = 0.4
    pk_dphase: float = 3.0
    #: Phase step of the lensing-only modes (Limber phi-phi, k above the CMB modes): 3 -> 10 moves
    #: phi-phi by < 1e-7 and shortens the longest grids (k = 10 /Mpc) from 1856 to ~1000 steps.
    lensing_dphase: float = 10.0
    #: Radiation-streaming approximation from k tau = pert_ktau_rsa, not before z = pert_z_rsa
    #: (parameter independent; the photons' tau_c / tau is ~8.6 at z = 700, 100 at z = 300: CLASS
    #: starts at tau_c / tau > 5 by default, > 100 in cl_ref.pre). 200 -> 700 saved ~20-28% of the
    #: perturbations and moved the C_l by <= 3.4e-6, phi-phi by 1.2e-5, Delta chi^2 (plik_lite +
    #: low-l, against cl_ref) by -0.026 at box_low, -0.006 at box_mixed_a, 0.000 at planck2018
    #: (CHANGELOG 2026-12-02 (c)).
    pert_ktau_rsa: float = 100.0
    pert_z_rsa: float = 700.0
    #: Ultra-relativistic fluid approximation of massless neutrinos from k tau = pert_ktau_ufa
    #: (CLASS cl_ref.pre: ur_fluid_trigger_tau_over_tau_k = 50).
    pert_ktau_ufa: float = 50.0
    #: Massive neutrinos: Fermi-Dirac Gauss momenta and hierarchy truncation per species, and
    #: CLASS's fluid approximation from k tau = pert_ktau_ncdmfa (CLASS default: 31; off by
    #: default: it costs 1e-3 in P(k) at k = 0.03-3 /Mpc, and the fixed-size state gains nothing).
    #: l_max_ncdm = 50 as CLASS cl_ref.pre (30 left +1.9e-3 in P(k) at k = 10 for 3 x 0.05 eV).
    ncdm_pert_q_size: int = 6
    l_max_ncdm: int = 50
    pert_ktau_ncdmfa: float = math.inf
    #: Source nodes at z >= pert_z_dense are nodes of every mode's integration grid; later ones
    #: fall between the grid's nodes and the sources there come from the cubic Hermite
    #: interpolant of the state (cosmo/perturbations/evolve.py ``mode_sources``), so the
    #: step size after recombination no longer follows the dense source grid. 0: every source
    #: node is a grid node. 450 (= cmb_z_rec_end) saves ~20% of the steps and changes the C_l by
    #: < 8e-7, P(k) by < 5e-8 (planck2018, mnu_0p15; 2026-12-02 (d)). 1800 (= cmb_z_start: no source
    #: node is a grid node) alone cost 6e-5 in TT (Hermite over 0.05 in ln a through
    #: recombination); with pert_dloga_rec = 0.016 the C_l move by < 6.5e-7 and the grids get
    #: 14% shorter, but between 0.5-rad phase steps the Hermite interpolant misses the
    #: recombination sources of k = 0.5 /Mpc by up to 5e-4 of their peak (2026-12-04 (a)): not adopted.
    pert_z_dense: float = 450.0
    #: CMB modes: largest ln a step between z = cmb_z_start and cmb_z_rec_end (0: none beyond
    #: pert_dloga; for pert_z_dense = cmb_z_start, above): 0.016 / 0.025 / 0.035 moved TT by
    #: 6.5e-7 / 2.1e-6 / 4.3e-6 against every source node a grid node.
    pert_dloga_rec: float = 0.0
    #: Modes are evolved (vmapped) in this many groups of similar grid length (at least 32 modes
    #: each; the shorter grids of a group are padded with no-op steps): 16 instead of 4 cuts the
    #: padded steps by 15% (CHANGELOG 2026-12-02 (d)).
    pert_mode_groups: int = 16
    #: What the reverse pass keeps of every integration step instead of recomputing it
    #: (cosmo/perturbations/integrator.py): ``"state"`` (only the state; the step is recomputed),
    #: ``"factors"`` (+ the stage-matrix factorisation), ``"stages"`` (+ the factorisation and the
    #: six stage vectors). Values identical; at fast l_max 200 the perturbations' gradient 18.9 ->
    #: 15.1 -> 13.3 s (CHANGELOG 2026-12-03 (f)), at the price of one mode group's factorisations
    #: in memory (the default preset's peak is not measured with it yet: it keeps ``"state"``).
    pert_reverse_save: str = "state"
    #: Spacing of the background/thermodynamics table read by the integrator.
    pert_table_dloga: float = 2.0e-3

    # ---- tensor modes (cosmo/perturbations/tensor.py, cosmo/transfer/tensor.py)
    #: Photon temperature and polarisation, and neutrino hierarchies of the tensor modes (CLASS's
    #: default is 5 and 5 with its tight-coupling approximation, which we do not have; l_max_ur).
    tensor_l_max_g: int = 10
    tensor_l_max_pol_g: int = 10
    tensor_l_max_ur: int = 17
    #: Largest step in k tau [rad] of the tensor modes (resolved until today: h' is the source).
    #: 0.15, 0.3, 0.6 and 1.0 give the same C_l to 2e-4 (vs CLASS: worst errors unchanged).
    tensor_dphase: float = 0.6
    #: Tensor C_l k grid: logarithmic from tensor_k_min (tensor_k_per_decade) until the linear
    #: step tensor_k_step [1/Mpc] is smaller, up to tensor_k_max_over_l * l_max_tensors / 14000 Mpc
    #: (2 instead of 3 left 5% at l = 300-500). The C_l integrand oscillates with period
    #: ~pi / chi_rec = 2.3e-4/Mpc: a step of 2e-4 aliased it (errors of 0.5-3% at l = 10-150
    #: depending on the node phase), 1e-4 converges. The modes are evolved on this grid below
    #: tensor_k_low_end (where the late sources, which oscillate in k with period 2 pi / tau, make
    #: the low multipoles), above it every tensor_mode_step and splined in k onto it.
    tensor_k_min: float = 1.0e-6
    tensor_k_per_decade: int = 40
    tensor_k_step: float = 1.0e-4
    tensor_k_low_end: float = 6.0e-3
    tensor_mode_step: float = 5.0e-4
    #: Tensor transfer functions are sampled in l up to l_max_tensors + tensor_l_margin.
    tensor_l_margin: int = 60
    tensor_k_max_over_l: float = 3.0

    # ---- linear matter power spectrum
    #: Modes per decade of k for P(k) and sigma8, on [pk_k_min, pk_k_max] [1/Mpc], and
    #: pk_bao_per_decade on [pk_bao_k_min, pk_bao_k_max] where the BAO wiggles need ~6 modes per
    #: period (20 per decade gave +-1e-2 interpolation errors at k = 0.13-0.24).
    pk_per_decade: int = 20
    pk_k_min: float = 1.0e-5
    pk_k_max: float = 10.0
    pk_bao_per_decade: int = 80
    pk_bao_k_min: float = 5.0e-3
    pk_bao_k_max: float = 0.6
    #: P(k, z) is stored for z <= pk_z_max on a ln a grid of spacing pk_dloga.
    pk_z_max: float = 10.0
    pk_dloga: float = 0.02

    # ---- CMB sources, line-of-sight transfer and C_l (cosmo/transfer, cosmo/harmonic.py)
    #: Sources are stored from z = cmb_z_start; ln a steps: cmb_dloga_rec down to
    #: z = cmb_z_rec_end, cmb_dloga_mid down to z = cmb_z_reio_start, cmb_dloga_reio down
    #: to z = 2, then pk_dloga (z = 2 and 0 are nodes).
    #: (z = 1800: the visibility is below 1e-21 of its peak there, e^-kappa below 1e-23.)
    cmb_z_start: float = 1800.0
    cmb_dloga_rec: float = 4.0e-3
    cmb_z_rec_end: float = 450.0
    cmb_dloga_mid: float = 0.02
    cmb_z_reio_start: float = 40.0
    cmb_dloga_reio: float = 0.01
    #: Line-of-sight quadrature after z = cmb_z_rec_end: sources splined in ln a onto nodes
    #: uniform in (fiducial) conformal time with this step [Mpc] (resolves j_l(k chi)).
    cmb_dtau_late: float = 10.0
    #: ... and this step for the multipoles that keep every source at late times (l <=
    #: transfer_late_source_l; smaller than cmb_dtau_late: a second set of nodes for them).
    #: Their C_l include the high-k tail (k chi >> l) of the late Doppler and ISW terms; with the
    #: plain trapezoid its end term at z = cmb_z_rec_end needed 4 Mpc (TT at l = 70-200: +1.2e-4
    #: with 10 Mpc, +0.7e-4 with 4, +0.6e-4 with 2; CHANGELOG 2026-11-30 (d)). With Gregory's end
    #: corrections (2026-12-02 (b)) 10 Mpc agrees with 2 Mpc to 8e-8 in TT, EE, TE (l <= 1000).
    cmb_dtau_late_low_l: float = 10.0
    #: Source modes: k_min = cmb_k_min, cmb_k_per_decade modes per decade (logarithmic) until
    #: the linear step cmb_k_step_sub * 2 pi / r_s (r_s = 145 Mpc) is smaller.
    cmb_k_min: float = 1.0e-5
    cmb_k_per_decade: int = 40
    cmb_k_step_sub: float = 0.04
    #: ... but never more than cmb_k_step_mid [1/Mpc] below cmb_k_mid_end (resolves the
    #: oscillation of the reionization sources in k, period 2 pi / (tau_reio - tau_rec)).
    cmb_k_step_mid: float = 3.0e-4
    cmb_k_mid_end: float = 0.02
    #: Largest k of the sources and transfer functions: cmb_k_max_over_l * l_max / 14000 Mpc.
    cmb_k_max_over_l: float = 3.0
    #: Lensing potential beyond the CMB k range (CLASS full Limber scheme, whose default is
    #: k_max = 0.001 l_max): lensing-only modes up to lensing_k_max_over_l * l_max [1/Mpc],
    #: lensing_modes_per_decade of them, on a transfer grid of lensing_q_per_decade.
    lensing_k_max_over_l: float = 0.003
    lensing_modes_per_decade: int = 20
    lensing_q_per_decade: int = 100
    #: Transfer k grid: q_per_decade points per decade from q_k_min, a linear step
    #: q_linstep * 2 pi / 13860 Mpc at large k, a smooth blend between (nodes uniform in a
    #: variable u, trapezoid in u: :func:`cosmo.transfer.transfer.transfer_k_grid`).
    q_linstep: float = 0.45
    #: ... with every interval split into q_refine_low_l for the multipoles l <=
    #: transfer_late_source_l (their T and E transfer functions only). On the kinked grid of
    #: before 2026-12-01 (b) (logarithmic, then linear from where the steps met) 2 was needed
    #: (+-2e-4 in TT at l = 30-140, -1.6e-4 in EE at l = 360 with 1); on the smooth grid 1 and 2
    #: differ by < 1e-7 in EE and 4e-7 in TT at l >= 30 (2e-6 in TT at l < 30; CHANGELOG).
    q_refine_low_l: int = 1
    q_per_decade: int = 300
    q_k_min: float = 2.0e-5
    #: C_l asked up to l_max are computed up to l_max + cl_l_max_margin (k range and l sampling).
    cl_l_max_margin: int = 500
    #: Multipoles where C_l is computed (then splined in l): every l up to l_all, then
    #: steps growing by l_logstep until they reach l_linstep.
    l_all: int = 40
    l_logstep: float = 1.12
    l_linstep: int = 20
    #: Lensing potential: Limber approximation above this l (as CLASS; cl_ref.pre uses 40).
    l_switch_limber: int = 40
    #: Below it, the exact line-of-sight lensing integral covers k <= phi_exact_k_max [1/Mpc]
    #: (within the CMB transfer grid); Limber's form above, where the late-time nodes
    #: (cmb_dtau_late) no longer resolve j_l(k chi) and only small distances contribute.
    phi_exact_k_max: float = 0.16
    #: Line-of-sight windows (cosmo/transfer/transfer.py ``los_blocks``): the CMB transfer
    #: functions of multipole l are computed for k <= l / transfer_k_cut_chi + transfer_k_cut_dk
    #: [1/Mpc] (CLASS: transfer_neglect_delta_k_S_t0 = 0.15 with the actual distance to
    #: recombination; we use a fixed distance below every allowed cosmology's), multipoles above
    #: transfer_late_source_l keep only the t0 source (the late ISW) after z =
    #: transfer_late_source_z (CLASS: transfer_neglect_late_source = 400, after the visibility
    #: falls below 1e-3 of its peak).
    transfer_k_cut_dk: float = 0.25
    transfer_k_cut_chi: float = 11000.0
    transfer_late_source_l: int = 400
    transfer_late_source_z: float = 50.0
    #: Lensed C_l (cosmo/lensing.py): the unlensed spectra up to l_max + lensing_delta_l_max
    #: enter the lensing (CLASS cl_ref.pre: delta_l_max = 1000; the lensed TT at l = 2500 moves
    #: by 4e-4 and BB by 2% between 1000 and 1500, so the reference's truncation is kept).
    #: Gauss-Legendre nodes: l_max + delta + lensing_num_mu_minus_lmax (CLASS cl_ref: 1000), in
    #: chunks of lensing_mu_chunk (the memory of the reverse pass is one chunk's Wigner tables).
    lensing_delta_l_max: int = 1000
    lensing_num_mu_minus_lmax: int = 1500
    lensing_mu_chunk: int = 256
    #: Bessel table step in x = k (tau0 - tau); the table ends at k_max * bessel_chi_max, the
    #: largest comoving distance it supports [Mpc] (checked against the conformal age).
    bessel_dx: float = 0.25
    bessel_chi_max: float = 16000.0
    #: Line-of-sight sums run over each multipole's k window in chunks of this many wavenumbers
    #: (the radial functions of one chunk stay in cache: 2x faster than the whole window at once;
    #: results identical up to rounding).
    los_k_chunk: int = 32
    #: Curved space (cosmo/transfer/curved.py): largest sqrt|K| tau0 allowed (0.8: |Omega_k| up
    #: to ~0.05; a static bound on the multipoles each wavenumber reaches), and the number of
    #: transfer wavenumbers per vectorised chunk of hyperspherical recurrences.
    curvature_chi_max: float = 0.8
    curvature_q_chunk: int = 16
    #: Closed universes: the C_l sum the integer modes nu = 3 .. curvature_nu_discrete one by one
    #: (where the sum differs from the integral), then integrate.
    curvature_nu_discrete: int = 40


PRESETS: dict[str, Precision] = {
    "default": Precision(),
    "fast": Precision(
        background_intervals=600,
        background_gauss_nodes=3,
        ncdm_q_size=32,
        thermo_dlnz_early=5.0e-3,
        thermo_dlnz_late=1.0e-2,
        reio_samples=801,
        l_max_g=17,
        l_max_pol_g=17,
        l_max_ur=17,
        pk_per_decade=10,
        # C_l (2026-11-30 (b)): about 2x faster than the default, errors <= ~1e-3 (CHANGELOG)
        pert_dphase=0.5,
        cmb_dloga_rec=6.0e-3,
        cmb_dtau_late=20.0,
        cmb_dtau_late_low_l=20.0,
        l_max_ncdm=17,
        ncdm_pert_q_size=4,
        lensing_num_mu_minus_lmax=750,
        pert_reverse_save="stages",
    ),
}


def get_precision(prec: Precision | str | None) -> Precision:
    """Return a :class:`Precision` from an instance, a preset name or ``None`` (default)."""
    if prec is None:
        return PRESETS["default"]
    if isinstance(prec, Precision):
        return prec
    try:
        return PRESETS[prec]
    except KeyError:
        raise ValueError(f"unknown precision preset {prec!r}; available: {sorted(PRESETS)}") from None
