"""Cosmological input parameters: CLASS names, CLASS defaults, validation.

The functional API takes a plain ``dict`` (a pytree) with CLASS input names,
e.g. ``{"omega_b": 0.02237, "omega_cdm": 0.12, "h": 0.6736, "tau_reio": 0.0544}``.
:func:`resolve` fills in CLASS's defaults and returns a :class:`CosmoParams`
pytree whose leaves are float64 JAX scalars/arrays (differentiable) and whose
static fields describe the model structure (number of massive species, whether
dark energy is a w0wa fluid, how reionization is parameterised).

Validation happens only on concrete (non-traced) values: inside ``jax.jit`` or
``jax.grad`` the numbers are not known, and samplers are expected to map the
unphysical corner of their prior to ``-inf`` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from . import constants as const

__all__ = ["CosmoParams", "CosmoParameterError", "resolve", "ALLOWED_PARAMETERS", "DEFAULTS"]


class CosmoParameterError(ValueError):
    """Raised for an unknown, inconsistent or out-of-range input parameter."""


#: CLASS defaults (input.c of CLASS v3.3) for every parameter not given.
DEFAULTS: dict[str, Any] = {
    "h": 0.67810,
    "omega_b": 0.02238280,
    "omega_cdm": 0.1201075,
    "A_s": 2.100549e-09,
    "n_s": 0.9660499,
    "alpha_s": 0.0,
    "k_pivot": 0.05,
    "z_reio": 7.6711,
    "N_ur": const.N_ur_default,
    "N_ncdm": 0,
    "T_cmb": const.T_cmb_default,
    "T_ncdm": const.T_ncdm_default,
    "deg_ncdm": 1.0,
    "Omega_k": 0.0,
    "w0_fld": -1.0,
    "wa_fld": 0.0,
    "cs2_fld": 1.0,
    "YHe": "BBN",
    "reionization_width": 0.5,
    "reionization_exponent": 1.5,
    "helium_fullreio_redshift": 3.5,
    "helium_fullreio_width": 0.5,
    "r": 0.0,
    "n_t": "scc",
    "alpha_t": "scc",
}

#: Allowed ranges (inclusive) checked on concrete inputs.
RANGES: dict[str, tuple[float, float]] = {
    "h": (0.2, 1.5),
    "omega_b": (1.0e-4, 0.5),
    "omega_cdm": (0.0, 2.0),
    "A_s": (1.0e-12, 1.0e-6),
    "ln10^{10}A_s": (-4.6, 7.0),
    "n_s": (0.5, 1.5),
    "alpha_s": (-0.5, 0.5),
    "k_pivot": (1.0e-6, 10.0),
    "tau_reio": (0.004, 0.5),
    "z_reio": (0.5, 35.0),
    "N_ur": (0.0, 20.0),
    "T_cmb": (1.0, 5.0),
    "T_ncdm": (0.1, 2.0),
    "deg_ncdm": (0.0, 10.0),
    "m_ncdm": (0.0, 10.0),
    "Omega_k": (-0.5, 0.5),
    "w0_fld": (-3.0, 0.3),
    "wa_fld": (-3.0, 3.0),
    "cs2_fld": (0.0, 1.0),
    "YHe": (0.0, 0.5),
    "100*theta_s": (0.5, 2.0),
    "Omega_Lambda": (-2.0, 2.0),
    "reionization_width": (0.01, 10.0),
    "reionization_exponent": (0.1, 5.0),
    "helium_fullreio_redshift": (0.0, 10.0),
    "helium_fullreio_width": (0.01, 5.0),
    "r": (0.0, 3.0),
    "n_t": (-2.0, 2.0),
    "alpha_t": (-0.5, 0.5),
}

ALLOWED_PARAMETERS: frozenset[str] = frozenset(
    set(RANGES)
    | {"H0", "Omega_b", "Omega_cdm", "N_ncdm", "recombination", "theta_s_100"}
)

# Mutually exclusive groups: at most one member may be given.
_EXCLUSIVE = (
    ("h", "H0", "100*theta_s", "theta_s_100"),
    ("omega_b", "Omega_b"),
    ("omega_cdm", "Omega_cdm"),
    ("A_s", "ln10^{10}A_s"),
    ("tau_reio", "z_reio"),
)

RECOMBINATION_MODELS = ("recfast", "hyrec")


def _is_concrete(x: Any) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _as_list(value: Any) -> list[Any]:
    """Accept classy-style comma-separated strings, scalars or sequences."""
    if isinstance(value, str):
        return [float(v) for v in value.replace(" ", "").split(",") if v]
    if isinstance(value, (list, tuple)):
        return list(value)
    arr = value if isinstance(value, jax.Array) else np.asarray(value)
    if arr.ndim == 0:
        return [value]
    return [arr[i] for i in range(arr.shape[0])]


def _check_range(name: str, value: Any) -> None:
    lo, hi = RANGES[name]
    if not _is_concrete(value):
        return
    v = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(v)):
        raise CosmoParameterError(f"parameter '{name}' = {value!r} is not finite; allowed range [{lo}, {hi}]")
    if np.any(v < lo) or np.any(v > hi):
        raise CosmoParameterError(f"parameter '{name}' = {value!r} is outside the allowed range [{lo}, {hi}]")


def _f64(x: Any) -> Float[Array, ""]:
    return jnp.asarray(x, dtype=jnp.float64)


class CosmoParams(eqx.Module):
    """Resolved cosmological parameters (all CLASS defaults filled in).

    Densities are physical (``omega_x = Omega_x h^2``); ``h`` is H0 / (100 km/s/Mpc).
    ``m_ncdm`` [eV], ``T_ncdm`` [units of T_cmb], ``deg_ncdm`` are arrays of length
    ``N_ncdm``. ``YHe`` is ``nan``-free: when it comes from BBN, ``YHe_from_bbn`` is
    True and the value is computed in the thermodynamics stage. With a ``100*theta_s`` input
    (``h_from_theta_s``), ``h`` is found by :func:`cosmo.solve` (differentiable root-find).
    """

    h: Float[Array, ""]
    omega_b: Float[Array, ""]
    omega_cdm: Float[Array, ""]
    T_cmb: Float[Array, ""]
    N_ur: Float[Array, ""]
    m_ncdm: Float[Array, " n_ncdm"]
    T_ncdm: Float[Array, " n_ncdm"]
    deg_ncdm: Float[Array, " n_ncdm"]
    Omega_k: Float[Array, ""]
    w0_fld: Float[Array, ""]
    wa_fld: Float[Array, ""]
    cs2_fld: Float[Array, ""]
    Omega_Lambda_input: Float[Array, ""]  # only used when lambda_given
    A_s: Float[Array, ""]
    n_s: Float[Array, ""]
    alpha_s: Float[Array, ""]
    k_pivot: Float[Array, ""]
    YHe_input: Float[Array, ""]  # only used when not YHe_from_bbn
    reio_input: Float[Array, ""]  # tau_reio or z_reio, see reio_parametrised_by
    theta_s_100_input: Float[Array, ""]  # 100*theta_s when h_from_theta_s (h is then solved for)
    reionization_width: Float[Array, ""]
    reionization_exponent: Float[Array, ""]
    helium_fullreio_redshift: Float[Array, ""]
    helium_fullreio_width: Float[Array, ""]
    r: Float[Array, ""]  #: tensor-to-scalar ratio at k_pivot
    n_t: Float[Array, ""]  #: tensor tilt (CLASS default: slow-roll self-consistency, see :func:`resolve`)
    alpha_t: Float[Array, ""]  #: tensor running
    has_fld: bool = eqx.field(static=True, default=False)
    lambda_given: bool = eqx.field(static=True, default=False)
    YHe_from_bbn: bool = eqx.field(static=True, default=True)
    reio_parametrised_by: str = eqx.field(static=True, default="z_reio")
    recombination: str = eqx.field(static=True, default="recfast")
    #: True when the input was ``100*theta_s``: ``h`` holds a starting guess until
    #: :func:`cosmo.shooting.h_from_theta_s` replaces it (done by :func:`cosmo.solve`).
    h_from_theta_s: bool = eqx.field(static=True, default=False)
    #: True when ``r`` was given (and is not a concrete 0): tensor modes are computed.
    has_tensors: bool = eqx.field(static=True, default=False)
    #: Sign of the spatial curvature K = -Omega_k H0^2 (-1 open, 0 flat, +1 closed), from a
    #: concrete Omega_k; 2 when Omega_k was traced (unknown sign: P(k) works, the C_l refuse).
    curvature_sign: int = eqx.field(static=True, default=0)

    @property
    def N_ncdm(self) -> int:
        return int(self.m_ncdm.shape[0])


def _merge_identical_species(m, T, deg):
    """Species with equal (concrete) mass and temperature are one species of summed degeneracy:
    the physics is identical and the perturbations evolve one momentum hierarchy instead of
    several (e.g. three degenerate neutrinos). Traced values are left as given."""
    if m.shape[0] < 2 or not all(_is_concrete(x) for x in (m, T, deg)):
        return m, T, deg
    keys: dict[tuple[float, float], int] = {}
    groups: list[list[int]] = []
    for i, key in enumerate(zip(np.asarray(m).tolist(), np.asarray(T).tolist())):
        if key in keys:
            groups[keys[key]].append(i)
        else:
            keys[key] = len(groups)
            groups.append([i])
    if len(groups) == m.shape[0]:
        return m, T, deg
    first = jnp.asarray([g[0] for g in groups])
    summed = jnp.stack([jnp.sum(deg[jnp.asarray(g)]) for g in groups])
    return m[first], T[first], summed


def resolve(params: Mapping[str, Any] | CosmoParams) -> CosmoParams:
    """Validate a dict of CLASS-named inputs and fill CLASS defaults.

    Raises :class:`CosmoParameterError` naming the parameter and its allowed
    range for unknown names, out-of-range values, negative densities, or an
    ``N_ncdm`` inconsistent with the length of ``m_ncdm``.
    """
    if isinstance(params, CosmoParams):
        return params
    if not isinstance(params, Mapping):
        raise CosmoParameterError(f"parameters must be a dict with CLASS input names, got {type(params).__name__}")
    unknown = sorted(set(params) - ALLOWED_PARAMETERS)
    if unknown:
        raise CosmoParameterError(
            f"unknown parameter(s) {unknown}; allowed names are {sorted(ALLOWED_PARAMETERS)}"
        )
    for group in _EXCLUSIVE:
        given = [g for g in group if g in params]
        if len(given) > 1:
            raise CosmoParameterError(f"give only one of {list(group)}, got {given}")

    p = dict(params)
    # --- Hubble rate (or the angular sound horizon it is solved from)
    theta_key = next((k for k in ("100*theta_s", "theta_s_100") if k in p), None)
    theta_s_100 = _f64(0.0)
    if theta_key is not None:
        if _is_concrete(p[theta_key]):
            lo, hi = RANGES["100*theta_s"]
            if not lo <= float(p[theta_key]) <= hi:
                raise CosmoParameterError(
                    f"parameter '{theta_key}' = {p[theta_key]!r} is outside the allowed range [{lo}, {hi}]"
                )
        for upper in ("Omega_b", "Omega_cdm"):
            if upper in p:
                raise CosmoParameterError(
                    f"'{upper}' needs h, which is solved from '{theta_key}': give 'omega_{upper[6:]}' (physical) instead"
                )
        theta_s_100 = _f64(p[theta_key])
        h = _f64(DEFAULTS["h"])
    elif "H0" in p:
        H0 = p["H0"]
        if _is_concrete(H0) and not (20.0 <= float(H0) <= 150.0):
            raise CosmoParameterError(f"parameter 'H0' = {H0!r} is outside the allowed range [20.0, 150.0] km/s/Mpc")
        h = _f64(H0) / 100.0
    else:
        h = p.get("h", DEFAULTS["h"])
        _check_range("h", h)
        h = _f64(h)
    # --- densities
    def physical(lower: str, upper: str) -> Float[Array, ""]:
        if upper in p:
            val = p[upper]
            if _is_concrete(val) and float(val) < 0:
                raise CosmoParameterError(f"parameter '{upper}' = {val!r} is negative; allowed range [0, 2]")
            return _f64(val) * h**2
        val = p.get(lower, DEFAULTS[lower])
        if _is_concrete(val) and float(np.asarray(val)) < 0:
            lo, hi = RANGES[lower]
            raise CosmoParameterError(f"parameter '{lower}' = {val!r} is a negative density; allowed range [{lo}, {hi}]")
        _check_range(lower, val)
        return _f64(val)

    omega_b = physical("omega_b", "Omega_b")
    omega_cdm = physical("omega_cdm", "Omega_cdm")

    for name in ("T_cmb", "N_ur", "Omega_k", "w0_fld", "wa_fld", "cs2_fld", "n_s", "alpha_s", "k_pivot",
                 "reionization_width", "reionization_exponent", "helium_fullreio_redshift",
                 "helium_fullreio_width"):
        if name in p:
            _check_range(name, p[name])

    # --- massive neutrinos
    m_list = _as_list(p["m_ncdm"]) if "m_ncdm" in p else []
    if "N_ncdm" in p:
        n_ncdm = p["N_ncdm"]
        if not _is_concrete(n_ncdm) or int(n_ncdm) != n_ncdm or int(n_ncdm) < 0:
            raise CosmoParameterError(f"parameter 'N_ncdm' = {n_ncdm!r} must be a non-negative integer (allowed range [0, 10])")
        n_ncdm = int(n_ncdm)
        if n_ncdm > 10:
            raise CosmoParameterError(f"parameter 'N_ncdm' = {n_ncdm} is outside the allowed range [0, 10]")
        if n_ncdm > 0 and "m_ncdm" not in p:
            raise CosmoParameterError(f"N_ncdm = {n_ncdm} needs 'm_ncdm' with {n_ncdm} masses in eV")
        if len(m_list) != n_ncdm:
            raise CosmoParameterError(
                f"inconsistent 'N_ncdm' = {n_ncdm} and 'm_ncdm' with {len(m_list)} entries: give one mass [eV] per species"
            )
    else:
        n_ncdm = len(m_list)
    for m in m_list:
        _check_range("m_ncdm", m)

    def per_species(name: str) -> Float[Array, " n"]:
        if name in p:
            vals = _as_list(p[name])
            if len(vals) != n_ncdm:
                raise CosmoParameterError(
                    f"'{name}' has {len(vals)} entries but N_ncdm = {n_ncdm}: give one value per massive species"
                )
            for v in vals:
                _check_range(name, v)
        else:
            vals = [DEFAULTS[name]] * n_ncdm
        return jnp.stack([_f64(v) for v in vals]) if vals else jnp.zeros((0,), dtype=jnp.float64)

    m_ncdm = jnp.stack([_f64(m) for m in m_list]) if m_list else jnp.zeros((0,), dtype=jnp.float64)
    T_ncdm = per_species("T_ncdm")
    deg_ncdm = per_species("deg_ncdm")
    m_ncdm, T_ncdm, deg_ncdm = _merge_identical_species(m_ncdm, T_ncdm, deg_ncdm)

    # --- dark energy: giving w0_fld/wa_fld (or Omega_Lambda = 0) makes it a fluid
    lambda_given = "Omega_Lambda" in p
    if lambda_given:
        _check_range("Omega_Lambda", p["Omega_Lambda"])
    has_fld = ("w0_fld" in p) or ("wa_fld" in p) or ("cs2_fld" in p)
    if lambda_given and has_fld and _is_concrete(p["Omega_Lambda"]) and float(p["Omega_Lambda"]) != 0.0:
        raise CosmoParameterError(
            "with a w0wa fluid ('w0_fld'/'wa_fld') the fluid fills the budget: leave 'Omega_Lambda' unset or 0"
        )

    # --- primordial amplitude
    if "ln10^{10}A_s" in p:
        _check_range("ln10^{10}A_s", p["ln10^{10}A_s"])
        A_s = jnp.exp(_f64(p["ln10^{10}A_s"])) * 1.0e-10
    else:
        A_s = p.get("A_s", DEFAULTS["A_s"])
        _check_range("A_s", A_s)
        A_s = _f64(A_s)

    # --- helium
    YHe = p.get("YHe", "BBN")
    YHe_from_bbn = isinstance(YHe, str)
    if YHe_from_bbn:
        if YHe.upper() != "BBN":
            raise CosmoParameterError(f"parameter 'YHe' = {YHe!r}: give a number in [0, 0.5] or 'BBN'")
        YHe_value = _f64(0.0)
    else:
        _check_range("YHe", YHe)
        YHe_value = _f64(YHe)

    # --- reionization
    if "tau_reio" in p:
        _check_range("tau_reio", p["tau_reio"])
        reio_by, reio_value = "tau_reio", _f64(p["tau_reio"])
    else:
        z_reio = p.get("z_reio", DEFAULTS["z_reio"])
        _check_range("z_reio", z_reio)
        reio_by, reio_value = "z_reio", _f64(z_reio)

    # --- tensor modes (CLASS: r, n_t and alpha_t default to the single-field slow-roll
    # self-consistency relations, to second order: n_t = -r/8 (2 - r/8 - n_s), alpha_t = r/8 (r/8 + n_s - 1))
    r = p.get("r", DEFAULTS["r"])
    _check_range("r", r)
    has_tensors = "r" in p and not (_is_concrete(r) and float(r) == 0.0)
    r = _f64(r)
    n_s = _f64(p.get("n_s", DEFAULTS["n_s"]))

    def tensor_index(name: str, scc: Float[Array, ""]) -> Float[Array, ""]:
        value = p.get(name, DEFAULTS[name])
        if isinstance(value, str):
            if value.strip().lower() != "scc":
                raise CosmoParameterError(f"parameter '{name}' = {value!r}: give a number in {list(RANGES[name])} or 'scc'")
            return scc
        _check_range(name, value)
        return _f64(value)

    n_t = tensor_index("n_t", -r / 8.0 * (2.0 - r / 8.0 - n_s))
    alpha_t = tensor_index("alpha_t", r / 8.0 * (r / 8.0 + n_s - 1.0))

    omk = p.get("Omega_k", DEFAULTS["Omega_k"])
    if "Omega_k" not in p or (_is_concrete(omk) and float(np.asarray(omk)) == 0.0):
        curvature_sign = 0
    elif _is_concrete(omk):
        curvature_sign = -1 if float(np.asarray(omk)) > 0.0 else 1
    else:
        curvature_sign = 2

    recombination = str(p.get("recombination", "recfast")).lower()
    if recombination not in RECOMBINATION_MODELS:
        raise CosmoParameterError(
            f"parameter 'recombination' = {recombination!r} is not available; allowed values {list(RECOMBINATION_MODELS)}"
        )

    def get(name: str) -> Float[Array, ""]:
        return _f64(p.get(name, DEFAULTS[name]))

    return CosmoParams(
        h=h,
        omega_b=omega_b,
        omega_cdm=omega_cdm,
        T_cmb=get("T_cmb"),
        N_ur=get("N_ur"),
        m_ncdm=m_ncdm,
        T_ncdm=T_ncdm,
        deg_ncdm=deg_ncdm,
        Omega_k=get("Omega_k"),
        w0_fld=get("w0_fld"),
        wa_fld=get("wa_fld"),
        cs2_fld=get("cs2_fld"),
        Omega_Lambda_input=_f64(p.get("Omega_Lambda", 0.0)),
        A_s=A_s,
        n_s=get("n_s"),
        alpha_s=get("alpha_s"),
        k_pivot=get("k_pivot"),
        YHe_input=YHe_value,
        reio_input=reio_value,
        theta_s_100_input=theta_s_100,
        reionization_width=get("reionization_width"),
        reionization_exponent=get("reionization_exponent"),
        helium_fullreio_redshift=get("helium_fullreio_redshift"),
        helium_fullreio_width=get("helium_fullreio_width"),
        r=r,
        n_t=n_t,
        alpha_t=alpha_t,
        has_fld=bool(has_fld or (lambda_given and _is_concrete(p["Omega_Lambda"]) and float(p["Omega_Lambda"]) == 0.0)),
        lambda_given=bool(lambda_given and not has_fld),
        YHe_from_bbn=YHe_from_bbn,
        reio_parametrised_by=reio_by,
        recombination=recombination,
        h_from_theta_s=theta_key is not None,
        has_tensors=has_tensors,
        curvature_sign=curvature_sign,
    )


def to_classy(params: Mapping[str, Any]) -> dict[str, Any]:
    """Translate our input dict into the equivalent classy input dict.

    The differences in convention: we switch dark energy to a w0wa fluid as
    soon as ``w0_fld``/``wa_fld`` is given, whereas CLASS needs ``Omega_Lambda = 0``
    for that, and tensor modes as soon as ``r`` is given (CLASS: ``modes = s,t``). Lists (``m_ncdm``...) become CLASS's comma-separated strings.
    """
    out: dict[str, Any] = {}
    for key, val in params.items():
        if key in ("m_ncdm", "T_ncdm", "deg_ncdm"):
            vals = _as_list(val)
            out[key] = ",".join(repr(float(v)) for v in vals)
        elif key == "recombination":
            out[key] = {"recfast": "RECFAST", "hyrec": "HyRec"}.get(str(val).lower(), val)
        elif isinstance(val, (jax.Array, np.ndarray)):
            out[key] = float(val)
        else:
            out[key] = val
    if "m_ncdm" in out and "N_ncdm" not in out:
        out["N_ncdm"] = len(_as_list(params["m_ncdm"]))
    if any(k in params for k in ("w0_fld", "wa_fld", "cs2_fld")) and "Omega_Lambda" not in params:
        out["Omega_Lambda"] = 0.0
    if "r" in params:  # we compute tensor modes as soon as r is given; CLASS needs them asked for
        out.setdefault("modes", "s,t")
    return out

