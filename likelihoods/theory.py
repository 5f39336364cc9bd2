"""The theory interface: what a likelihood needs, and the arrays a theory code hands over.

A likelihood never knows which code produced its theory (our solver, classy, CAMB, a file):
it declares :class:`Requirements` and reads a :class:`Theory`.

Units and conventions (stated once, kept everywhere in ``likelihoods``):

* CMB spectra ``tt, te, ee, bb``: D_l = l (l + 1) C_l / (2 pi) in muK^2, indexed by l from 0
  (entries l = 0, 1 are ignored), *lensed* unless a likelihood says otherwise.
* Lensing potential ``pp``: [l (l + 1)]^2 C_l^{phi phi} / (2 pi), dimensionless, indexed from 0
  (CAMB's and Cobaya's convention); the convergence spectrum is
  C_l^{kappa kappa} = [l (l + 1)]^2 C_l^{phi phi} / 4 = pp * pi / 2.
* Background at the requested redshifts: ``D_M`` (transverse comoving distance) and ``D_H``
  (= c / H(z)) in Mpc; ``r_drag`` (sound horizon at the baryon drag epoch) in Mpc.
* Cosmological parameters a likelihood reads directly (e.g. ``tau_reio`` for a tau prior)
  come in the parameter dict, with CLASS names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

#: CMB spectrum keys of :attr:`Theory.cl`.
CMB_KEYS = ("tt", "te", "ee", "bb")
#: All spectrum keys a likelihood may require.
CL_KEYS = (*CMB_KEYS, "pp")


@dataclasses.dataclass(frozen=True)
class Requirements:
    """What a likelihood needs from the theory.

    ``cl``: spectrum key -> highest multipole needed; ``z``: redshifts at which ``D_M`` and
    ``D_H`` are needed; ``r_drag``: whether the drag-epoch sound horizon is needed;
    ``params``: cosmological parameters read directly from the parameter dict.
    """

    cl: Mapping[str, int] = dataclasses.field(default_factory=dict)
    z: tuple[float, ...] = ()
    r_drag: bool = False
    params: tuple[str, ...] = ()

    def __post_init__(self):
        unknown = set(self.cl) - set(CL_KEYS)
        if unknown:
            raise ValueError(f"unknown spectra {sorted(unknown)}; known: {CL_KEYS}")

    def merge(self, other: Requirements) -> Requirements:
        cl = dict(self.cl)
        for key, l_max in other.cl.items():
            cl[key] = max(cl.get(key, 0), l_max)
        return Requirements(cl=cl, z=tuple(sorted(set(self.z) | set(other.z))), r_drag=self.r_drag or other.r_drag,
                            params=tuple(sorted(set(self.params) | set(other.params))))

    @property
    def l_max(self) -> int:
        return max(self.cl.values(), default=0)

    @classmethod
    def union(cls, items: Iterable[Requirements]) -> Requirements:
        out = cls()
        for item in items:
            out = out.merge(item)
        return out


class Theory(eqx.Module):
    """Theory spectra and background quantities (units in the module docstring).

    Every field is optional (``None`` when not computed); ``z`` is static so that likelihoods
    can locate their redshifts at trace time. A pytree: ``jax.vmap`` over a batch of theories
    works by stacking the arrays.
    """

    cl: dict[str, Float[Array, " l"]] = eqx.field(default_factory=dict)
    D_M: Float[Array, " nz"] | None = None
    D_H: Float[Array, " nz"] | None = None
    r_drag: Float[Array, ""] | None = None
    z: tuple[float, ...] = eqx.field(static=True, default=())

    def spectrum(self, key: str, l_max: int) -> Float[Array, " l"]:
        """``cl[key]`` for l = 0..l_max, with a clear error when missing or too short."""
        if key not in self.cl:
            raise KeyError(f"theory has no {key!r} spectrum (has {sorted(self.cl)}); the likelihood needs it "
                           f"up to l = {l_max}")
        arr = self.cl[key]
        if arr.shape[-1] < l_max + 1:
            raise ValueError(f"theory {key!r} spectrum stops at l = {arr.shape[-1] - 1}; the likelihood needs "
                             f"l = {l_max}")
        return arr[..., : l_max + 1]

    def z_index(self, z: Iterable[float]) -> np.ndarray:
        """Positions of the redshifts ``z`` in :attr:`z` (error if one was not computed)."""
        zs = np.asarray(self.z, dtype=float)
        out = []
        for zi in z:
            hit = np.nonzero(np.isclose(zs, zi, rtol=0.0, atol=1.0e-9))[0]
            if hit.size == 0:
                raise ValueError(f"theory has no background quantities at z = {zi} (has z = {self.z})")
            out.append(int(hit[0]))
        return np.asarray(out, dtype=int)


def theory_from_cls(cls: Mapping[str, object], **kwargs) -> Theory:
    """A :class:`Theory` from a dict of arrays in the units above (float64 JAX arrays)."""
    return Theory(cl={key: jnp.asarray(value, dtype=jnp.float64) for key, value in cls.items()}, **kwargs)
