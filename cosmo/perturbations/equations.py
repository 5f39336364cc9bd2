"""Linear Einstein-Boltzmann equations in the synchronous gauge (Ma & Bertschinger 1995).

One Fourier mode ``k`` [1/Mpc], adiabatic growing mode, flat space. Conventions as
CLASS: ``eta`` and ``h`` are the synchronous metric perturbations, velocity
divergences ``theta`` [1/Mpc], the photon, polarisation and massless-neutrino
hierarchies are stored as multipoles ``F_l`` with ``F_0 = delta``,
``F_1 = 4 theta / (3 k)``, ``F_2 = 2 sigma`` (shear). The hierarchies are truncated
at ``l_max`` with Ma & Bertschinger's free-streaming closure
``F_lmax' = k F_(lmax-1) - (lmax+1)/tau F_lmax``.

No tight-coupling or radiation-streaming approximation: the stiff Thomson terms
are handled by the L-stable implicit integrator, so the solution is a smooth
function of the parameters. The independent variable is ``ln a``:
``dy/dln a = y' / (a'/a)`` with ``'`` = d/dtau.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..background import Background
from ..thermodynamics import Thermodynamics
from .local import Local, local_quantities

__all__ = ["Layout", "Metric", "metric", "derivatives_tau", "vector_field"]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Static layout of the state vector of one mode (hashable).

    ``[eta, delta_cdm, delta_b, theta_b, F_g(0..l_max_g), G(0..l_max_pol_g), F_ur(0..l_max_ur)]``
    """

    l_max_g: int = 17
    l_max_pol_g: int = 17
    l_max_ur: int = 17

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
    def size(self) -> int:
        return self.ur0 + self.l_max_ur + 1


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


def metric(k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout, rsa=False) -> Metric:
    """Einstein equations: h', eta', alpha, alpha' from the matter and radiation variables.

    With ``rsa`` (a traced boolean) photons and massless neutrinos follow the
    radiation-streaming approximation instead of their hierarchies.
    """
    k2 = k * k
    a2 = loc.a**2
    F0, F1, F2 = y[lay.g0], y[lay.g0 + 1], y[lay.g0 + 2]
    N0, N1, N2 = y[lay.ur0], y[lay.ur0 + 1], y[lay.ur0 + 2]
    delta_rho_m = loc.rho_b * y[lay.delta_b] + loc.rho_cdm * y[lay.delta_cdm]
    # RSA: h' from matter alone, then radiation slaved to it (its feedback is ~rho_r/rho_m)
    h0 = (k2 * y[lay.eta] + 1.5 * a2 * delta_rho_m) / (0.5 * loc.aH)
    rsa_dg, rsa_tg, rsa_dur, rsa_tur = _rsa_radiation(k, y, loc, lay, h0)
    delta_g = jnp.where(rsa, rsa_dg, F0)
    theta_g = jnp.where(rsa, rsa_tg, 0.75 * k * F1)
    delta_ur = jnp.where(rsa, rsa_dur, N0)
    theta_ur = jnp.where(rsa, rsa_tur, 0.75 * k * N1)
    delta_rho = delta_rho_m + loc.rho_g * delta_g + loc.rho_ur * delta_ur
    rho_plus_p_theta = 4.0 / 3.0 * (loc.rho_g * theta_g + loc.rho_ur * theta_ur) + loc.rho_b * y[lay.theta_b]
    # sigma = F_2 / 2; no radiation shear in the RSA
    rho_plus_p_shear = jnp.where(rsa, 0.0, 2.0 / 3.0 * (loc.rho_g * F2 + loc.rho_ur * N2))
    h_prime = (k2 * y[lay.eta] + 1.5 * a2 * delta_rho) / (0.5 * loc.aH)
    eta_prime = 1.5 * a2 * rho_plus_p_theta / k2
    alpha = (h_prime + 6.0 * eta_prime) / (2.0 * k2)
    alpha_prime = -2.0 * loc.aH * alpha + y[lay.eta] - 4.5 * a2 / k2 * rho_plus_p_shear
    return Metric(
        h_prime=h_prime, eta_prime=eta_prime, alpha=alpha, alpha_prime=alpha_prime,
        delta_rho=delta_rho, rho_plus_p_theta=rho_plus_p_theta, rho_plus_p_shear=rho_plus_p_shear,
        delta_g=delta_g, theta_g=theta_g,
    )


