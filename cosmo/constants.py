"""Physical constants and unit conventions: the one place they live.

Unit conventions of the whole solver (shared with CLASS):

* Natural units with ``c = 1`` inside the solver: conformal time ``tau`` and all
  distances are in **Mpc**, the Hubble rate ``H`` and wavenumbers ``k`` are in
  **1/Mpc**, energy densities ``rho`` are in CLASS units of ``H^2``, i.e.
  ``rho_class = 8 pi G rho_physical / (3 c^2)`` in **1/Mpc^2** so that
  ``H^2 = sum_i rho_i - K/a^2``.
* Scale factor ``a = 1`` today, redshift ``z = 1/a - 1``.
* Temperatures in **K**; ages in **Gyr**.
* Angular power spectra (later stages) are dimensionless ``C_l`` as classy
  returns them (``raw_cl``/``lensed_cl``); likelihood boundaries use
  ``D_l = l(l+1) C_l T_cmb^2 / (2 pi)`` in **muK^2**.
* Gauge (later stages): synchronous, comoving with CDM, as CLASS.

Fundamental constants take the values CLASS v3 uses (CODATA 2006, CLASS's
``include/background.h`` and ``thermodynamics.h``), because agreement with CLASS is how this
solver's accuracy is defined: the CODATA 2018 values (``astropy.constants``, which
:data:`CODATA2018` holds for comparison) differ from them by up to 1.6e-6 in k_B, G and m_e,
and the Boltzmann factors of recombination, exp(-h c L / k T) with h c L / k T ~ 40, amplify
that into x_e differences of 1.7e-5 at z ~ 1000 (CHANGELOG 2026-11-30 (d)); no cosmological
observable can resolve the constants themselves at that level. The Gyr comes from
``astropy.units``; the Mpc is CLASS's number (7e-11 from IAU 2015). Atomic-physics constants of the recombination model are those of RECFAST 1.5
(Seager, Sasselov & Scott 1999; Wong, Moss & Scott 2008) and are quoted with
their sources. Where CLASS uses a *convention* rather than a measured value
(the helium-to-hydrogen mass ratio, the Mpc-to-Gyr factor) we use CLASS's
number so that derived quantities are defined identically.
"""

from __future__ import annotations

import math

import astropy.constants as _ac
import astropy.units as _u

# ---------------------------------------------------------------- fundamental (SI; CLASS v3 values)
c_SI: float = 2.99792458e8  #: speed of light [m/s] (exact)
G_SI: float = 6.67428e-11  #: Newton's constant [m^3 kg^-1 s^-2]
k_B_SI: float = 1.3806504e-23  #: Boltzmann constant [J/K]
h_P_SI: float = 6.62606896e-34  #: Planck constant [J s]
hbar_SI: float = h_P_SI / (2.0 * math.pi)
eV_SI: float = 1.602176487e-19  #: 1 eV in J
m_e_SI: float = 9.10938215e-31  #: electron mass [kg]
m_p_SI: float = 1.672621637e-27  #: proton mass [kg]
sigma_T_SI: float = 6.6524616e-29  #: Thomson cross-section [m^2]
#: Stefan-Boltzmann [W m^-2 K^-4], 2 pi^5 k_B^4 / (15 h^3 c^2) as CLASS computes it.
sigma_B_SI: float = 2.0 * math.pi**5 * k_B_SI**4 / (15.0 * h_P_SI**3 * c_SI**2)
Mpc_SI: float = 3.085677581282e22  #: 1 Mpc in m (CLASS's _Mpc_over_m_; IAU 2015 differs by 7e-11)

#: The same constants in CODATA 2018 (astropy), for comparison and tests (unused by the solver).
CODATA2018: dict[str, float] = {
    "c_SI": float(_ac.c.value), "G_SI": float(_ac.G.value), "k_B_SI": float(_ac.k_B.value),
    "h_P_SI": float(_ac.h.value), "eV_SI": float(_ac.e.value), "m_e_SI": float(_ac.m_e.value),
    "m_p_SI": float(_ac.m_p.value), "sigma_T_SI": float(_ac.sigma_T.value),
    "sigma_B_SI": float(_ac.sigma_sb.value), "Mpc_SI": float((1.0 * _u.Mpc).to(_u.m).value),
}

