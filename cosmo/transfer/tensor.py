"""Line-of-sight transfer functions of the tensor modes (flat space, CLASS ``transfer.c``).

With ``x = k (tau0 - tau)`` and the sources ``t2``, ``p`` of :mod:`cosmo.perturbations.tensor`:

* ``Delta^T_l = sqrt(3/8 (l+2)(l+1) l (l-1)) int dtau t2 j_l(x) / x^2``,
* ``Delta^E_l = int dtau p (j_l'' + 4 j_l'/x + (2/x^2 - 1) j_l) / 4``,
* ``Delta^B_l = int dtau p (j_l' + 2 j_l/x) / 2``

(trapezoid in tau). The tensor sources are stored directly at the quadrature nodes of the
scalar line of sight (:func:`~cosmo.transfer.transfer.quadrature_loga`), with no interpolation
in time. Late in the evolution ``h'`` oscillates in k with period 2 pi / tau, so at low k (the low
multipoles, which these late sources make) the modes are evolved at every k node of the C_l
integral (:func:`tensor_k_grid`); above ``tensor_k_low_end`` the sources of sparser modes
(:func:`tensor_modes`) are splined in k, as CLASS does for every k.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..background import Background
from ..interpolation import natural_spline_matrix, trapezoid_weights
from ..params import CosmoParams
from ..perturbations.perturbations import Perturbations
from ..perturbations.tensor import TENSOR_SOURCE_TYPES, compute_tensor_perturbations
from ..precision import Precision
from ..thermodynamics import Thermodynamics
from .bessel import bessel_table
from .transfer import _TAU0_FID, _log_then_linear, l_sampling, quadrature_loga

__all__ = ["TensorTransfer", "tensor_k_grid", "tensor_modes", "tensor_perturbations", "compute_tensor_transfer"]


def tensor_k_grid(prec: Precision, l_max_tensors: int) -> np.ndarray:
    """Wavenumbers [1/Mpc] of the tensor transfer functions and of their C_l integral
    (parameter independent)."""
    k_max = prec.tensor_k_max_over_l * l_max_tensors / _TAU0_FID
    return _log_then_linear(prec.tensor_k_min, k_max, prec.tensor_k_per_decade, prec.tensor_k_step)


def tensor_modes(prec: Precision, l_max_tensors: int) -> np.ndarray:
    """Wavenumbers [1/Mpc] of the evolved tensor modes: :func:`tensor_k_grid` up to
    ``tensor_k_low_end``, then every ``tensor_mode_step`` (ending on the grid's last k)."""
    kq = tensor_k_grid(prec, l_max_tensors)
    low = kq[kq <= prec.tensor_k_low_end]
    if len(low) == len(kq):
        return kq
    n = max(1, int(np.ceil((kq[-1] - low[-1]) / prec.tensor_mode_step)))
    return np.concatenate([low, np.linspace(low[-1], kq[-1], n + 1)[1:]])


def tensor_perturbations(
    cp: CosmoParams, bg: Background, th: Thermodynamics, prec: Precision, l_max_tensors: int
) -> Perturbations:
    """Tensor sources of :func:`tensor_modes` at the line-of-sight quadrature nodes."""
    return compute_tensor_perturbations(cp, bg, th, prec, tensor_modes(prec, l_max_tensors), quadrature_loga(prec))


class TensorTransfer(eqx.Module):
    """Tensor transfer functions ``t, e, b [i_l, i_k]`` at the multipoles ``l`` and wavenumbers ``k``."""

    l: tuple[int, ...] = eqx.field(static=True)  #: sampled multipoles (beyond l_max: the spline's end)
    l_max: int = eqx.field(static=True)  #: CLASS's l_max_tensors: the tensor C_l vanish above it
    k: Float[Array, " n_k"]
    t: Float[Array, "n_l n_k"]
    e: Float[Array, "n_l n_k"]
    b: Float[Array, "n_l n_k"]


def compute_tensor_transfer(
    pert: Perturbations, bg: Background, prec: Precision, l_max_tensors: int
) -> TensorTransfer:
    """Line-of-sight integrals of the tensor sources ``pert`` (from :func:`tensor_perturbations`
    for the same ``l_max_tensors``) at the multipoles :func:`~cosmo.transfer.l_sampling` up to
    ``l_max_tensors + tensor_l_margin`` (a natural spline in l is poor in its last interval:
    without the margin TE was off by 7e-3 of sqrt(TT EE) at l = 490)."""
    ks = tensor_modes(prec, l_max_tensors)
    if pert.k.shape != ks.shape:
        raise ValueError("the tensor sources must come from tensor_perturbations(..., l_max_tensors) for the same l_max")
    kq = tensor_k_grid(prec, l_max_tensors)
    M_k = jnp.asarray(natural_spline_matrix(tuple(ks), tuple(kq)))
    ls = l_sampling(prec, l_max_tensors + prec.tensor_l_margin)
    table = bessel_table(ls, prec.bessel_dx, float(kq[-1]) * prec.bessel_chi_max, tensor=True)
    tau = bg.conformal_time_loga(pert.loga)
    tau0 = eqx.error_if(
        bg.conformal_age, bg.conformal_age > prec.bessel_chi_max,
        "the conformal age exceeds Precision.bessel_chi_max (the end of the Bessel tables): raise it",
    )
    chi = jnp.maximum(tau0 - tau, 0.0)
    w = trapezoid_weights(tau)
    s_t = (M_k @ pert.sources[:, TENSOR_SOURCE_TYPES.index("t2"), :]) * w[None, :]
    s_p = (M_k @ pert.sources[:, TENSOR_SOURCE_TYPES.index("p"), :]) * w[None, :]
    k = jnp.asarray(kq)
    x = k[:, None] * chi[None, :]

    @jax.checkpoint
    def one_l(il):
        ll = table.l[il].astype(chi.dtype)
        r = table.radial(il, x)
        t_factor = jnp.sqrt(0.375 * (ll + 2.0) * (ll + 1.0) * ll * (ll - 1.0))
        return (
            t_factor * jnp.sum(s_t * r[..., 0], axis=1), jnp.sum(s_p * r[..., 1], axis=1),
            jnp.sum(s_p * r[..., 2], axis=1),
        )

    t, e, b = jax.lax.map(one_l, jnp.arange(len(ls)))
    return TensorTransfer(l=tuple(int(v) for v in ls), l_max=int(l_max_tensors), k=k, t=t, e=e, b=b)
