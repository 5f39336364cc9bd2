"""Line-of-sight transfer functions Delta_l(k) of the CMB temperature, E polarisation and
lensing potential (flat space, scalar modes; CLASS ``transfer.c`` conventions).

With ``chi = tau0 - tau`` and ``x = k chi`` (trapezoid in tau on the quadrature nodes):

* ``Delta^T_l = int dtau [t0 j_l(x) + t1 j_l'(x) + t2 (3 j_l''(x) + j_l(x)) / 2]``
* ``Delta^E_l = int dtau e sqrt(3/8 (l+2)(l+1)l(l-1)) j_l(x) / x^2``
* ``Delta^phi_l = int dtau S_phi j_l(x)``, ``S_phi = (phi+psi) (tau_rec - tau) / ((tau0 - tau)(tau0 - tau_rec))``
  for ``tau > tau_rec`` (``tau_rec``: maximum of the visibility), for ``k <= phi_exact_k_max``
  (whatever ``l_max``: beyond it the late nodes do not resolve ``j_l(k chi)``); above
  ``l_switch_limber``, and at larger ``k`` below it, CLASS's Limber form ``I_l S_phi(k, tau0 - (l+1/2)/k) / k`` with
  ``I_l = int_0^inf j_l(x) dx ~ sqrt(pi/(2l)) (1 - 1/(4l) + 1/(32 l^2))``.
  As CLASS's "full Limber" scheme, the lensing potential extends beyond the CMB k range
  (to ``lensing_k_max_over_l * l_max``): extra modes, evolved with the coarse P(k) phase step
  (only their late-time potentials matter), on a logarithmic k grid.

The sources of the evolved modes are splined in k onto a finer fixed transfer grid (quintic), and in
ln a onto the quadrature nodes (cubic): the stored nodes through recombination, then nodes uniform
in (fiducial) conformal time, fine enough for the oscillations of j_l(k chi) (both are
constant linear maps). Each block of multipoles integrates only a static window of the transfer
k grid and of the sources (:func:`los_blocks`: the exact zeros of j_l below its turning region,
CLASS's neglect of k >> l / chi_rec and of late non-ISW sources at l > 400; together 1e-6 of the
full integral). Normalisation: comoving curvature R = 1;
``C_l = 4 pi int dk/k P_R(k) Delta_l Delta_l'`` (:mod:`cosmo.harmonic`).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..background import Background
from ..background.background import sin_K
from ..interpolation import gregory_weights, natural_spline_matrix, quintic_spline_matrix
from ..params import CosmoParams
from ..perturbations import Perturbations, compute_perturbations
from ..perturbations.evolve import fiducial_dtau_dloga, fiducial_loga, fiducial_tau
from ..perturbations.perturbations import source_grid
from ..precision import Precision
from ..thermodynamics import Thermodynamics
from .bessel import bessel_table, bessel_zero_below

__all__ = [
    "Transfer", "cmb_modes", "lensing_modes", "cmb_source_modes", "cmb_perturbations", "transfer_k_grid",
    "lensing_k_grid", "l_sampling", "phi_exact_count", "quadrature_loga", "quadrature_weights", "late_source_start", "los_blocks", "compute_transfer",
    "LosInputs", "los_inputs", "transfer_k_weights", "fine_transfer_k_grid", "lensing_k_weights",
]

#: Fiducial distances used only to lay out parameter-independent k grids [Mpc].
_TAU0_FID = 14000.0
_CHI_REC_FID = 13860.0
_RS_FID = 145.0


def k_max_cmb(prec: Precision, l_max: int) -> float:
    """Largest wavenumber [1/Mpc] of the sources and transfer functions for ``l_max``."""
    return prec.cmb_k_max_over_l * l_max / _TAU0_FID


def _log_then_linear(
    k_min: float, k_max: float, per_decade: int, step: float, step_low: float | None = None, k_low_end: float = 0.0
) -> np.ndarray:
    """Logarithmic steps (``per_decade``) while shorter than ``step`` (``step_low`` below
    ``k_low_end``), then linear ones."""
    ratio = 10.0 ** (1.0 / per_decade)
    ks = [k_min]
    while ks[-1] < k_max:
        cap = step_low if (step_low is not None and ks[-1] < k_low_end) else step
        ks.append(ks[-1] + min(ks[-1] * (ratio - 1.0), cap))
    ks[-1] = k_max
    return np.asarray(ks)


def cmb_modes(prec: Precision, l_max: int) -> np.ndarray:
    """Wavenumbers [1/Mpc] of the evolved modes for C_l up to ``l_max`` (parameter independent)."""
    step = prec.cmb_k_step_sub * 2.0 * math.pi / _RS_FID
    return _log_then_linear(
        prec.cmb_k_min, k_max_cmb(prec, l_max), prec.cmb_k_per_decade, step, prec.cmb_k_step_mid, prec.cmb_k_mid_end
    )


def _geometric_above(k_start: float, k_end: float, per_decade: int) -> np.ndarray:
    """Geometric sequence ``k_start r^i`` (``i >= 1``, ``r = 10^(1/per_decade)``) until it reaches ``k_end``."""
    if k_end <= k_start:
        return np.zeros(0)
    n = int(math.ceil(per_decade * math.log10(k_end / k_start) - 1e-9))
    return k_start * 10.0 ** (np.arange(1, n + 1) / per_decade)


def lensing_modes(prec: Precision, l_max: int) -> np.ndarray:
    """Modes [1/Mpc] above the CMB ones, for the Limber lensing potential only (may be empty)."""
    return _geometric_above(k_max_cmb(prec, l_max), prec.lensing_k_max_over_l * l_max, prec.lensing_modes_per_decade)


def cmb_source_modes(prec: Precision, l_max: int) -> np.ndarray:
    """All modes of the C_l computation: :func:`cmb_modes` then :func:`lensing_modes`."""
    return np.concatenate([cmb_modes(prec, l_max), lensing_modes(prec, l_max)])


def cmb_perturbations(
    cp: CosmoParams, bg: Background, th: Thermodynamics, prec: Precision, l_max: int
) -> Perturbations:
    """Sources of :func:`cmb_source_modes` on the CMB time grid: the CMB modes with the
    phase step ``pert_dphase``, the lensing-only modes with ``lensing_dphase`` (one integration
    program for both: a second one doubled the compile time of this stage)."""
    ks_cmb, ks_lens = cmb_modes(prec, l_max), lensing_modes(prec, l_max)
    d_phase = np.concatenate([np.full(len(ks_cmb), prec.pert_dphase), np.full(len(ks_lens), prec.lensing_dphase)])
    return compute_perturbations(cp, bg, th, prec, np.concatenate([ks_cmb, ks_lens]), cmb=True, d_phase=d_phase)


def lensing_k_grid(prec: Precision, l_max: int) -> np.ndarray:
    """Wavenumbers [1/Mpc] of the lensing-potential transfer functions: :func:`transfer_k_grid`,
    then logarithmic (``lensing_q_per_decade``) up to the last lensing mode."""
    kq = transfer_k_grid(prec, l_max)
    ks_lens = lensing_modes(prec, l_max)
    if len(ks_lens) == 0:
        return kq
    return np.concatenate([kq, _geometric_above(kq[-1], ks_lens[-1], prec.lensing_q_per_decade)])


def lensing_k_weights(prec: Precision, l_max: int) -> np.ndarray:
    """Weights of ``int dk`` on :func:`lensing_k_grid`: :func:`transfer_k_weights` on the transfer
    grid, the trapezoid in ln k (times k) on the logarithmic tail."""
    w = transfer_k_weights(prec, l_max)
    kl = lensing_k_grid(prec, l_max)
    n = len(w)
    if len(kl) == n:
        return w
    tail = kl[n - 1:]
    du = np.diff(np.log(tail))  # static numpy weights (trapezoid_weights is traced under jit)
    w_tail = 0.5 * (np.append(du, 0.0) + np.insert(du, 0, 0.0)) * tail
    return np.concatenate([w[:-1], [w[-1] + w_tail[0]], w_tail[1:]])


#: Sharpness p of the blend of the logarithmic and linear steps of the transfer k grid,
#: dk/du = ((c k)^-p + step^-p)^(-1/p): 4 adds ~1% of nodes to the kinked grid min(c k, step).
_K_GRID_SHARPNESS = 4.0


@functools.lru_cache(maxsize=16)
def _smooth_k_grid(k_min: float, k_max: float, per_decade: int, step: float, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes uniform in ``u(k) = int dk ((c k)^-p + step^-p)^(1/p)`` (``c = ln 10 / per_decade``:
    ``per_decade`` nodes per decade at small k, a linear ``step`` at large k, a smooth blend
    between them) from ``k_min`` to ``k_max``, with ``ceil(u(k_max))`` intervals split into
    ``factor`` each, and ``dk/du`` at the nodes (the same nodes for every ``factor``: node ``i``
    of factor 1 is node ``i * factor``)."""
    from scipy.integrate import quad, solve_ivp

    c, p = math.log(10.0) / per_decade, _K_GRID_SHARPNESS

    def dk_du(k):
        return ((c * k) ** -p + step**-p) ** (-1.0 / p)

    # u(k_max), integrated in ln k (smooth), then k(u) at uniform u by the ODE dk/du
    u_max = quad(lambda x: math.exp(x) / dk_du(math.exp(x)), math.log(k_min), math.log(k_max),
                 epsabs=0.0, epsrel=1e-13, limit=500)[0]
    n = int(math.ceil(u_max)) * factor
    u = u_max * (np.arange(n + 1) / n)
    sol = solve_ivp(lambda _, k: dk_du(k), (0.0, u_max), [k_min], method="DOP853", t_eval=u, rtol=1e-13, atol=0.0)
    k = sol.y[0]
    k[0], k[-1] = k_min, k_max
    return k, dk_du(k) * (u_max / n)