def _free_streaming(k, F):
    """k/(2l+1) [l F_(l-1) - (l+1) F_(l+1)], with the closure's streaming term k F_(lmax-1) at l_max."""
    L = F.shape[0] - 1
    ell = jnp.arange(L + 1, dtype=F.dtype)
    F_lo = jnp.concatenate([jnp.zeros(1, F.dtype), F[:-1]])
    F_hi = jnp.concatenate([F[1:], jnp.zeros(1, F.dtype)])
    out = k * (ell * F_lo - (ell + 1.0) * F_hi) / (2.0 * ell + 1.0)
    return out.at[L].set(k * F[L - 1])


def explicit_tau(
    k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout, rsa=False
) -> tuple[Float[Array, " n"], Metric]:
    """Non-stiff part of dy/dtau (free streaming, gravity, expansion, baryon pressure) and the metric.

    With ``rsa`` the hierarchies are frozen (derivative 0, unused) and the Thomson drag
    on the baryons, then weak, is explicit with the RSA photon velocity.
    """
    met = metric(k, y, loc, lay, rsa)
    hp, etap = met.h_prime, met.eta_prime
    F = y[lay.g0 : lay.pol0]
    G = y[lay.pol0 : lay.ur0]
    N = y[lay.ur0 : lay.size]
    dF = _free_streaming(k, F)
    # (the shear sources 8/5 eta' are in implicit_tau, with eta')
    dF = dF.at[0].add(-2.0 / 3.0 * hp)
    dF = dF.at[2].add(4.0 / 15.0 * hp)
    dG = _free_streaming(k, G)
    dN = _free_streaming(k, N)
    dN = dN.at[0].add(-2.0 / 3.0 * hp)
    dN = dN.at[2].add(4.0 / 15.0 * hp)
    d_delta_b = -y[lay.theta_b] - 0.5 * hp
    d_theta_b = -loc.aH * y[lay.theta_b] + loc.cb2 * k * k * y[lay.delta_b]
    R = 4.0 * loc.rho_g / (3.0 * loc.rho_b)
    d_theta_b = d_theta_b + jnp.where(rsa, R * loc.dkappa * (met.theta_g - y[lay.theta_b]), 0.0)
    # eta' = 1.5 a^2 (rho + p) theta / k^2 has coefficients ~ 1/(k tau) on super-horizon
    # scales: it is integrated with the stiff part (see implicit_tau), except in the RSA.
    head = jnp.stack([jnp.where(rsa, etap, 0.0), -0.5 * hp, d_delta_b, d_theta_b])
    tail = jnp.where(rsa, 0.0, jnp.concatenate([dF, dG, dN]))
    return jnp.concatenate([head, tail]), met


def _implicit_diagonal(loc: Local, lay: Layout) -> Float[Array, " n"]:
    """Diagonal of the stiff operator (Thomson damping and the closures' -(l_max+1)/tau)."""
    dk = loc.dkappa
    closure = (jnp.zeros(lay.size)
               .at[lay.pol0 - 1].set(lay.l_max_g + 1.0)
               .at[lay.ur0 - 1].set(lay.l_max_pol_g + 1.0)
               .at[lay.size - 1].set(lay.l_max_ur + 1.0)) / loc.tau
    thomson = jnp.zeros(lay.size).at[lay.g0 + 1 : lay.ur0].set(1.0) * dk
    return -(closure + thomson)


def implicit_tau(k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout, rsa=False) -> Float[Array, " n"]:
    """Stiff part of dy/dtau: Thomson scattering and the hierarchy closures (zero in the RSA)."""
    dk = loc.dkappa
    out = _implicit_diagonal(loc, lay) * y
    R = 4.0 * loc.rho_g / (3.0 * loc.rho_b)
    theta_b, F1 = y[lay.theta_b], y[lay.g0 + 1]
    F2, G0, G2 = y[lay.g0 + 2], y[lay.pol0], y[lay.pol0 + 2]
    out = out.at[lay.theta_b].set(R * dk * (0.75 * k * F1 - theta_b))
    out = out.at[lay.g0 + 1].add(4.0 / (3.0 * k) * dk * theta_b)
    out = out.at[lay.g0 + 2].add(0.1 * dk * (F2 + G0 + G2))
    out = out.at[lay.pol0].add(0.5 * dk * (F2 + G0 + G2))
    out = out.at[lay.pol0 + 2].add(0.1 * dk * (F2 + G0 + G2))
    etap = _eta_prime(k, y, loc, lay)
    out = out.at[lay.eta].set(etap)
    out = out.at[lay.g0 + 2].add(1.6 * etap)
    out = out.at[lay.ur0 + 2].add(1.6 * etap)
    return jnp.where(rsa, 0.0, out)


