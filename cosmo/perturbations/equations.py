"""Linear Einstein-Boltzmann equations in the synchronous gauge (Ma & Bertschinger 1995).

One Fourier mode ``k`` [1/Mpc], adiabatic growing mode. Conventions as
CLASS: ``eta`` and ``h`` are the synchronous metric perturbations, velocity
divergences ``theta`` [1/Mpc], the photon, polarisation and massless-neutrino
hierarchies are stored as multipoles ``F_l`` with ``F_0 = delta``,
``F_1 = 4 theta / (3 k)``, ``F_2 = 2 s_2 sigma`` (shear). The hierarchies are truncated
at ``l_max`` with Ma & Bertschinger's free-streaming closure
``F_lmax' = k s_lmax F_(lmax-1) - (lmax+1) cot_K F_lmax``.

Spatial curvature ``K`` (CLASS perturbations.c; Lesgourgues & Tram 2014): ``k`` is the
Laplacian eigenvalue (``-k^2``), the hierarchies couple through
``s_l = sqrt(1 - K (l^2 - 1) / k^2)``:
``F_l' = k / (2l + 1) [l s_l F_(l-1) - (l + 1) s_(l+1) F_(l+1)]``, the metric sources of the
shear carry ``s_2``, the Einstein equations ``h' = (k^2 s_2^2 eta + 3/2 a^2 delta rho) / (a'/2a)``
and ``eta' = (3/2 a^2 (rho + p) theta + K h' / 2) / (k^2 s_2^2)``, and the closure
``cot_K = sqrt|K| coth(sqrt|K| tau)`` (open) or ``sqrt K cot(sqrt K tau)`` (closed) instead of
``1 / tau``. ``K = 0`` recovers the flat equations exactly. As CLASS, the massive-neutrino
hierarchy keeps ``Psi_2`` unscaled (its shear carries no ``1/s_2``) and the radiation-streaming
formulas are the flat ones.

No tight-coupling approximation: the stiff Thomson terms are handled by the L-stable
implicit integrator, so the solution is a smooth function of the parameters. Well inside
the horizon massless neutrinos follow CLASS's ultra-relativistic fluid approximation
(UFA: delta, theta, shear only; the truncated hierarchy would reflect power back from
l_max), and late in the evolution of each mode photons and massless neutrinos follow the
radiation-streaming approximation (RSA). Both switch at parameter-independent times.

Massive neutrinos (non-cold relics) follow the momentum-resolved hierarchy of Ma &
Bertschinger (``Psi_l(q)`` on the Fermi-Dirac Gauss momenta of
:func:`~cosmo.background.ncdm.fd_gauss_quadrature`; density, velocity and shear are the
momentum moments, normalised by the same quadrature's background moments so that the
quadrature error cancels in delta, theta and sigma), and well inside the horizon CLASS's
fluid approximation (``ncdmfa_CLASS``: delta, theta, sigma with the adiabatic sound speed
and the pseudo-pressure viscosity closure), switched on at a parameter-independent time.

A w0wa dark-energy fluid is perturbed with CLASS's parametrised post-Friedmann (PPF)
scheme (Hu & Sawicki 2007; Fang, Hu & Lewis 2008), one extra variable ``Gamma``, valid
across w = -1. CLASS sets Gamma = 0 when (c_Gamma k/aH)^2 > 1e3 because its integrator
finds the relaxation stiff; the L-stable integrator here needs no such switch. The integrator works in
``ln a``: ``dy/dln a = y' / (a'/a)`` with ``'`` = d/dtau.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..background.ncdm import dlnf0_dlnq, fd_gauss_quadrature
from .chains import ChainStructure
from .local import Local

__all__ = [
    "Layout", "Metric", "metric", "derivatives_tau", "ncdm_fluid_from_hierarchy", "ncdm_species", "curvature_s",
    "k_cot_K", "s2_squared",
]


def curvature_s(k: Float[Array, ""], K: Float[Array, ""], l_max: int) -> Float[Array, " l"]:
    """``s_l = sqrt(1 - K (l^2 - 1) / k^2)`` for ``l = 0 .. l_max + 1`` (0 where the root is not
    real: in a closed universe the multipoles ``l >= nu`` of a mode decouple)."""
    ell = jnp.arange(l_max + 2, dtype=float)
    x = 1.0 - K * (ell**2 - 1.0) / (k * k)
    return jnp.where(x > 0.0, jnp.sqrt(jnp.where(x > 0.0, x, 1.0)), 0.0)


def s2_squared(k: Float[Array, ""], K: Float[Array, ""]) -> Float[Array, ""]:
    """``s_2^2 = 1 - 3K/k^2``, continued below 1/2 by ``exp`` (C1, positive). Only modes with
    ``s_2^2 >= 5/8`` exist in a closed universe (``nu >= 3``); the continuation keeps the
    evolution of the static modes below them finite (``eta'`` and the shear divide by ``s_2``)."""
    x = 1.0 - 3.0 * K / (k * k)
    return jnp.where(x >= 0.5, x, 0.5 * jnp.exp(2.0 * (jnp.where(x >= 0.5, 0.5, x) - 0.5)))


def k_cot_K(K: Float[Array, ""], tau: Float[Array, ""]) -> Float[Array, ""]:
    """``sqrt|K| coth(sqrt|K| tau)`` (K < 0), ``sqrt(K) cot(sqrt(K) tau)`` (K > 0), ``1 / tau``
    (flat) [1/Mpc]: the free-streaming closure rate; smooth in K across 0."""
    u = K * tau * tau
    small = jnp.abs(u) < 1.0e-3
    u_safe = jnp.where(small, 1.0, u)
    r = jnp.sqrt(jnp.abs(u_safe))
    exact = jnp.where(u_safe > 0.0, r / jnp.tan(r), r / jnp.tanh(r))
    series = 1.0 - u / 3.0 - u**2 / 45.0 - 2.0 * u**3 / 945.0
    return jnp.where(small, series, exact) / tau


@dataclasses.dataclass(frozen=True)
class Layout:
    """Static layout of the state vector of one mode (hashable).

    ``[eta, delta_cdm, delta_b, theta_b, F_g(0..l_max_g), G(0..l_max_pol_g), F_ur(0..l_max_ur)]``,
    then for each massive-neutrino species and each of its ``nq_ncdm`` momenta
    ``Psi(0..l_max_ncdm)`` (in the fluid approximation the first momentum's ``Psi_0..2`` hold
    the species' ``delta, theta, sigma``), then ``Gamma`` (PPF dark energy) when ``fld``.
    """

    l_max_g: int = 17
    l_max_pol_g: int = 17
    l_max_ur: int = 17
    fld: bool = False
    n_ncdm: int = 0
    nq_ncdm: int = 6
    l_max_ncdm: int = 17

    eta = 0
    delta_cdm = 1
    delta_b = 2
    theta_b = 3

    @property
    def g0(self) -> int:
        return 4

    @property
    def pol0(self) -> int:
        return self.g0 + self.l_max_g + 1

    @property
    def ur0(self) -> int:
        return self.pol0 + self.l_max_pol_g + 1

    @property
    def ncdm0(self) -> int:
        return self.ur0 + self.l_max_ur + 1

    def ncdm_block(self, species: int) -> slice:
        """State slice of one massive-neutrino species (``nq_ncdm * (l_max_ncdm + 1)`` entries)."""
        n = self.nq_ncdm * (self.l_max_ncdm + 1)
        return slice(self.ncdm0 + species * n, self.ncdm0 + (species + 1) * n)

    @property
    def gamma_fld(self) -> int:
        return self.ncdm0 + self.n_ncdm * self.nq_ncdm * (self.l_max_ncdm + 1)

    def chain_structure(self) -> ChainStructure:
        """The hierarchies above l = 2 as tridiagonal chains (see :mod:`.chains`)."""
        chains = [(self.g0 + 3, self.l_max_g - 2), (self.pol0 + 3, self.l_max_pol_g - 2), (self.ur0 + 3, self.l_max_ur - 2)]
        size = self.l_max_ncdm + 1
        for b in range(self.n_ncdm * self.nq_ncdm):
            chains.append((self.ncdm0 + b * size + 3, self.l_max_ncdm - 2))
        return ChainStructure(self.size, tuple(chains))

    def ncdm_quadrature(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Momenta ``q``, Gauss weights (Fermi-Dirac ``q^2 f0`` included) and ``d ln f0 / d ln q``."""
        q, w = fd_gauss_quadrature(self.nq_ncdm)
        return q, w, dlnf0_dlnq(q)

    @property
    def size(self) -> int:
        return self.gamma_fld + (1 if self.fld else 0)


class Metric(eqx.Module):
    """Synchronous-gauge metric quantities of one mode at one time.

    ``alpha = (h' + 6 eta')/(2 k^2)`` links to the Newtonian potentials:
    ``psi = alpha' + (a'/a) alpha`` and ``phi = eta - (a'/a) alpha``.
    """

    h_prime: Float[Array, ""]
    eta_prime: Float[Array, ""]
    alpha: Float[Array, ""]
    alpha_prime: Float[Array, ""]
    delta_rho: Float[Array, ""]  #: sum_i rho_i delta_i [1/Mpc^2]
    rho_plus_p_theta: Float[Array, ""]
    rho_plus_p_shear: Float[Array, ""]
    delta_g: Float[Array, ""]  #: photon density contrast (from the state, or the RSA)
    theta_g: Float[Array, ""]  #: photon velocity divergence [1/Mpc]
    gamma_prime_fld: Float[Array, ""]  #: Gamma' of the PPF dark energy (0 without a fluid)


def _rsa_radiation(k, y, loc, lay, h_prime):
    """Radiation-streaming approximation (CLASS rsa_MD_with_reio, synchronous gauge):
    photon and massless-neutrino (delta, theta) slaved to the metric once free streaming
    has averaged their oscillations out. Returns (delta_g, theta_g, delta_ur, theta_ur)."""
    k2 = k * k
    eta, theta_b, delta_b = y[lay.eta], y[lay.theta_b], y[lay.delta_b]
    delta_ur = 4.0 / k2 * (loc.aH * h_prime - k2 * eta)
    theta_ur = -0.5 * h_prime
    v = theta_b + 0.5 * h_prime
    delta_g = delta_ur - 4.0 / k2 * loc.dkappa * v
    theta_g = theta_ur + 3.0 / k2 * (
        loc.ddkappa * v
        + loc.dkappa * (-loc.aH * theta_b + loc.cb2 * k2 * delta_b - loc.aH * h_prime + k2 * eta)
    )
    return delta_g, theta_g, delta_ur, theta_ur


def _ncdm_moments(k, Psi, aM, lay):
    """(delta, theta, sigma) of one species from its hierarchy ``Psi[i_q, l]`` (moments
    normalised by the same quadrature's density and enthalpy)."""
    q, w, _ = lay.ncdm_quadrature()
    eps = jnp.sqrt(q**2 + aM**2)
    S_rho = jnp.sum(w * eps)
    S_rho_plus_p = S_rho + jnp.sum(w * q**2 / (3.0 * eps))
    delta = jnp.sum(w * eps * Psi[:, 0]) / S_rho
    theta = k * jnp.sum(w * q * Psi[:, 1]) / S_rho_plus_p
    sigma = 2.0 / 3.0 * jnp.sum(w * q**2 / eps * Psi[:, 2]) / S_rho_plus_p
    return delta, theta, sigma


def ncdm_species(k, y, loc, lay, ncdmfa):
    """Per species: (delta, theta, sigma), from the fluid variables when ``ncdmfa``."""
    out = []
    for s in range(lay.n_ncdm):
        Psi = y[lay.ncdm_block(s)].reshape(lay.nq_ncdm, lay.l_max_ncdm + 1)
        hier = _ncdm_moments(k, Psi, loc.aM_ncdm[s], lay)
        out.append(tuple(jnp.where(ncdmfa, Psi[0, j], hier[j]) for j in range(3)))
    return out


def ncdm_fluid_from_hierarchy(k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout) -> Float[Array, " n"]:
    """State at the switch to the ncdm fluid approximation: each species' hierarchy replaced by
    its (delta, theta, sigma) in the first momentum's ``Psi_0..2`` (as CLASS when it switches)."""
    for s in range(lay.n_ncdm):
        blk = lay.ncdm_block(s)
        Psi = y[blk].reshape(lay.nq_ncdm, lay.l_max_ncdm + 1)
        fluid = jnp.zeros_like(Psi).at[0, :3].set(jnp.stack(_ncdm_moments(k, Psi, loc.aM_ncdm[s], lay)))
        y = y.at[blk].set(fluid.reshape(-1))
    return y


def metric(
    k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout, rsa=False, ncdmfa=False
) -> Metric:
    """Einstein equations: h', eta', alpha, alpha' from the matter and radiation variables.

    With ``rsa`` (a traced boolean) photons and massless neutrinos follow the
    radiation-streaming approximation instead of their hierarchies; with ``ncdmfa`` the
    massive neutrinos are read from their fluid variables.
    """
    k2 = k * k
    a2 = loc.a**2
    s2sq = s2_squared(k, loc.K)
    s2 = jnp.sqrt(s2sq)
    F0, F1, F2 = y[lay.g0], y[lay.g0 + 1], y[lay.g0 + 2]
    N0, N1, N2 = y[lay.ur0], y[lay.ur0 + 1], y[lay.ur0 + 2]
    delta_rho_m = loc.rho_b * y[lay.delta_b] + loc.rho_cdm * y[lay.delta_cdm]
    rho_plus_p_theta_n = rho_plus_p_shear_n = rho_plus_p_n = 0.0
    for s, (d_n, t_n, sig_n) in enumerate(ncdm_species(k, y, loc, lay, ncdmfa)):
        rho_plus_p_s = loc.rho_ncdm[s] + loc.p_ncdm[s]
        delta_rho_m = delta_rho_m + loc.rho_ncdm[s] * d_n
        rho_plus_p_theta_n = rho_plus_p_theta_n + rho_plus_p_s * t_n
        rho_plus_p_shear_n = rho_plus_p_shear_n + rho_plus_p_s * sig_n
        rho_plus_p_n = rho_plus_p_n + rho_plus_p_s
    # RSA: h' from matter alone, then radiation slaved to it (its feedback is ~rho_r/rho_m)
    h0 = (k2 * s2sq * y[lay.eta] + 1.5 * a2 * delta_rho_m) / (0.5 * loc.aH)
    rsa_dg, rsa_tg, rsa_dur, rsa_tur = _rsa_radiation(k, y, loc, lay, h0)
    delta_g = jnp.where(rsa, rsa_dg, F0)
    theta_g = jnp.where(rsa, rsa_tg, 0.75 * k * F1)
    delta_ur = jnp.where(rsa, rsa_dur, N0)
    theta_ur = jnp.where(rsa, rsa_tur, 0.75 * k * N1)
    delta_rho = delta_rho_m + loc.rho_g * delta_g + loc.rho_ur * delta_ur
    rho_plus_p_theta = (
        4.0 / 3.0 * (loc.rho_g * theta_g + loc.rho_ur * theta_ur) + loc.rho_b * y[lay.theta_b] + rho_plus_p_theta_n
    )
    gamma_prime = jnp.zeros_like(delta_rho)
    if lay.fld:
        rho_plus_p = 4.0 / 3.0 * (loc.rho_g + loc.rho_ur) + loc.rho_b + loc.rho_cdm + rho_plus_p_n
        d_fld, t_fld, gamma_prime = _ppf(
            k, y[lay.gamma_fld], y[lay.eta], delta_rho, rho_plus_p_theta, rho_plus_p, loc, s2sq
        )
        delta_rho = delta_rho + d_fld
        rho_plus_p_theta = rho_plus_p_theta + t_fld
    # sigma = F_2 / (2 s_2); no radiation shear in the RSA
    rho_plus_p_shear = jnp.where(rsa, 0.0, 2.0 / 3.0 * (loc.rho_g * F2 + loc.rho_ur * N2) / s2) + rho_plus_p_shear_n
    h_prime = (k2 * s2sq * y[lay.eta] + 1.5 * a2 * delta_rho) / (0.5 * loc.aH)
    eta_prime = (1.5 * a2 * rho_plus_p_theta + 0.5 * loc.K * h_prime) / (k2 * s2sq)
    alpha = (h_prime + 6.0 * eta_prime) / (2.0 * k2)
    alpha_prime = -2.0 * loc.aH * alpha + y[lay.eta] - 4.5 * a2 / k2 * rho_plus_p_shear
    return Metric(
        h_prime=h_prime, eta_prime=eta_prime, alpha=alpha, alpha_prime=alpha_prime,
        delta_rho=delta_rho, rho_plus_p_theta=rho_plus_p_theta, rho_plus_p_shear=rho_plus_p_shear,
        delta_g=delta_g, theta_g=theta_g, gamma_prime_fld=gamma_prime,
    )


#: PPF transition scale c_Gamma / c (CLASS c_gamma_over_c_fld).
C_GAMMA_OVER_C = 0.4


def _ppf(k, gamma, eta, delta_rho, rho_plus_p_theta, rho_plus_p, loc, s2sq):
    """PPF dark energy (CLASS perturbations.c, synchronous gauge; ``s2sq = 1 - 3K/k^2``): the
    fluid's ``delta rho`` and ``(rho + p) theta`` and ``Gamma'`` from the other species' totals
    (``delta_rho``, ``rho_plus_p_theta``, ``rho_plus_p``: everything but the fluid)."""
    k2, a2, aH = k * k, loc.a**2, loc.aH
    X = (C_GAMMA_OVER_C * k / aH) ** 2 * loc.cs2_fld
    alpha = (eta + 1.5 * a2 / (k2 * s2sq) * (delta_rho + 3.0 * aH / k2 * rho_plus_p_theta) - gamma) / aH
    rho_plus_p_fld = (1.0 + loc.w_fld) * loc.rho_fld
    S = rho_plus_p_fld * 1.5 * a2 / (k2 * aH) * (rho_plus_p_theta / rho_plus_p + k2 * alpha)
    gamma_prime = aH * (S / (1.0 + X) - (1.0 + X) * gamma)
    theta_fld = rho_plus_p_fld * rho_plus_p_theta / rho_plus_p - k2 * 2.0 / 3.0 * aH / a2 / (
        1.0 + 4.5 * a2 / (k2 * s2sq) * rho_plus_p
    ) * (S - (gamma_prime + aH * gamma) / aH)
    delta_fld = -2.0 / 3.0 * k2 * s2sq / a2 * gamma - 3.0 * aH / k2 * theta_fld
    return delta_fld, theta_fld, gamma_prime


def _free_streaming(k, F, tau, s=None, kcot=None, s_closure=True):
    """k/(2l+1) [l s_l F_(l-1) - (l+1) s_(l+1) F_(l+1)] along the last axis, with the l_max closure
    k s_lmax F_(lmax-1) - (lmax+1) cot_K F_lmax (``k`` broadcasts against ``F[..., 0]``: for massive
    neutrinos it is ``k q / eps`` per momentum, and their closure has no ``s_lmax``, as CLASS).
    ``s`` (:func:`curvature_s`, at least ``l_max + 2`` entries) and ``kcot`` (:func:`k_cot_K`)
    default to flat space (``s_l = 1``, ``1 / tau``)."""
    L = F.shape[-1] - 1
    k = jnp.asarray(k)[..., None]
    ell = jnp.arange(L + 1, dtype=F.dtype)
    zero = jnp.zeros(F.shape[:-1] + (1,), F.dtype)
    F_lo = jnp.concatenate([zero, F[..., :-1]], axis=-1)
    F_hi = jnp.concatenate([F[..., 1:], zero], axis=-1)
    if s is None:
        out = k * (ell * F_lo - (ell + 1.0) * F_hi) / (2.0 * ell + 1.0)
        s_L = 1.0
    else:
        out = k * (ell * s[: L + 1] * F_lo - (ell + 1.0) * s[1 : L + 2] * F_hi) / (2.0 * ell + 1.0)
        s_L = s[L] if s_closure else 1.0
    kcot = 1.0 / tau if kcot is None else kcot
    return out.at[..., L].set(k[..., 0] * s_L * F[..., L - 1] - (L + 1.0) * kcot * F[..., L])


def _ncdm_derivatives(k, y, loc, lay, hp, etap, ncdmfa, s_l, kcot):
    """d/dtau of the massive-neutrino variables: the hierarchy (Ma & Bertschinger eq. 57,
    synchronous gauge) or, with ``ncdmfa``, CLASS's fluid approximation (ncdmfa_CLASS)."""
    q, _, dlnf0 = lay.ncdm_quadrature()
    s2 = s_l[2]
    out = []
    for s in range(lay.n_ncdm):
        Psi = y[lay.ncdm_block(s)].reshape(lay.nq_ncdm, lay.l_max_ncdm + 1)
        eps = jnp.sqrt(q**2 + loc.aM_ncdm[s] ** 2)
        dPsi = _free_streaming(k * q / eps, Psi, loc.tau, s_l, kcot, s_closure=False)
        dPsi = dPsi.at[:, 0].add(hp / 6.0 * dlnf0)
        dPsi = dPsi.at[:, 2].add(-s2 * (hp / 15.0 + 0.4 * etap) * dlnf0)
        # fluid: w, adiabatic sound speed c_a^2 (= c_eff^2) and viscosity c_vis^2 = 3 w c_a^2
        rho, p, pseudo_p = loc.rho_ncdm[s], loc.p_ncdm[s], loc.pseudo_p_ncdm[s]
        w = p / rho
        ca2 = w / (3.0 * (1.0 + w)) * (5.0 - pseudo_p / p)
        delta, theta, sigma = Psi[0, 0], Psi[0, 1], Psi[0, 2]
        d_delta = -(1.0 + w) * (theta + 0.5 * hp) - 3.0 * loc.aH * (ca2 - w) * delta
        d_theta = -loc.aH * (1.0 - 3.0 * ca2) * theta + ca2 / (1.0 + w) * k * k * delta - k * k * sigma
        d_sigma = -3.0 * (loc.aH * (2.0 / 3.0 - ca2 - pseudo_p / (3.0 * p)) + 1.0 / loc.tau) * sigma + (
            8.0 / 3.0 * 3.0 * w * ca2 / (1.0 + w) * s2 * (theta + 0.5 * hp)
        )
        fluid = jnp.zeros_like(Psi).at[0, :3].set(jnp.stack([d_delta, d_theta, d_sigma]))
        out.append(jnp.where(ncdmfa, fluid, dPsi).reshape(-1))
    return out


def derivatives_tau(
    k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout, rsa=False, ufa=False, ncdmfa=False
) -> tuple[Float[Array, " n"], Metric]:
    """dy/dtau of one mode, and the metric quantities used to build it.

    With ``rsa`` (a traced boolean) the photon and neutrino hierarchies are frozen
    (derivative 0, unused: :func:`metric` and the sources take the RSA values) and the
    Thomson drag on the baryons uses the RSA photon velocity. With ``ufa`` (traced
    boolean) the massless neutrinos are a fluid (CLASS ``ufa_CLASS``):
    ``sigma' = -3 sigma / tau + 2/3 (theta + h'/2)`` closes the hierarchy at l = 2 and
    the multipoles l >= 3 are frozen (unused). With ``ncdmfa`` (traced boolean) the massive
    neutrinos follow the fluid approximation.
    """
    met = metric(k, y, loc, lay, rsa, ncdmfa)
    hp, etap = met.h_prime, met.eta_prime
    dk = loc.dkappa
    F = y[lay.g0 : lay.pol0]
    G = y[lay.pol0 : lay.ur0]
    N = y[lay.ur0 : lay.ncdm0]
    theta_b = y[lay.theta_b]
    s_l = curvature_s(k, loc.K, max(lay.l_max_g, lay.l_max_pol_g, lay.l_max_ur, lay.l_max_ncdm))
    s2 = s_l[2]
    kcot = k_cot_K(loc.K, loc.tau)

    # photons: free streaming + Thomson collisions + metric
    Pi = F[2] + G[0] + G[2]
    dF = _free_streaming(k, F, loc.tau, s_l, kcot) - dk * F
    dF = dF.at[0].add(dk * F[0] - 2.0 / 3.0 * hp)
    dF = dF.at[1].add(4.0 / (3.0 * k) * dk * theta_b)
    dF = dF.at[2].add(0.1 * dk * F[2] + 0.1 * dk * (G[0] + G[2]) + s2 * (4.0 / 15.0 * hp + 1.6 * etap))
    dG = _free_streaming(k, G, loc.tau, s_l, kcot) - dk * G
    dG = dG.at[0].add(0.5 * dk * Pi)
    dG = dG.at[2].add(0.1 * dk * Pi)
    # massless neutrinos
    dN = _free_streaming(k, N, loc.tau, s_l, kcot)
    dN = dN.at[0].add(-2.0 / 3.0 * hp)
    dN = dN.at[2].add(s2 * (4.0 / 15.0 * hp + 1.6 * etap))
    dN2_fluid = -3.0 / loc.tau * N[2] + 4.0 / 3.0 * s2 * (0.75 * k * N[1] + 0.5 * hp)  # F_2 = 2 s_2 sigma
    dN = jnp.where(ufa, jnp.zeros_like(dN).at[:2].set(dN[:2]).at[2].set(dN2_fluid), dN)
    # baryons (R = 4 rho_g / (3 rho_b)) and CDM (at rest in this gauge)
    R = 4.0 * loc.rho_g / (3.0 * loc.rho_b)
    d_delta_b = -theta_b - 0.5 * hp
    d_theta_b = -loc.aH * theta_b + loc.cb2 * k * k * y[lay.delta_b] + R * dk * (met.theta_g - theta_b)
    head = jnp.stack([etap, -0.5 * hp, d_delta_b, d_theta_b])
    tail = jnp.where(rsa, 0.0, jnp.concatenate([dF, dG, dN]))
    parts = [head, tail, *_ncdm_derivatives(k, y, loc, lay, hp, etap, ncdmfa, s_l, kcot)]
    parts += [met.gamma_prime_fld[None]] if lay.fld else []
    return jnp.concatenate(parts), met
