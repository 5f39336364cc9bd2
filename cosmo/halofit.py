"""Non-linear matter power spectrum: Halofit with the Takahashi et al. 2012 revision
(arXiv:1208.2701) and the Bird, Viel & Haehnelt 2012 massive-neutrino terms, as CLASS's
``non_linear = halofit`` (external/Halofit/halofit.c of CLASS 3.3).

At each redshift, from the linear ``Delta^2(k) = k^3 P(k) / (2 pi^2)`` (total matter):

    sigma^2(R) = int dln k Delta^2(k) exp(-k^2 R^2),   sigma(1 / k_nl) = 1,
    n_eff = -3 - d ln sigma^2 / d ln R,   C = - d^2 ln sigma^2 / d ln R^2   at R = 1 / k_nl,

with the integrals on a fixed logarithmic k grid over the computed range (CLASS: its P(k)
table, ``halofit_k_per_decade`` = 80 points per decade). k_nl is found by Newton's method on
ln sigma^2(ln R) with an implicit-function derivative (optimistix). Where sigma(R_min) < 1 even
at the smallest R the k range allows (high z: the non-linear scale is beyond k_max), the
spectrum is left linear, as CLASS does. Omega_m(z), Omega_v(z) = 1 - Omega_m - Omega_r and
w(z) come from the background; f_nu = Omega_ncdm / Omega_m today. Units: k [1/Mpc], P [Mpc^3].
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, Float

from .background import Background
from .fourier import MatterPower
from .interpolation import natural_spline_matrix, natural_spline_second_derivatives, spline_eval
from .params import CosmoParams
from .perturbations import Perturbations
from .precision import Precision
from .primordial import primordial_scalar

__all__ = ["halofit", "halofit_ratio", "lensing_potential_correction", "nonlinear_scale"]

#: Points per decade of the sigma(R) integrals (CLASS halofit_k_per_decade).
K_PER_DECADE = 80
#: Below this k [1/Mpc] the spectrum is linear (CLASS halofit_min_k_nonlinear).
K_MIN_NONLINEAR = 1.0e-4
#: The integral is trusted down to R_min with exp(-(k_max R_min)^2) = SIGMA_PRECISION
#: (CLASS halofit_sigma_precision).
SIGMA_PRECISION = 0.05


def _integration_grid(k_min: float, k_max: float) -> tuple[np.ndarray, np.ndarray]:
    """ln k nodes (K_PER_DECADE per decade over the computed k range) and trapezoid weights in ln k."""
    n = round(K_PER_DECADE * math.log10(k_max / k_min))
    lnk = np.linspace(math.log(k_min), math.log(k_max), n + 1)
    w = np.full(n + 1, lnk[1] - lnk[0])
    w[[0, -1]] *= 0.5
    return lnk, w


def _moments(lnk, w, delta2, lnR):
    """sigma^2 and CLASS's two further Gaussian-window integrals at R = exp(lnR)."""
    x2 = jnp.exp(2.0 * (lnk + lnR))
    e = w * delta2 * jnp.exp(-x2)
    return jnp.sum(e), jnp.sum(e * 2.0 * x2), jnp.sum(e * 4.0 * x2 * (1.0 - x2))


def nonlinear_scale(lnk, w, delta2) -> tuple[Float[Array, ""], Float[Array, ""], Float[Array, ""], Float[Array, ""]]:
    """(k_nl [1/Mpc], n_eff, C, computable) for a linear Delta^2 on the nodes ``lnk`` (weights ``w``)."""
    lnR_min = 0.5 * math.log(-math.log(SIGMA_PRECISION)) - lnk[-1]
    lnR_max = -math.log(K_MIN_NONLINEAR)
    computable = _moments(lnk, w, delta2, lnR_min)[0] >= 1.0
    # starting point: the node of a coarse (static) scan where ln sigma^2 is closest to zero
    scan = jnp.linspace(lnR_min, lnR_max, 64)
    ls = jax.vmap(lambda r: jnp.log(_moments(lnk, w, delta2, r)[0]))(scan)
    guess = scan[jnp.argmin(jnp.abs(ls))]

    def residual(lnR, _):
        return jnp.log(_moments(lnk, w, delta2, lnR)[0])

    lnR = optx.root_find(residual, optx.Newton(rtol=1e-12, atol=1e-12), guess, max_steps=64, throw=False,
                         adjoint=optx.ImplicitAdjoint()).value
    lnR = jnp.where(computable, lnR, lnR_min)
    s1, s2, s3 = _moments(lnk, w, delta2, lnR)
    d1 = -s2 / s1
    d2 = -(s2 / s1) ** 2 - s3 / s1
    return jnp.exp(-lnR), -3.0 - d1, -d2, computable