def _transfer_k(prec: Precision, l_max: int, factor: int = 1) -> tuple[np.ndarray, np.ndarray]:
    step = prec.q_linstep * 2.0 * math.pi / _CHI_REC_FID
    return _smooth_k_grid(prec.q_k_min, k_max_cmb(prec, l_max), prec.q_per_decade, step, factor)


def transfer_k_grid(prec: Precision, l_max: int) -> np.ndarray:
    """Wavenumbers [1/Mpc] of the transfer functions (resolving the oscillations of j_l(k chi_rec)):
    ``q_per_decade`` per decade from ``q_k_min``, a linear step ``q_linstep * 2 pi / 13860 Mpc``
    above ~0.027 /Mpc, and a smooth blend between them: the nodes are uniform in a variable ``u``
    in which the C_l integrands are smooth and band limited, integrated by the trapezoid in ``u``
    (:func:`transfer_k_weights`), which then has only aliasing errors. (A grid with a kink in its
    step, logarithmic until the step reaches the linear one, left O(h^2) errors in the k integral of
    the multipoles whose j_l(k chi_rec) turns on near the kink: EE -3.9e-5 at l = 360 with the
    refined grid, -1.6e-4 without; CHANGELOG 2026-12-01 (b).)"""
    return _transfer_k(prec, l_max)[0]