def _eta_prime(k, y, loc, lay):
    """eta' = 1.5 a^2 (rho + p) theta / k^2 from the state (outside the RSA)."""
    rho_plus_p_theta = k * (loc.rho_g * y[lay.g0 + 1] + loc.rho_ur * y[lay.ur0 + 1]) + loc.rho_b * y[lay.theta_b]
    return 1.5 * loc.a**2 * rho_plus_p_theta / (k * k)


def implicit_solve_tau(
    k: Float[Array, ""], loc: Local, lay: Layout, c: Float[Array, ""], r: Float[Array, " n"], rsa=False
) -> Float[Array, " n"]:
    """Solve ``(1 - c I) Y = r`` for the stiff operator ``I`` of :func:`implicit_tau` (c in Mpc).

    ``I`` is diagonal except for two blocks, (theta_b, F_1) and (F_2, G_0, G_2), solved in
    closed form, and the eta row, which only depends on (theta_b, F_1, N_1): a
    block-triangular system; eta' also sources F_2 and N_2 (8/5 eta').
    """
    dk = loc.dkappa
    Y = r / (1.0 - c * _implicit_diagonal(loc, lay))
    # (theta_b, F_1): determinant 1 + c dk (1 + R)
    R = 4.0 * loc.rho_g / (3.0 * loc.rho_b)
    cR, ck = c * R * dk, c * dk
    det = 1.0 + ck + cR
    r_t, r_1 = r[lay.theta_b], r[lay.g0 + 1]
    Y = Y.at[lay.theta_b].set(((1.0 + ck) * r_t + cR * 0.75 * k * r_1) / det)
    Y = Y.at[lay.g0 + 1].set(((1.0 + cR) * r_1 + ck * 4.0 / (3.0 * k) * r_t) / det)
    # (F_2, G_0, G_2): M = 1 - c dk B with B = [[-0.9, 0.1, 0.1], [0.5, -0.5, 0.5], [0.1, 0.1, -0.9]]
    x = ck
    M = jnp.array([[1.0 + 0.9 * x, -0.1 * x, -0.1 * x],
                   [-0.5 * x, 1.0 + 0.5 * x, -0.5 * x],
                   [-0.1 * x, -0.1 * x, 1.0 + 0.9 * x]])
    # eta' depends only on (theta_b, F_1, N_1), already solved (N_1 has no stiff term)
    c_etap = c * _eta_prime(k, Y, loc, lay)
    Y = Y.at[lay.eta].set(r[lay.eta] + c_etap)
    Y = Y.at[lay.ur0 + 2].set(Y[lay.ur0 + 2] + 1.6 * c_etap / (1.0 - c * _implicit_diagonal(loc, lay)[lay.ur0 + 2]))
    rhs3 = jnp.stack([r[lay.g0 + 2] + 1.6 * c_etap, r[lay.pol0], r[lay.pol0 + 2]])
    sol3 = _solve3(M, rhs3)
    Y = Y.at[lay.g0 + 2].set(sol3[0]).at[lay.pol0].set(sol3[1]).at[lay.pol0 + 2].set(sol3[2])
    return jnp.where(rsa, r, Y)


def _solve3(M, b):
    """Cramer's rule for a 3x3 system (well conditioned here: 1 - M/x is an M-matrix)."""

    def det3(m):
        return (m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
                - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
                + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]))

    det = det3(M)
    return jnp.stack([det3(M.at[:, j].set(b)) for j in range(3)]) / det


def derivatives_tau(
    k: Float[Array, ""], y: Float[Array, " n"], loc: Local, lay: Layout, rsa=False
) -> tuple[Float[Array, " n"], Metric]:
    """Full dy/dtau of one mode, and the metric quantities used to build it."""
    dy_e, met = explicit_tau(k, y, loc, lay, rsa)
    return dy_e + implicit_tau(k, y, loc, lay, rsa), met


def vector_field(loga, y, args):
    """dy/dln a for ``args = (k, bg, th, layout)`` (exact background, for tests)."""
    k, bg, th, lay = args
    loc = local_quantities(bg, th, loga)
    dy, _ = derivatives_tau(k, y, loc, lay)
    return dy / loc.aH