def halofit_ratio(
    bg: Background, k_range: tuple[float, float], loga: Float[Array, ""], lnk_nodes: Float[Array, " m"],
    lnP_nodes: Float[Array, " m"], k: Float[Array, " n"],
) -> Float[Array, " n"]:
    """P_nl / P_lin at wavenumbers ``k`` [1/Mpc] and ln a = ``loga`` for a linear spectrum given as
    ln P [Mpc^3] on the nodes ``lnk_nodes`` (natural cubic spline in ln k in between); the sigma(R)
    integrals run over ``k_range`` (static, inside the nodes)."""
    y2 = natural_spline_second_derivatives(lnk_nodes, lnP_nodes)

    def delta2(kk):
        return kk**3 * jnp.exp(spline_eval(jnp.log(kk), lnk_nodes, lnP_nodes, y2)) / (2.0 * math.pi**2)

    lnk_int, w = (jnp.asarray(a) for a in _integration_grid(*k_range))
    k_nl, rneff, rncur, computable = nonlinear_scale(lnk_int, w, delta2(jnp.exp(lnk_int)))

    d = bg.densities(loga)
    H2 = bg.hubble_loga(loga) ** 2
    Omega_m = (d["rho_b"] + d["rho_cdm"] + d["rho_ncdm"] - 3.0 * d["p_ncdm"]) / H2
    Omega_r = (d["rho_g"] + d["rho_ur"] + 3.0 * d["p_ncdm"]) / H2
    Omega_v = 1.0 - Omega_m - Omega_r
    w_de = bg.w0_fld + bg.wa_fld * (1.0 - jnp.exp(loga))
    fnu = jnp.sum(bg.Omega0_ncdm) / bg.Omega0_m

    n, C = rneff, rncur
    gam = 0.1971 - 0.0843 * n + 0.8460 * C
    a = 10.0 ** (1.5222 + 2.8553 * n + 2.3706 * n**2 + 0.9903 * n**3 + 0.2250 * n**4 - 0.6038 * C
                 + 0.1749 * Omega_v * (1.0 + w_de))
    b = 10.0 ** (-0.5642 + 0.5864 * n + 0.5716 * n**2 - 1.5474 * C + 0.2279 * Omega_v * (1.0 + w_de))
    c = 10.0 ** (0.3698 + 2.0404 * n + 0.8161 * n**2 + 0.5869 * C)
    nu = 10.0 ** (5.2105 + 3.6902 * n)
    alpha = jnp.abs(6.0835 + 1.3373 * n - 0.1959 * n**2 - 5.5274 * C)
    beta = (2.0379 - 0.7354 * n + 0.3157 * n**2 + 1.2490 * n**3 + 0.3980 * n**4 - 0.1682 * C
            + fnu * (1.081 + 0.395 * n**2))
    frac = Omega_v / (1.0 - Omega_m)
    evolve = jnp.abs(1.0 - Omega_m) > 0.01
    f1 = jnp.where(evolve, frac * Omega_m**-0.0307 + (1 - frac) * Omega_m**-0.0732, 1.0)
    f2 = jnp.where(evolve, frac * Omega_m**-0.0585 + (1 - frac) * Omega_m**-0.1423, 1.0)
    f3 = jnp.where(evolve, frac * Omega_m**0.0743 + (1 - frac) * Omega_m**0.0725, 1.0)

    delta2_lin = delta2(k)
    y = k / k_nl
    delta2_halo = a * y ** (3.0 * f1) / (1.0 + b * y**f2 + (f3 * c * y) ** (3.0 - gam))
    delta2_halo = delta2_halo / (1.0 + nu * y**-2) * (1.0 + 0.977 * fnu)
    kh2 = (k / bg.h) ** 2  # the Bird et al. term is fitted in h/Mpc
    delta2_aa = delta2_lin * (1.0 + fnu * 47.48 * kh2 / (1.0 + 1.5 * kh2))
    delta2_quasi = delta2_lin * (1.0 + delta2_aa) ** beta / (1.0 + alpha * delta2_aa) * jnp.exp(-y / 4.0 - y**2 / 8.0)
    ratio = (delta2_halo + delta2_quasi) / delta2_lin
    return jnp.where(computable & (k > K_MIN_NONLINEAR), ratio, 1.0)


def halofit(
    pk: MatterPower, bg: Background, prec: Precision, k: Float[Array, " n"], z: Float[Array, ""]
) -> Float[Array, " n"]:
    """Halofit P_nl(k, z) [Mpc^3] at wavenumbers ``k`` [1/Mpc] inside the computed range."""
    k = jnp.asarray(k)
    lnP_nodes = jnp.log(pk(jnp.exp(pk.lnk), z))  # P(k, z) on the computed modes
    k_range = (prec.pk_k_min, prec.pk_k_max)
    return pk(k, z) * halofit_ratio(bg, k_range, -jnp.log1p(z), pk.lnk, lnP_nodes, k)


#: Non-linear corrections of the lensing potential are computed below this redshift (above it
#: k_nl lies beyond every k of the lensing modes and Halofit leaves the spectrum linear anyway).
LENSING_Z_MAX = 15.0


def lensing_potential_correction(
    cp: CosmoParams, pert: Perturbations, bg: Background, k_modes: np.ndarray, loga_sources: np.ndarray,
    k: np.ndarray, loga: np.ndarray,
) -> Float[Array, "n_k n_t"]:
    """sqrt(P_nl / P_lin) at wavenumbers ``k`` and times ``loga`` from the delta_m source of the
    C_l modes ``pert`` (computed at ``k_modes`` and ``loga_sources``; all grids static): the
    factor CLASS (``non_linear`` with lensing) applies to the Weyl-potential source of the
    lensing potential."""
    late = np.flatnonzero(np.exp(-np.asarray(loga)) - 1.0 <= LENSING_Z_MAX)
    M_t = jnp.asarray(natural_spline_matrix(tuple(loga_sources), tuple(np.asarray(loga)[late])))
    delta_m = pert.source("delta_m") @ M_t.T  # (n_modes, n_late)
    kk = jnp.asarray(k_modes)[:, None]
    lnP = jnp.log(2.0 * math.pi**2 / kk**3 * primordial_scalar(cp, kk) * delta_m**2)
    lnk_nodes = jnp.asarray(np.log(k_modes))
    k_range = (float(k_modes[0]), float(k_modes[-1]))
    ratio = jax.vmap(lambda la, lp: halofit_ratio(bg, k_range, la, lnk_nodes, lp, jnp.asarray(k)), in_axes=(0, 1),
                     out_axes=1)(jnp.asarray(np.asarray(loga)[late]), lnP)
    return jnp.ones((len(k), len(loga))).at[:, late].set(jnp.sqrt(ratio))