def transfer_k_weights(prec: Precision, l_max: int) -> np.ndarray:
    """Weights ``w`` of ``int dk f ~ sum w f`` on :func:`transfer_k_grid`: the trapezoid in the
    grid's uniform variable ``u`` times ``dk/du``."""
    return fine_transfer_k_grid(prec, l_max, len(transfer_k_grid(prec, l_max)), 1)[1]


def fine_transfer_k_grid(prec: Precision, l_max: int, n_q: int, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_q`` nodes of :func:`transfer_k_grid` with every interval split into ``factor``
    (uniformly in the grid's variable ``u``; node ``i`` of the grid is node ``i * factor``), and
    the trapezoid weights in ``u`` on them."""
    k, w = _transfer_k(prec, l_max, factor)
    m = (n_q - 1) * factor + 1
    k, w = k[:m], w[:m].copy()
    w[[0, -1]] *= 0.5
    return k, w


def phi_exact_count(prec: Precision, kq: np.ndarray) -> int:
    """How many transfer wavenumbers (from the first) the exact lensing-potential integral of
    ``l <= l_switch_limber`` covers: ``k <= phi_exact_k_max``; Limber's form above."""
    return max(1, int(np.searchsorted(kq, prec.phi_exact_k_max, side="right")))


def l_sampling(prec: Precision, l_max: int) -> np.ndarray:
    """Multipoles where the transfer functions and C_l are computed (CLASS-like sampling)."""
    ls = list(range(2, min(prec.l_all, l_max) + 1))
    while ls[-1] < l_max:
        ls.append(min(l_max, ls[-1] + max(1, min(prec.l_linstep, int(ls[-1] * (prec.l_logstep - 1.0))))))
    return np.asarray(ls)


def _recombination_nodes(prec: Precision) -> np.ndarray:
    """The first piece of :func:`quadrature_loga`: the stored source nodes (uniform in ln a) down to
    ``cmb_z_rec_end``."""
    src = source_grid(prec, cmb=True)
    return src[src <= -math.log1p(prec.cmb_z_rec_end) + 1e-12]


def quadrature_loga(prec: Precision, dtau_late: float | None = None) -> np.ndarray:
    """ln a nodes of the time integrals: the stored source nodes down to ``cmb_z_rec_end``,
    then uniform in fiducial conformal time with step ``dtau_late`` [Mpc] (default
    ``cmb_dtau_late``) until today."""
    rec = _recombination_nodes(prec)
    tau_a, tau_b = float(fiducial_tau(np.exp(rec[-1]))), float(fiducial_tau(np.array(1.0)))
    n = int(math.ceil((tau_b - tau_a) / (prec.cmb_dtau_late if dtau_late is None else dtau_late)))
    late = fiducial_loga(np.linspace(tau_a, tau_b, n + 1)[1:])
    late[-1] = 0.0
    return np.concatenate([rec, late])


def quadrature_weights(bg: Background, prec: Precision, dtau_late: float | None = None) -> Float[Array, " n"]:
    """Weights ``w`` with ``sum(w f) = int f dtau`` on the nodes :func:`quadrature_loga`: the
    trapezoid rule with Gregory's fourth-order end corrections (:func:`cosmo.interpolation.gregory_weights`)
    in the variable ``u`` in which each piece of nodes is uniform (ln a through recombination,
    fiducial conformal time after it), times ``dtau/du`` from the background.

    The end corrections matter where a piece starts: the plain trapezoid's end term
    ``h^2 f'(u_a) / 12`` is large there for the high-k tail of the late sources, whose
    ``j_l(k chi)`` oscillates on the scale of the step (with the plain trapezoid, C_l^TT at
    l = 30-400 moved by 1.1e-5 between late steps of 4 and 2 Mpc; with the corrections 10 Mpc
    agrees with 2 Mpc to 8e-8; CHANGELOG 2026-12-02 (b)).

    The line-of-sight integrands are smooth and oscillating, which a trapezoid on uniform nodes
    integrates with only aliasing errors; a trapezoid in tau itself on nodes uniform in ln a is off
    by O(h^2) because the step varies across the visibility peak (C_l high by 1.2e-6 at every
    l > 200 with cmb_dloga_rec = 4e-3, measured against 2e-3: worth Delta chi^2 0.12 at a corner of the
    box, CHANGELOG 2026-12-01)."""
    loga_q = quadrature_loga(prec, dtau_late)
    n, n_rec = len(loga_q), len(_recombination_nodes(prec))  # the pieces share node n_rec - 1
    a_late = np.exp(loga_q[n_rec - 1:])
    rec, tau_late = loga_q[:n_rec], fiducial_tau(a_late)  # both pieces have uniform nodes
    c_rec = np.concatenate([gregory_weights(n_rec, (rec[-1] - rec[0]) / (n_rec - 1)), np.zeros(n - n_rec)])
    c_late = np.concatenate([
        np.zeros(n_rec - 1),
        gregory_weights(n - n_rec + 1, (tau_late[-1] - tau_late[0]) / (n - n_rec)) / fiducial_dtau_dloga(a_late),
    ])
    x = jnp.asarray(loga_q)
    return jnp.asarray(c_rec + c_late) / (jnp.exp(x) * bg.hubble_loga(x))  # dtau / d ln a = 1 / (a H)


def late_source_start(prec: Precision) -> int:
    """Index of the first quadrature node (:func:`quadrature_loga`) after
    ``transfer_late_source_z``: from there on, multipoles above ``transfer_late_source_l``
    integrate only the t0 source (the late ISW)."""
    return int(np.sum(quadrature_loga(prec) <= -math.log1p(prec.transfer_late_source_z) + 1e-12))


class LosBlock(NamedTuple):
    """Sampled multipoles integrated by one compiled loop: each multipole over its own static
    window ``[q_start, q_start + q_width)`` of the transfer k grid (one width per block)."""

    l_index: np.ndarray  #: indices into the sampled multipoles
    q_start: np.ndarray  #: per multipole, first transfer-grid index of its window
    q_width: int  #: window length (the largest of the block)
    late_sources: bool  #: all CMB sources at late times (else only t0 after transfer_late_source_z)
    phi_exact: bool  #: line-of-sight lensing potential (else Limber)
    phi_q_start: int  #: first transfer-grid index of the exact lensing integral


def los_blocks(prec: Precision, ls: np.ndarray, kq: np.ndarray) -> list[LosBlock]:
    """Group the sampled multipoles ``ls`` by integration kind, with static k windows.

    The window of multipole l starts where ``k chi`` can reach the Bessel tables' non-zero
    region for the largest possible distance (``bessel_chi_max``): below it the integrands
    vanish identically. It ends at ``k = l / transfer_k_cut_chi + transfer_k_cut_dk``: above
    it the projection of the (thin) last-scattering shell onto multipole l is negligible
    (CLASS ``transfer_neglect_delta_k_S_*``, with a fixed, conservative distance so that the set
    of terms never depends on the parameters and the C_l stay smooth in them). Blocks split
    at ``l_switch_limber`` and ``transfer_late_source_l`` (one compiled loop each: separate
    loops per small group of multipoles multiplied XLA's compile memory).
    """
    def q_lo(l):
        return max(0, int(np.searchsorted(kq, bessel_zero_below(int(l)) / prec.bessel_chi_max)) - 1)

    def q_hi(l):
        return min(len(kq), int(np.searchsorted(kq, l / prec.transfer_k_cut_chi + prec.transfer_k_cut_dk)) + 2)

    def kind(l):
        return (l <= prec.transfer_late_source_l, l <= prec.l_switch_limber)

    blocks = []
    for key in dict.fromkeys(kind(l) for l in ls):  # kinds in order of increasing l
        idx = np.asarray([i for i, l in enumerate(ls) if kind(l) == key])
        lo = np.asarray([q_lo(ls[i]) for i in idx])
        hi = np.asarray([q_hi(ls[i]) for i in idx])
        width = int(np.max(hi - lo))
        start = np.minimum(lo, len(kq) - width)  # the window stays inside the grid and still covers [lo, hi)
        blocks.append(LosBlock(idx, start, width, key[0], key[1], int(lo.min())))
    return blocks


class Transfer(eqx.Module):
    """Transfer functions ``t, e [i_l, i_k]`` at multipoles ``l`` and wavenumbers ``k``, and of
    the lensing potential ``phi [i_l, i_kphi]`` on ``k_phi`` (which starts with ``k``), with the
    quadrature weights in ``k`` of the C_l integrals (``None``: trapezoid on the nodes).

    With ``k_fine``: the first ``len(t_fine)`` multipoles also have their T and E transfer
    functions on that finer grid (whose every ``fine_factor``-th node is a node of ``k``, where
    ``t``, ``e`` hold the same values); their TT, EE and TE integrate on it."""

    l: tuple[int, ...] = eqx.field(static=True)  #: sampled multipoles
    k: Float[Array, " n_k"]
    t: Float[Array, "n_l n_k"]
    e: Float[Array, "n_l n_k"]
    k_phi: Float[Array, " n_kphi"]
    phi: Float[Array, "n_l n_kphi"]
    dk: Float[Array, " n_k"] | None = None  #: weights of int dk on ``k`` (closed universes: a sum over modes)
    dk_phi: Float[Array, " n_kphi"] | None = None  #: the same on ``k_phi``
    k_fine: Float[Array, " n_kf"] | None = None
    t_fine: Float[Array, "n_lf n_kf"] | None = None
    e_fine: Float[Array, "n_lf n_kf"] | None = None
    fine_factor: int = eqx.field(static=True, default=1)
    dk_fine: Float[Array, " n_kf"] | None = None  #: weights of int dk on ``k_fine`` (``None``: trapezoid)


class LosInputs(NamedTuple):
    """What every line-of-sight integral reads: conformal times of the quadrature nodes, the
    distance ``chi = tau0 - tau`` [Mpc], and the sources on (transfer k, quadrature node), the
    CMB ones multiplied by the trapezoid weights."""

    tau: Float[Array, " n_tau"]
    chi: Float[Array, " n_tau"]
    s_t: Float[Array, "3 n_q n_tau"]  #: t0, t1, t2 (weighted)
    s_e: Float[Array, "n_q n_tau"]  #: E (weighted)
    s_p: Float[Array, "n_q n_tau"]  #: lensing potential on the CMB transfer grid (weighted)
    s_phi: Float[Array, "n_kphi n_tau"]  #: lensing potential on the lensing grid (not weighted)


def los_inputs(
    pert: Perturbations, bg: Background, th: Thermodynamics, prec: Precision, l_max: int,
    nonlinear_lensing: CosmoParams | None = None, dtau_late: float | None = None, n_q: int | None = None,
    refine: int = 1,
) -> LosInputs:
    """Sources of :func:`cmb_perturbations` splined onto the transfer k grid and the quadrature
    nodes (:func:`quadrature_loga` with ``dtau_late``). With ``n_q``: only the first ``n_q``
    wavenumbers of the transfer grid, and the lensing potential only on those (``s_phi`` then has
    ``n_q`` rows: enough for the exact lensing integral, not for Limber). With ``refine``: the T and
    E sources on :func:`fine_transfer_k_grid` of those wavenumbers (the lensing potential stays on them).
    The lensing-potential source is ``(phi + psi) W`` with
    ``W = sin_K(tau_rec - tau) / (sin_K(tau0 - tau) sin_K(tau0 - tau_rec))`` after ``tau_rec``
    (CLASS; ``sin_K(x) = x`` when flat); with ``nonlinear_lensing`` (the parameters) it is
    multiplied by sqrt(P_nl / P_lin) from Halofit, as CLASS's ``non_linear``."""
    kq = transfer_k_grid(prec, l_max)[:n_q]
    kl = lensing_k_grid(prec, l_max)
    kl = kl if n_q is None else kl[:n_q]  # the lensing grid starts with the transfer grid
    ks = cmb_modes(prec, l_max)
    ks_all = cmb_source_modes(prec, l_max)
    if pert.k.shape != ks_all.shape:
        raise ValueError("the sources must be computed by cmb_perturbations(..., l_max) for the same l_max")
    loga_q = quadrature_loga(prec, dtau_late)
    # quintic in k: a cubic spline of the oscillating sources at cmb_k_step_sub 0.04 lost 1.2e-5 of
    # C_l^TT at l = 500 (its error is a systematic loss of amplitude), the quintic < 0.2e-5
    k_src = fine_transfer_k_grid(prec, l_max, len(kq), refine)[0] if refine > 1 else kq
    M_k = jnp.asarray(quintic_spline_matrix(tuple(ks), tuple(k_src)))
    # the lensing potential is smooth in ln k across the CMB and lensing-only modes
    M_phi = jnp.asarray(natural_spline_matrix(tuple(np.log(ks_all)), tuple(np.log(kl))))
    M_t = jnp.asarray(natural_spline_matrix(tuple(source_grid(prec, cmb=True)), tuple(loga_q)))

    tau = bg.conformal_time_loga(jnp.asarray(loga_q))
    tau0 = eqx.error_if(
        bg.conformal_age, bg.conformal_age > prec.bessel_chi_max,
        "the conformal age exceeds Precision.bessel_chi_max (the end of the Bessel tables): raise it",
    )
    chi = tau0 - tau
    w = quadrature_weights(bg, prec, dtau_late)
    tau_rec = th.tau_rec
    chi_safe = jnp.where(chi > 0.0, chi, 1.0)
    lens_w = jnp.where(
        (tau > tau_rec) & (chi > 0.0),
        sin_K(tau_rec - tau, bg.K) / sin_K(chi_safe, bg.K) / sin_K(tau0 - tau_rec, bg.K),
        0.0,
    )
    n_cmb = len(ks)

    # time first: (n_k_src, n_src) -> (n_k_src, n_tau) is the small product (~3x fewer operations)
    def on_quadrature(name):
        return M_k @ (pert.source(name)[:n_cmb] @ M_t.T)  # (n_q, n_tau)

    s_phi = (M_phi @ (pert.source("phi_plus_psi") @ M_t.T)) * lens_w[None, :]  # (n_kphi, n_tau)
    if nonlinear_lensing is not None:
        from ..halofit import lensing_potential_correction

        s_phi = s_phi * lensing_potential_correction(
            nonlinear_lensing, pert, bg, ks_all, source_grid(prec, cmb=True), kl, loga_q
        )
    s_t = jnp.stack([on_quadrature(n) * w[None, :] for n in ("t0", "t1", "t2")])  # (3, n_q, n_tau)
    return LosInputs(
        tau=tau, chi=chi, s_t=s_t, s_e=on_quadrature("e") * w[None, :], s_p=s_phi[: len(kq)] * w[None, :], s_phi=s_phi
    )


def compute_transfer(
    pert: Perturbations, bg: Background, th: Thermodynamics, prec: Precision, l_max: int,
    nonlinear_lensing: CosmoParams | None = None,
) -> Transfer:
    """Line-of-sight integrals of the sources (``pert`` from :func:`cmb_perturbations`, on the
    modes :func:`cmb_source_modes`) at the multipoles :func:`l_sampling`.

    With ``nonlinear_lensing`` (the parameters, for the primordial spectrum) the lensing-potential
    source is multiplied by sqrt(P_nl / P_lin) from Halofit, as CLASS's ``non_linear``."""
    ls = l_sampling(prec, l_max)
    kq, kl = transfer_k_grid(prec, l_max), lensing_k_grid(prec, l_max)
    table = bessel_table(ls, prec.bessel_dx, k_max_cmb(prec, l_max) * prec.bessel_chi_max)
    blocks = los_blocks(prec, ls, kq)
    coarse = los_inputs(pert, bg, th, prec, l_max, nonlinear_lensing)
    # the multipoles with every late source: finer late nodes and a refined k grid, on their windows only
    fine, refine = coarse, 1
    n_phi = phi_exact_count(prec, kq)
    low = [b for b in blocks if b.late_sources]
    if low and (prec.cmb_dtau_late_low_l < prec.cmb_dtau_late or prec.q_refine_low_l > 1):
        refine = prec.q_refine_low_l
        n_q_fine = max(n_phi, max(int(np.max(b.q_start)) + b.q_width for b in low))
        fine = los_inputs(pert, bg, th, prec, l_max, nonlinear_lensing, prec.cmb_dtau_late_low_l, n_q_fine, refine)
        kq_fine, dk_fine = fine_transfer_k_grid(prec, l_max, n_q_fine, refine)
    kq_j, kl_j = jnp.asarray(kq), jnp.asarray(kl)
    n_late = late_source_start(prec)  # on the coarse nodes (the blocks without late sources)

    def limber(ll, chi, s_phi):
        chi_l = (ll + 0.5) / kl_j
        s = jax.vmap(lambda c, row: jnp.interp(c, chi[::-1], row[::-1], left=0.0, right=0.0))(chi_l, s_phi)
        i_phi_flat = jnp.sqrt(jnp.pi / (2.0 * ll)) * (1.0 - 0.25 / ll + 1.0 / (32.0 * ll * ll))
        return i_phi_flat * s / kl_j  # = int dchi S j_l(k chi) with S at chi = (l + 1/2)/k

    def block(b: LosBlock):
        q = fine if b.late_sources else coarse
        chi, s_t, s_e, s_p = q.chi, q.s_t, q.s_e, q.s_p
        n_all = chi.shape[0] if b.late_sources else n_late  # nodes with every source
        pa = b.phi_q_start
        # T and E on the refined grid of the late-source blocks (same window, refine nodes per interval)
        f = refine if b.late_sources else 1
        kt_j = jnp.asarray(kq_fine) if f > 1 else kq_j
        width = (b.q_width - 1) * f + 1
        # the window in chunks of los_k_chunk wavenumbers; the grid and the sources are padded with
        # zeros (no contribution) so that the last chunk stays inside them
        n_chunk = -(-width // prec.los_k_chunk)
        pad = n_chunk * prec.los_k_chunk - width
        kt_p = jnp.pad(kt_j, (0, pad))
        s_t_p = jnp.pad(s_t, ((0, 0), (0, pad), (0, 0)))
        s_e_p = jnp.pad(s_e, ((0, pad), (0, 0)))
        if b.phi_exact and pa >= n_phi:
            raise ValueError(f"Precision.phi_exact_k_max = {prec.phi_exact_k_max} is below the exact lensing windows")

        def window_sums(il, q0):
            """Delta_T, Delta_E (without the E factor) on the window's wavenumbers from ``q0``."""

            def chunk(q):
                x = jax.lax.dynamic_slice_in_dim(kt_p, q, prec.los_k_chunk)[:, None] * chi[None, :]
                t = jax.lax.dynamic_slice_in_dim(s_t_p, q, prec.los_k_chunk, axis=1)
                e = jax.lax.dynamic_slice_in_dim(s_e_p, q, prec.los_k_chunk, axis=0)
                r = table.radial(il, x[:, :n_all])
                d_t = jnp.sum(t[0, :, :n_all] * r[..., 0] + t[1, :, :n_all] * r[..., 1] + t[2, :, :n_all] * r[..., 2],
                              axis=1)
                d_e = jnp.sum(e[:, :n_all] * r[..., 3], axis=1)
                if not b.late_sources:  # CLASS transfer_neglect_late_source: only t0 (late ISW) late
                    d_t += jnp.sum(t[0, :, n_all:] * table.radial(il, x[:, n_all:], (0,))[..., 0], axis=1)
                return d_t, d_e

            # each chunk is recomputed in reverse mode rather than its (chunk x node) residuals stacked
            d_t, d_e = jax.lax.map(jax.checkpoint(chunk), q0 + prec.los_k_chunk * jnp.arange(n_chunk))
            inside = jnp.arange(n_chunk * prec.los_k_chunk) < width  # the rest lies beyond the window
            return jnp.where(inside, d_t.reshape(-1), 0.0), jnp.where(inside, d_e.reshape(-1), 0.0)

        if b.phi_exact:
            n_pc = -(-(n_phi - pa) // prec.los_k_chunk)
            pad_p = n_pc * prec.los_k_chunk - (n_phi - pa)
            kp_p = jnp.pad(kq_j[pa:n_phi], (0, pad_p))
            s_p_p = jnp.pad(s_p[pa:n_phi], ((0, pad_p), (0, 0)))

        def phi_exact_sums(il):
            """int dchi S_phi j_l(k chi) on the wavenumbers pa..n_phi of the transfer grid (chunked)."""

            def chunk(q):
                x = jax.lax.dynamic_slice_in_dim(kp_p, q, prec.los_k_chunk)[:, None] * chi[None, :]
                s = jax.lax.dynamic_slice_in_dim(s_p_p, q, prec.los_k_chunk, axis=0)
                return jnp.sum(s * table.radial(il, x, (0,))[..., 0], axis=1)

            return jax.lax.map(chunk, prec.los_k_chunk * jnp.arange(n_pc)).reshape(-1)[: n_phi - pa]

        @jax.checkpoint
        def one_l(args):
            il, qa = args
            ll = table.l[il].astype(chi.dtype)
            qt = qa * f  # first node of the window on the T/E grid
            delta_t, delta_e = window_sums(il, qt)
            e_factor = jnp.sqrt(0.375 * (ll + 2.0) * (ll + 1.0) * ll * (ll - 1.0))
            zeros = jnp.zeros(kt_p.shape[0], chi.dtype)
            delta_t = jax.lax.dynamic_update_slice_in_dim(zeros, delta_t, qt, 0)[: kt_j.shape[0]]
            delta_e = jax.lax.dynamic_update_slice_in_dim(zeros, e_factor * delta_e, qt, 0)[: kt_j.shape[0]]
            if b.phi_exact:  # exact up to phi_exact_k_max, Limber above (both grids)
                exact = phi_exact_sums(il)
                delta_p = jnp.concatenate([jnp.zeros(pa, chi.dtype), exact, limber(ll, coarse.chi, coarse.s_phi)[n_phi:]])
            else:
                delta_p = limber(ll, coarse.chi, coarse.s_phi)
            return delta_t, delta_e, delta_p

        return jax.lax.map(one_l, (jnp.asarray(b.l_index), jnp.asarray(b.q_start)))

    parts = [block(b) for b in blocks]
    dp = jnp.concatenate([part[2] for part in parts])
    dk, dk_phi = jnp.asarray(transfer_k_weights(prec, l_max)), jnp.asarray(lensing_k_weights(prec, l_max))
    if refine == 1:
        dt, de = (jnp.concatenate([part[i] for part in parts]) for i in range(2))
        return Transfer(l=tuple(int(v) for v in ls), k=kq_j, t=dt, e=de, k_phi=kl_j, phi=dp, dk=dk, dk_phi=dk_phi)
    n_low = len(low)  # the late-source blocks come first (multipoles in increasing order)
    t_fine, e_fine = (jnp.concatenate([part[i] for part in parts[:n_low]]) for i in range(2))

    def on_coarse(fine_rows):  # the refined grid's every refine-th node is a node of kq
        sub = fine_rows[:, ::refine]
        return jnp.concatenate([sub, jnp.zeros((sub.shape[0], len(kq) - sub.shape[1]), sub.dtype)], axis=1)

    dt = jnp.concatenate([on_coarse(t_fine)] + [part[0] for part in parts[n_low:]])
    de = jnp.concatenate([on_coarse(e_fine)] + [part[1] for part in parts[n_low:]])
    return Transfer(l=tuple(int(v) for v in ls), k=kq_j, t=dt, e=de, k_phi=kl_j, phi=dp, dk=dk, dk_phi=dk_phi,
                    k_fine=jnp.asarray(kq_fine), t_fine=t_fine, e_fine=e_fine, fine_factor=refine,
                    dk_fine=jnp.asarray(dk_fine))