# ---------------------------------------------------------------- conventions
#: Hydrogen atom mass [kg] (RECFAST / CLASS value; sets n_H from omega_b).
m_H_SI: float = 1.673575e-27
#: Helium-4 to hydrogen mass ratio used to convert Y_He into n_He/n_H (RECFAST).
not4: float = 3.9715
#: Mpc of light-travel per Gyr, the factor CLASS uses to quote ages in Gyr.
Gyr_over_Mpc: float = float(((1.0 * _u.Gyr) * _ac.c).to(_u.Mpc).value)
#: Default CMB temperature today [K] (Fixsen 2009).
T_cmb_default: float = 2.7255
#: Default massive-neutrino temperature in units of T_cmb: (4/11)^(1/3)
#: enhanced so that one species gives m/omega = 93.14 eV (CLASS default).
T_ncdm_default: float = 0.71611
#: Default effective number of ultra-relativistic species (CLASS v3 default).
N_ur_default: float = 3.044

# ---------------------------------------------------------------- derived unit factors
#: H[1/Mpc] = H0_over_h * h,  with H0 = 100 h km/s/Mpc and c = 1.
H0_over_h: float = 1.0e5 / c_SI
#: rho_physical [J/m^3] = rho_class [1/Mpc^2] * Jm3_over_Mpc2
Jm3_over_Mpc2: float = 3.0 * c_SI**4 / (8.0 * math.pi * G_SI) / Mpc_SI**2
#: Fermi-Dirac neutrino-to-photon energy ratio per massless species, 7/8 (4/11)^(4/3)
neutrino_energy_ratio: float = 7.0 / 8.0 * (4.0 / 11.0) ** (4.0 / 3.0)


def omega_gamma(T_cmb: float) -> float:
    """Physical photon density omega_g = Omega_g h^2 for a CMB temperature [K]."""
    rho_g = 4.0 * sigma_B_SI / c_SI * T_cmb**4  # [J/m^3]
    rho_crit_over_h2 = 3.0 * c_SI**2 * (1.0e5 / Mpc_SI) ** 2 / (8.0 * math.pi * G_SI)
    return rho_g / rho_crit_over_h2


# ---------------------------------------------------------------- atomic physics (RECFAST 1.5)
# Wavenumbers [1/m]
L_H_ion: float = 1.096787737e7  #: H ionisation
L_H_alpha: float = 8.225916453e6  #: H Lyman alpha
L_He1_ion: float = 1.98310772e7  #: He I ionisation
L_He2_ion: float = 4.389088863e7  #: He II ionisation
L_He_2s: float = 1.66277434e7  #: He I 2s
L_He_2p: float = 1.71134891e7  #: He I 2p (singlet)
L_He_2Pt: float = 1.690871466e7  #: He I 2p triplet
L_He_2St: float = 1.5985597526e7  #: He I 2s triplet
L_He2St_ion: float = 3.8454693845e6  #: He I 2s triplet ionisation
# Rates and cross-sections
Lambda_H: float = 8.2245809  #: H 2s->1s two-photon rate [1/s]
Lambda_He: float = 51.3  #: He I 2s->1s two-photon rate [1/s]
A2P_s: float = 1.798287e9  #: He I 2p singlet Einstein A [1/s]
A2P_t: float = 177.58  #: He I 2p triplet Einstein A [1/s]
sigma_He_2Ps: float = 1.436289e-22  #: He I 2p singlet photoionisation x-section [m^2]
sigma_He_2Pt: float = 1.484872e-22  #: He I 2p triplet photoionisation x-section [m^2]
# Pequignot, Petitjean & Boisson (1991) case-B H recombination fit
a_PPB: float = 4.309
b_PPB: float = -0.6166
c_PPB: float = 0.6703
d_PPB: float = 0.5300
# Verner & Ferland (1996) He I recombination fit (singlet and triplet)
T_0_VF: float = 10.0**0.477121
T_1_VF: float = 10.0**5.114
a_VF: float = 10.0**-16.744
b_VF: float = 0.711
a_trip: float = 10.0**-16.306
b_trip: float = 0.761

# Temperatures [K] associated with the atomic transitions
T_ion_H: float = h_P_SI * c_SI * L_H_ion / k_B_SI
T_ion_HeI: float = h_P_SI * c_SI * L_He1_ion / k_B_SI
T_ion_HeII: float = h_P_SI * c_SI * L_He2_ion / k_B_SI
#: 2 pi m_e k_B / h^2 [m^-2 K^-1]: (CR T)^(3/2) is the electron quantum concentration
saha_prefactor: float = 2.0 * math.pi * (m_e_SI / h_P_SI) * (k_B_SI / h_P_SI)

#: Energy of 0.1 MeV expressed as a temperature [K] (the BBN epoch used for Y_He).
T_bbn: float = 0.1e6 * eV_SI / k_B_SI
