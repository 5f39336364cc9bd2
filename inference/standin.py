"""A cheap differentiable stand-in theory: CLASS spectra linearised around the Planck 2018 best fit.

    D_l(x) = D_l(x0) + sum_i dD_l/dx_i (x_i - x0_i)        (lensed TT, TE, EE, BB, pp)

for x = (omega_b, omega_cdm, h, ln10^{10}A_s, n_s, tau_reio), with the derivatives from central
differences of CLASS (classy, default precision, lensed spectra to l = 2600). Linear in the
parameters, so a Gaussian likelihood of these spectra (plik_lite) with flat priors has an
analytic Gaussian posterior: the test problem of the samplers. sigma8 is linearised the same
way; H0, Omega_m and S8 follow from their definitions.

Reparameterisation: ``100*theta_s`` may be sampled instead of ``h`` (as in Planck's chains).
100 theta_s is linearised too, and h follows from inverting that linear relation; H0 is then
a derived parameter.

The table is generated once by ``python -m inference.standin`` (needs classy, ~1 min) and
shipped with the package (``linear_cl_planck2018.npz``: our product derived from CLASS, not
third-party data).
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from likelihoods.theory import Requirements, Theory

TABLE = pathlib.Path(__file__).parent / "linear_cl_planck2018.npz"
NAMES = ("omega_b", "omega_cdm", "h", "ln10^{10}A_s", "n_s", "tau_reio")
#: central-difference steps (about 0.2 Planck sigma)
STEPS = {"omega_b": 3e-5, "omega_cdm": 2.4e-4, "h": 1e-3, "ln10^{10}A_s": 3e-3, "n_s": 8e-4, "tau_reio": 1.5e-3}
L_MAX = 2600
KEYS = ("tt", "te", "ee", "bb", "pp")
#: massive-neutrino density of the fiducial (CLASS default: one 0.06 eV species), for Omega_m
OMEGA_NU = 0.06 / 93.14


class LinearCl(eqx.Module):
    """The linearised theory; ``theory(params)`` gives a :class:`likelihoods.Theory` (spectra only)."""

    x0: np.ndarray
    fiducial: dict[str, np.ndarray]
    jacobian: dict[str, np.ndarray]  # key -> (n_params, n_l)
    sigma8: np.ndarray  # (1 + n_params,): value and gradient
    theta_s_100: np.ndarray  # (1 + n_params,): value and gradient
    names: tuple[str, ...] = eqx.field(static=True, default=NAMES)

    @classmethod
    def load(cls, path: str | pathlib.Path = TABLE) -> LinearCl:
        if not pathlib.Path(path).exists():
            raise FileNotFoundError(f"{path} not found: generate it with `python -m inference.standin` (needs classy)")
        d = np.load(path)
        return cls(x0=d["x0"], fiducial={k: d["fid_" + k] for k in KEYS},
                   jacobian={k: d["jac_" + k] for k in KEYS}, sigma8=d["sigma8"], theta_s_100=d["theta_s_100"])

    @property
    def fiducial_params(self) -> dict[str, float]:
        return {**dict(zip(self.names, map(float, self.x0))), "100*theta_s": float(self.theta_s_100[0])}

    def supports(self, requirements: Requirements) -> None:
        if requirements.z or requirements.r_drag:
            raise ValueError("the linear stand-in gives spectra only; BAO needs the solver theory (kind: cosmo)")
        too_high = {k: l for k, l in requirements.cl.items() if l > L_MAX}
        if too_high:
            raise ValueError(f"the linear stand-in stops at l = {L_MAX}; the likelihoods need {too_high}")

    def h_of(self, params: Mapping[str, float]):
        """h, given directly or from ``100*theta_s`` through the linearised relation."""
        if "h" in params or "100*theta_s" not in params:
            return jnp.asarray(params["h"], dtype=jnp.float64)
        i_h = self.names.index("h")
        others = sum(self.theta_s_100[1 + i] * (jnp.asarray(params[n]) - self.x0[i])
                     for i, n in enumerate(self.names) if n != "h")
        return self.x0[i_h] + (jnp.asarray(params["100*theta_s"]) - self.theta_s_100[0] - others) / \
            self.theta_s_100[1 + i_h]

    def _dx(self, params: Mapping[str, float]):
        values = {**params, "h": self.h_of(params)}
        return jnp.stack([jnp.asarray(values[n], dtype=jnp.float64) for n in self.names]) - self.x0

    def __call__(self, params: Mapping[str, float]) -> Theory:
        dx = self._dx(params)
        return Theory(cl={k: jnp.asarray(self.fiducial[k]) + dx @ self.jacobian[k] for k in KEYS})

    def derived(self, params: Mapping[str, float]) -> dict[str, jnp.ndarray]:
        dx = self._dx(params)
        h = self.h_of(params)
        s8 = self.sigma8[0] + dx @ self.sigma8[1:]
        om = (jnp.asarray(params["omega_b"]) + jnp.asarray(params["omega_cdm"]) + OMEGA_NU) / h**2
        return {"H0": 100.0 * h, "Omega_m": om, "sigma8": s8, "S8": s8 * jnp.sqrt(om / 0.3),
                "100*theta_s": self.theta_s_100[0] + dx @ self.theta_s_100[1:]}


def generate(path: pathlib.Path = TABLE) -> pathlib.Path:
    """Compute the table with classy (central differences around the Planck 2018 best fit)."""
    import classy

    from cosmo.oracle.cosmologies import PLANCK2018
    from likelihoods.adapters import cl_to_theory_units

    def run(p):
        c = classy.Class()
        c.set({**p, "output": "tCl,pCl,lCl,mPk", "lensing": "yes", "l_max_scalars": L_MAX, "P_k_max_1/Mpc": 2.0})
        c.compute()
        cl = {k: np.asarray(v) for k, v in cl_to_theory_units(c.lensed_cl(L_MAX), c.T_cmb()).items()}
        s8 = (c.sigma8(), c.get_current_derived_parameters(["100*theta_s"])["100*theta_s"])
        c.struct_cleanup()
        c.empty()
        return cl, np.array(s8)

    x0 = np.array([PLANCK2018[n] for n in NAMES], float)
    fid, s8 = run(dict(PLANCK2018))
    jac = {k: np.zeros((len(NAMES), L_MAX + 1)) for k in KEYS}
    ds8 = np.zeros((len(NAMES), 2))
    for i, name in enumerate(NAMES):
        up, s_up = run({**PLANCK2018, name: PLANCK2018[name] + STEPS[name]})
        dn, s_dn = run({**PLANCK2018, name: PLANCK2018[name] - STEPS[name]})
        for k in KEYS:
            jac[k][i] = (up[k] - dn[k]) / (2 * STEPS[name])
        ds8[i] = (s_up - s_dn) / (2 * STEPS[name])
    np.savez_compressed(path, x0=x0, sigma8=np.concatenate([[s8[0]], ds8[:, 0]]),
                        theta_s_100=np.concatenate([[s8[1]], ds8[:, 1]]), classy_version=classy.__version__,
                        **{"fid_" + k: fid[k] for k in KEYS}, **{"jac_" + k: jac[k] for k in KEYS})
    return path


if __name__ == "__main__":
    print(f"wrote {generate()}")
