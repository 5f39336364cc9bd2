"""Angular power spectra from the transfer functions (CLASS ``harmonic.c`` conventions).

``C_l^{XY} = 4 pi int dk/k P_R(k) Delta^X_l(k) Delta^Y_l(k)`` (the transfer's weights ``dk``: the
trapezoid in the variable in which the transfer k grid is uniform; phi-phi on its extended lensing
grid), computed at the sampled multipoles and splined in l (quintic spline of
``l(l+1) C_l``, and of the flatter ``[l(l+1)]^2 C_l`` for phi-phi) to every l: a cubic spline at
the default sampling (steps 1.12 / 20) was off by up to 3e-4 in EE, 1e-4 in TE and 4e-5 in TT
between the sampled multipoles (systematically low on the peaks), the quintic by < 4e-6. C_l are dimensionless (temperature in units of T_cmb), like
classy's ``raw_cl``: keys ``tt, ee, te, bb, pp, tp``; ``pp`` is the lensing potential.

Tensor modes (:func:`compute_tensor_cl`): ``C_l = 4 pi int dk/k P_h(k) Delta^X_l Delta^Y_l`` for
TT, EE, TE and BB, with the tensor primordial spectrum; they vanish above CLASS's
``l_max_tensors``. The total spectra are the sums (:meth:`AngularSpectra.__add__`), as classy's.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .interpolation import natural_spline_matrix, quintic_spline_matrix, trapezoid_weights
from .params import CosmoParams
from .primordial import primordial_scalar, primordial_tensor
from .transfer import Transfer
from .transfer.tensor import TensorTransfer

__all__ = ["AngularSpectra", "compute_cl", "compute_tensor_cl"]

_PAIRS = {"tt": ("t", "t"), "ee": ("e", "e"), "te": ("t", "e"), "pp": ("phi", "phi"), "tp": ("t", "phi")}


class AngularSpectra(eqx.Module):
    """Unlensed C_l for ``l = 0 .. l_max`` (zero for l < 2), dimensionless (``bb``: tensor modes
    only; ``pp``, ``tp``: scalar modes only)."""

    ell: Float[Array, " n"]
    tt: Float[Array, " n"]
    ee: Float[Array, " n"]
    te: Float[Array, " n"]
    bb: Float[Array, " n"]
    pp: Float[Array, " n"]
    tp: Float[Array, " n"]

    def as_dict(self) -> dict[str, Array]:
        return {"ell": self.ell, "tt": self.tt, "ee": self.ee, "te": self.te, "bb": self.bb, "pp": self.pp,
                "tp": self.tp}

    def __add__(self, other: "AngularSpectra") -> "AngularSpectra":
        """Sum of two spectra of the same length (e.g. scalar + tensor modes)."""
        a, b = self.as_dict(), other.as_dict()
        return AngularSpectra(ell=self.ell, **{key: a[key] + b[key] for key in a if key != "ell"})

    def truncate(self, l_max: int) -> "AngularSpectra":
        """The spectra for ``l = 0 .. l_max``."""
        n = int(l_max) + 1
        return AngularSpectra(**{key: value[:n] for key, value in self.as_dict().items()})


def compute_cl(cp: CosmoParams, tr: Transfer, l_max: int) -> AngularSpectra:
    """C_l for ``l <= l_max`` from the transfer functions ``tr`` (computed for the same ``l_max``)."""

    def weight(k, dk):
        dk = trapezoid_weights(k) if dk is None else dk
        return 4.0 * math.pi * dk / k * primordial_scalar(cp, k)

    n_k = tr.k.shape[0]
    transfers = {"t": tr.t, "e": tr.e, "phi": tr.phi[:, :n_k]}
    ls = np.asarray(tr.l)
    ell = np.arange(l_max + 1)
    M = jnp.asarray(quintic_spline_matrix(tuple(ls.astype(float)), tuple(ell[2:].astype(float))))
    fac_s = jnp.asarray(ls * (ls + 1.0))
    out = {}
    for key, (a, b) in _PAIRS.items():
        if key == "pp":  # the lensing potential alone extends to higher k
            cl_s = jnp.sum(weight(tr.k_phi, tr.dk_phi)[None, :] * tr.phi**2, axis=1)
        else:
            cl_s = jnp.sum(weight(tr.k, tr.dk)[None, :] * transfers[a] * transfers[b], axis=1)
            if tr.k_fine is not None and key != "tp":  # the low multipoles on the refined k grid
                fine = {"t": tr.t_fine, "e": tr.e_fine}
                n_f = tr.t_fine.shape[0]
                cl_f = jnp.sum(weight(tr.k_fine, tr.dk_fine)[None, :] * fine[a] * fine[b], axis=1)
                cl_s = jnp.concatenate([cl_f, cl_s[n_f:]])
        power = 2 if key == "pp" else 1  # splined: l(l+1) C_l, [l(l+1)]^2 C_l^pp (nearly flat)
        cl = (M @ (fac_s**power * cl_s)) / (ell[2:] * (ell[2:] + 1.0)) ** power
        out[key] = jnp.concatenate([jnp.zeros(2), cl])
    out["bb"] = jnp.zeros(l_max + 1)
    return AngularSpectra(ell=jnp.asarray(ell, dtype=float), **out)


def compute_tensor_cl(cp: CosmoParams, tr: TensorTransfer, l_max: int) -> AngularSpectra:
    """Tensor-mode C_l^TT, EE, TE, BB for ``l <= l_max`` (zero above the transfer functions'
    largest multipole, CLASS's ``l_max_tensors``) from the tensor transfer functions ``tr``."""
    w = 4.0 * math.pi * trapezoid_weights(tr.k) / tr.k * primordial_tensor(cp, tr.k)
    ls = np.asarray(tr.l)
    l_top = tr.l_max
    ell = np.arange(l_max + 1)
    l_out = ell[2 : min(l_max, l_top) + 1]
    M = jnp.asarray(natural_spline_matrix(tuple(ls.astype(float)), tuple(l_out.astype(float))))
    fac = jnp.asarray(ls * (ls + 1.0))
    out = {}
    for key, (a, b) in {"tt": ("t", "t"), "ee": ("e", "e"), "te": ("t", "e"), "bb": ("b", "b")}.items():
        cl_s = jnp.sum(w[None, :] * getattr(tr, a) * getattr(tr, b), axis=1)
        cl = (M @ (fac * cl_s)) / (l_out * (l_out + 1.0))
        out[key] = jnp.concatenate([jnp.zeros(2), cl, jnp.zeros(l_max + 1 - 2 - len(l_out))])
    zeros = jnp.zeros(l_max + 1)
    return AngularSpectra(ell=jnp.asarray(ell, dtype=float), pp=zeros, tp=zeros, **out)
