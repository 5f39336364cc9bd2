"""BAO distance likelihoods: DESI DR2 and DR1, SDSS DR12 consensus, DR16 LRG, DR7 MGS.

Data in the conventions of Cobaya's ``bao_data`` (one line per measurement: z, value,
observable). Observables, with r_d the sound horizon at the drag epoch [Mpc] (optionally
rescaled by a fiducial value, ``rs_fid``, with which the data were stored):

* ``DM_over_rs`` = D_M(z) / r_d; ``DH_over_rs`` = D_H(z) / r_d with D_H = c / H(z);
* ``DV_over_rs`` = [z D_M(z)^2 D_H(z)]^(1/3) / r_d;
* ``Hz_rs`` (file name ``bao_Hz_rs``) = H(z) [km/s/Mpc] r_d.

Gaussian measurements: ln L = -chi^2 / 2 with the published covariance. SDSS DR7 MGS is a
tabulated chi^2(alpha) on alpha in [0.8005, 1.1985], alpha = D_V / r_d / (D_V/r_d)_fid,
interpolated with the cubic spline through the table (as Cobaya) and -inf outside it.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float
from scipy.interpolate import CubicSpline

from data import dataset_path

from .base import GaussianChi2, Likelihood, Params
from .theory import Requirements, Theory

#: Speed of light [km/s].
C_KM_S = 299792.458

#: name -> (mean file, covariance file, rs_fid [Mpc] or None)
GAUSSIAN_SETS = {
    "bao.desi_dr2": ("desi_bao_dr2/desi_gaussian_bao_ALL_GCcomb_mean.txt",
                     "desi_bao_dr2/desi_gaussian_bao_ALL_GCcomb_cov.txt", None),
    "bao.desi_dr1": ("desi_2024_gaussian_bao_ALL_GCcomb_mean.txt", "desi_2024_gaussian_bao_ALL_GCcomb_cov.txt", None),
    "bao.sdss_dr12_consensus": ("sdss_DR12Consensus_bao.dat", "BAO_consensus_covtot_dM_Hz.txt", 147.78),
    "bao.sdss_dr16_lrg": ("sdss_DR16_LRG_BAO_DMDH.dat", "sdss_DR16_LRG_BAO_DMDH_covtot.txt", None),
}
#: SDSS DR7 MGS (Ross et al. 2015): z, alpha range of the chi^2 table, (D_V/r_d)_fid = 638.9518 / 148.69.
MGS = {"z": 0.15, "bounds": (0.8005, 1.1985), "dv_over_rs_fid": 638.9518 / 148.69}
OBSERVABLES = ("DM_over_rs", "DH_over_rs", "DV_over_rs", "Hz_rs")


def read_measurements(path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """z, value and observable name of each line (a ``bao_`` prefix is dropped)."""
    z, value, obs = [], [], []
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        z.append(float(line[0]))
        value.append(float(line[1]))
        name = line[-1].removeprefix("bao_")
        if name not in OBSERVABLES:
            raise ValueError(f"{path}: observable {name!r} not implemented (known: {OBSERVABLES})")
        obs.append(name)
    return np.asarray(z), np.asarray(value), tuple(obs)


def bao_observable(name: str, z, D_M, D_H, r_d):
    """One BAO observable from D_M, D_H, r_d [Mpc] (see the module docstring)."""
    if name == "DM_over_rs":
        return D_M / r_d
    if name == "DH_over_rs":
        return D_H / r_d
    if name == "DV_over_rs":
        return jnp.cbrt(z * D_M**2 * D_H) / r_d
    if name == "Hz_rs":
        return C_KM_S / D_H * r_d
    raise ValueError(f"unknown BAO observable {name!r}")


class BAOGaussian(Likelihood):
    """Gaussian BAO measurements (``name`` one of :data:`GAUSSIAN_SETS`)."""

    z: tuple[float, ...] = eqx.field(static=True)
    observables: tuple[str, ...] = eqx.field(static=True)
    rs_fid: float | None = eqx.field(static=True)
    data: np.ndarray
    chi2: GaussianChi2

    def __init__(self, name: str = "bao.desi_dr2", data_dir=None):
        if name not in GAUSSIAN_SETS:
            raise ValueError(f"unknown BAO set {name!r}; known: {[*GAUSSIAN_SETS, 'bao.sdss_dr7_mgs']}")
        self.name = name
        mean_file, cov_file, self.rs_fid = GAUSSIAN_SETS[name]
        folder = dataset_path("bao", root=data_dir)
        z, self.data, self.observables = read_measurements(folder / mean_file)
        self.z = tuple(float(x) for x in z)
        self.chi2 = GaussianChi2(np.loadtxt(folder / cov_file))

    @property
    def requirements(self) -> Requirements:
        return Requirements(z=tuple(sorted(set(self.z))), r_drag=True)

    def model(self, theory: Theory) -> Float[Array, " n"]:
        """Theory values of the measured observables, in the data's order and units."""
        idx = theory.z_index(self.z)
        r_d = theory.r_drag if self.rs_fid is None else theory.r_drag / self.rs_fid
        return jnp.stack([bao_observable(obs, z, theory.D_M[..., i], theory.D_H[..., i], r_d)
                          for obs, z, i in zip(self.observables, self.z, idx)], axis=-1)

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        return -0.5 * self.chi2((self.model(theory) - self.data).T)


class BAOMGS(Likelihood):
    """SDSS DR7 Main Galaxy Sample, D_V/r_d at z = 0.15 from its tabulated chi^2(alpha)."""

    alpha: np.ndarray
    coefficients: np.ndarray

    def __init__(self, data_dir=None):
        self.name = "bao.sdss_dr7_mgs"
        chi2 = np.loadtxt(dataset_path("bao", "sdss_MGS_prob.txt", root=data_dir))
        self.alpha = np.linspace(*MGS["bounds"], chi2.size)
        # the interpolating cubic spline (not-a-knot: the same curve as FITPACK with s = 0)
        self.coefficients = CubicSpline(self.alpha, -0.5 * chi2).c

    @property
    def requirements(self) -> Requirements:
        return Requirements(z=(MGS["z"],), r_drag=True)

    def log_likelihood(self, theory: Theory, params: Params) -> Float[Array, ""]:
        i = theory.z_index([MGS["z"]])[0]
        alpha = bao_observable("DV_over_rs", MGS["z"], theory.D_M[..., i], theory.D_H[..., i],
                               theory.r_drag) / MGS["dv_over_rs_fid"]
        j = jnp.clip(jnp.searchsorted(self.alpha, alpha, side="right") - 1, 0, self.alpha.size - 2)
        dx = alpha - jnp.asarray(self.alpha)[j]
        c = jnp.asarray(self.coefficients)
        value = ((c[0, j] * dx + c[1, j]) * dx + c[2, j]) * dx + c[3, j]
        inside = (alpha >= MGS["bounds"][0]) & (alpha <= MGS["bounds"][1])
        return jnp.where(inside, value, -jnp.inf)
