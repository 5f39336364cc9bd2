"""``cosmo.Class``: a drop-in for classy's ``Class`` object (the methods implemented so far).

A script written for classy runs unchanged::

    from cosmo import Class          # instead of: from classy import Class
    M = Class()
    M.set({"omega_b": 0.02237, "omega_cdm": 0.12, "h": 0.6736, "tau_reio": 0.0544})
    M.compute()
    M.angular_distance(1.0), M.get_current_derived_parameters(["z_star", "100*theta_s"])

Units and return types follow classy: plain Python floats, distances in Mpc,
``Hubble`` in 1/Mpc, ages in Gyr. The facade is a thin object over the pure
functions of :mod:`cosmo.solver`; nothing in the physics depends on it.

Spectra follow classy's ``output`` key: ``tCl``/``pCl``/``lCl`` enable ``raw_cl(lmax)``
(unlensed, dimensionless, up to ``l_max_scalars``, default 2500); with ``lensing = 'yes'``
also ``lensed_cl(lmax)`` (up to ``l_max_scalars``; ``raw_cl`` then reaches
``l_max_scalars + delta_l_max``, the unlensed multipoles that enter the lensing), ``mPk`` enables
``pk_lin(k, z)`` [Mpc^3, k in 1/Mpc], ``pk(k, z)`` (Halofit with ``non_linear = 'halofit'``)
and ``sigma8()``. They are computed on their first
request (the perturbations take minutes on a CPU) and cached until the next ``set``.

Tensor modes follow classy's ``modes``: with ``'s,t'`` the spectra include primordial
gravitational waves of amplitude ``r`` (CLASS's default 1 when not given; ``n_t``, ``alpha_t``
default to the slow-roll relations), up to ``l_max_tensors`` (default 500); ``raw_cl`` then
has the tensor BB.

Differences from classy, for now: the default recombination is RECFAST (classy's default is
HyRec; give ``recombination`` = ``'HyRec'`` for CLASS's default model, HyRec 2020's SWIFT rates, or
``'RECFAST'`` on both sides); spectra for flat space with
massive or massless neutrinos (LCDM or a w0wa fluid), scalar (+ tensor) modes. classy's other
run-control keys (``*_verbose``, ...) are accepted and stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from .params import CosmoParameterError, resolve
from .precision import Precision, get_precision
from .solver import L_MAX_TENSORS, PK_DERIVED, Solution, derived_parameters, solve

#: classy's default ``l_max_scalars``.
DEFAULT_L_MAX_SCALARS = 2500

__all__ = ["Class", "CosmoError", "CosmoSevereError", "CosmoComputationError"]


class CosmoError(Exception):
    """Base class of the facade's errors (same names as classy's)."""


class CosmoSevereError(CosmoError):
    """Bad input or a call that cannot be answered (classy name)."""


class CosmoComputationError(CosmoError):
    """The computation failed for these parameters (classy name)."""


#: classy keys that control what CLASS computes or prints; accepted, not physics.
RUN_CONTROL_KEYS = frozenset(
    {
        "output", "modes", "lensing", "l_max_scalars", "l_max_tensors", "l_max_lss", "P_k_max_h/Mpc",
        "P_k_max_1/Mpc", "z_pk", "z_max_pk", "non_linear", "format", "headers", "write_background",
        "write_thermodynamics", "root", "overwrite_root", "k_output_values", "reionization_optical_depth_tol",
    }
)


def _is_run_control(key: str) -> bool:
    return key in RUN_CONTROL_KEYS or key.endswith("_verbose")


def _to_number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


class Class:
    """classy-compatible cosmology object backed by the JAX solver."""

    def __init__(self, precision: Precision | str | None = None) -> None:
        self._prec = get_precision(precision)
        self._pars: dict[str, Any] = {}
        self._sol: Solution | None = None
        self._cp = None
        self._spectra: dict[str, Solution] = {}

    # ------------------------------------------------------------------ input
    def set(self, *args: Mapping[str, Any], **kwargs: Any) -> bool:
        """Add parameters (a dict and/or keyword arguments), as ``classy.Class.set``."""
        for d in args:
            if not isinstance(d, Mapping):
                raise CosmoSevereError(f"set() takes dicts of parameters, got {type(d).__name__}")
            self._pars.update(d)
        self._pars.update(kwargs)
        self.struct_cleanup()
        return True

    def pars(self) -> dict[str, Any]:
        return dict(self._pars)

    def empty(self) -> None:
        """Forget all parameters and results."""
        self._pars = {}
        self.struct_cleanup()

    def struct_cleanup(self) -> None:
        """Free the computed structures (parameters are kept), as classy."""
        self._sol = None
        self._spectra = {}

    def _modes(self) -> set[str]:
        modes = {m.strip() for m in str(self._pars.get("modes", "s")).split(",") if m.strip()}
        if not modes <= {"s", "t"} or "s" not in modes:
            raise CosmoSevereError(f"modes = {self._pars.get('modes')!r}: only 's' and 's,t' are implemented")
        return modes

    def _physics_params(self) -> dict[str, Any]:
        phys: dict[str, Any] = {}
        for key, value in self._pars.items():
            if _is_run_control(key):
                continue
            if key == "recombination":
                phys[key] = str(value).lower()
                continue
            phys[key] = _to_number(value)
        tensor_keys = sorted({"r", "n_t", "alpha_t"} & set(phys))
        if "t" in self._modes():
            phys.setdefault("r", 1.0)  # CLASS's default tensor-to-scalar ratio
        elif tensor_keys:  # classy: "Class did not read input parameter(s)"
            raise CosmoSevereError(f"{tensor_keys} given without tensor modes: set 'modes': 's,t'")
        return phys

    def compute(self, level: Sequence[str] | None = None) -> None:
        """Run the solver (background and thermodynamics so far)."""
        try:
            cp = resolve(self._physics_params())
        except CosmoParameterError as err:
            raise CosmoSevereError(str(err)) from err
        sol = solve(cp, self._prec)
        if not bool(np.isfinite(float(sol.thermo.z_star))):
            raise CosmoComputationError(f"non-finite result for parameters {self._pars}")
        self._sol = sol
        self._cp = cp

    # ------------------------------------------------------------------ spectra (computed on request)
    def _outputs(self) -> set[str]:
        return {o.strip() for o in str(self._pars.get("output", "")).replace(",", " ").split()}

    def _l_max_scalars(self) -> int:
        return int(float(self._pars.get("l_max_scalars", DEFAULT_L_MAX_SCALARS)))

    def _lensing(self) -> bool:
        value = str(self._pars.get("lensing", "no")).strip().lower()
        if value not in ("yes", "y", "no", "n", "true", "false"):
            raise CosmoSevereError(f"lensing must be 'yes' or 'no', got {self._pars.get('lensing')!r}")
        return value in ("yes", "y", "true")

    def _spectra_solution(self, kind: str) -> Solution:
        _ = self._solution  # raises if compute() was not called
        if kind not in self._spectra:
            try:
                if kind == "cl":
                    self._spectra[kind] = solve(
                        self._cp, self._prec, l_max=self._l_max_scalars(), lensing=self._lensing(),
                        non_linear="halofit" if self._non_linear() else None,
                        l_max_tensors=int(float(self._pars.get("l_max_tensors", L_MAX_TENSORS))),
                    )
                else:
                    self._spectra[kind] = solve(self._cp, self._prec, pk=True)
            except NotImplementedError as err:
                raise CosmoSevereError(str(err)) from err
        return self._spectra[kind]

    def raw_cl(self, lmax: int = -1, nofail: bool = False) -> dict[str, np.ndarray]:
        """Unlensed C_l (dimensionless, l = 0..lmax; classy keys tt, ee, te, bb, pp, tp, ell)."""
        if not self._outputs() & {"tCl", "pCl", "lCl"}:
            raise CosmoSevereError("No Cl computed: add tCl, pCl or lCl to the 'output' parameter")
        sol = self._spectra_solution("cl")
        l_max = int(sol.cl.ell.shape[0]) - 1
        if lmax == -1:
            lmax = l_max
        if lmax > l_max:
            what = "l_max_scalars + delta_l_max" if self._lensing() else "l_max_scalars"
            raise CosmoSevereError(f"Asked for lmax = {lmax}, the maximum l computed is {what} = {l_max}")
        cl = sol.cl.truncate(lmax)
        out = {key: np.asarray(value, dtype=float) for key, value in cl.as_dict().items()}
        out["ell"] = np.arange(lmax + 1)
        return {key: out[key] for key in ("tt", "ee", "te", "bb", "pp", "tp", "ell")}

    def lensed_cl(self, lmax: int = -1, nofail: bool = False) -> dict[str, np.ndarray]:
        """Lensed C_l (dimensionless, l = 0..lmax; classy keys tt, ee, te, bb, pp, tp, ell)."""
        if not self._lensing() or not self._outputs() & {"tCl", "pCl"} or "lCl" not in self._outputs():
            raise CosmoSevereError(
                "No lensed Cl computed: set 'lensing': 'yes' and 'output' with lCl and tCl or pCl"
            )
        l_max = self._l_max_scalars()
        if lmax == -1:
            lmax = l_max
        if lmax > l_max:
            raise CosmoSevereError(f"Asked for lmax = {lmax}, the maximum l computed is l_max_scalars = {l_max}")
        cl = self._spectra_solution("cl").lensed_cl.truncate(lmax)
        out = {key: np.asarray(value, dtype=float) for key, value in cl.as_dict().items()}
        out["ell"] = np.arange(lmax + 1)
        return {key: out[key] for key in ("tt", "ee", "te", "bb", "pp", "tp", "ell")}

    def pk_lin(self, k: float, z: float) -> float:
        """Linear matter power spectrum [Mpc^3] at k [1/Mpc] and redshift z."""
        if "mPk" not in self._outputs():
            raise CosmoSevereError("No P(k) computed: add mPk to the 'output' parameter")
        return self._float(self._spectra_solution("pk").pk_lin(k, z))

    def _non_linear(self) -> bool:
        method = str(self._pars.get("non_linear", "none")).strip().lower()
        if method in ("halofit", "hf"):
            return True
        if method in ("none", "no", "", "linear"):
            return False
        raise CosmoSevereError(f"non_linear = {method!r}: only 'halofit' is implemented (HMcode is not yet)")

    def pk(self, k: float, z: float) -> float:
        """P(k, z) [Mpc^3], k in 1/Mpc: Halofit when ``non_linear = 'halofit'``, else linear (as classy)."""
        if "mPk" not in self._outputs():
            raise CosmoSevereError("No P(k) computed: add mPk to the 'output' parameter")
        non_linear = self._non_linear()
        sol = self._spectra_solution("pk")
        return self._float(sol.pk_nl(k, z) if non_linear else sol.pk_lin(k, z))

    def sigma8(self) -> float:
        """sigma8 (linear, z = 0)."""
        if "mPk" not in self._outputs():
            raise CosmoSevereError("No P(k) computed: add mPk to the 'output' parameter")
        return self._float(self._spectra_solution("pk").sigma8)

    # ------------------------------------------------------------------ output helpers
    @property
    def _solution(self) -> Solution:
        if self._sol is None:
            raise CosmoSevereError("call compute() before asking for results")
        return self._sol

    @staticmethod
    def _float(x: Any) -> float:
        return float(jnp.asarray(x))

    def _at_z(self, function, z: float) -> float:
        return self._float(function(jnp.asarray(z, dtype=float)))

    def _derived(self, name: str) -> float:
        return self._float(derived_parameters(self._solution, [name])[name])

    # background
    def Hubble(self, z: float) -> float:
        """H(z) in 1/Mpc (c = 1)."""
        return self._at_z(self._solution.background.hubble, z)

    def angular_distance(self, z: float) -> float:
        return self._at_z(self._solution.background.angular_distance, z)

    def luminosity_distance(self, z: float) -> float:
        return self._at_z(self._solution.background.luminosity_distance, z)

    def comoving_distance(self, z: float) -> float:
        return self._at_z(self._solution.background.comoving_distance, z)

    # thermodynamics
    def ionization_fraction(self, z: float) -> float:
        """Free electrons per hydrogen nucleus x_e(z)."""
        return self._at_z(self._solution.thermo.ionization_fraction, z)

    def baryon_temperature(self, z: float) -> float:
        """Baryon temperature T_b(z) in K."""
        return self._at_z(self._solution.thermo.baryon_temperature, z)

    # scalars (classy's accessor names)
    def h(self) -> float:
        return self._derived("h")

    def age(self) -> float:
        """Age of the universe in Gyr."""
        return self._derived("age")

    def Omega_m(self) -> float:
        return self._derived("Omega_m")

    def Omega0_m(self) -> float:
        return self._derived("Omega_m")

    def Omega_b(self) -> float:
        return self._derived("Omega_b")

    def omega_b(self) -> float:
        return self._derived("omega_b")

    def Neff(self) -> float:
        return self._derived("Neff")

    def T_cmb(self) -> float:
        return self._derived("T_cmb")

    def rs_drag(self) -> float:
        return self._derived("rs_d")

    def theta_s_100(self) -> float:
        return self._derived("100*theta_s")

    def theta_star_100(self) -> float:
        return self._derived("100*theta_star")

    def tau_reio(self) -> float:
        return self._derived("tau_reio")

    def z_reio(self) -> float:
        return self._derived("z_reio")

    def H0(self) -> float:
        return self._derived("H0")

    def Omega_Lambda(self) -> float:
        return self._derived("Omega_Lambda")

    def Omega_fld(self) -> float:
        return self._derived("Omega_fld")

    def Omega_k(self) -> float:
        return self._derived("Omega_k")

    def Omega0_k(self) -> float:
        return self._derived("Omega_k")

    def Omega_cdm(self) -> float:
        return self._derived("Omega_cdm")

    def Omega0_cdm(self) -> float:
        return self._derived("Omega_cdm")

    def Omega_g(self) -> float:
        return self._derived("Omega_g")

    def Omega_nu(self) -> float:
        return self._derived("Omega_nu")

    def n_s(self) -> float:
        return self._derived("n_s")

    def z_eq(self) -> float:
        return self._derived("z_eq")

    def k_eq(self) -> float:
        return self._derived("k_eq")

    def S8(self) -> float:
        """sigma8 sqrt(Omega_m / 0.3) (needs mPk)."""
        return self.get_current_derived_parameters(["S8"])["S8"]

    def get_current_derived_parameters(self, names: Sequence[str]) -> dict[str, float]:
        """Derived parameters by classy name, as a dict of floats (``sigma8``/``S8`` need mPk)."""
        if isinstance(names, str):
            raise CosmoSevereError("get_current_derived_parameters takes a list of names")
        sol = self._solution
        if any(n in PK_DERIVED for n in names):
            if "mPk" not in self._outputs():
                raise CosmoSevereError(
                    "No power spectrum computed. In order to get sigma8 or S8, you must add mPk to the list of outputs."
                )
            sol = self._spectra_solution("pk")
        try:
            values = derived_parameters(sol, list(names))
        except KeyError as err:
            raise CosmoSevereError(str(err)) from err
        return {k: self._float(v) for k, v in values.items()}

    # the functional solution, for users who want both worlds
    @property
    def solution(self) -> Solution:
        """The underlying pytree (background, thermodynamics) for use with JAX."""
        return self._solution
