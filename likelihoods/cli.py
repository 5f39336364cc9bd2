"""``cosmo loglike``: log-likelihoods of theory spectra from a text file.

    cosmo loglike --list
    cosmo loglike planck_2018_highl_plik.TTTEEE_lite planck_2018_lowl.TT_bins --cls FILE [--param A_planck=1.001]

FILE is in CAMB's ``*_lensedCls.dat`` / ``*_totCls.dat`` column convention: l, D_l^TT,
D_l^EE, D_l^BB, D_l^TE in muK^2 (D_l = l(l+1)C_l/2pi), and optionally a sixth column with
the lensing potential as [l(l+1)]^2 C_l^phiphi / 2pi (``--lensing-column pp``, CAMB's
convention, the default) or as the convergence power [l(l+1)]^2 C_l^phiphi / 4 (``kk``).
Nuisance parameters not given take their defaults (prior means); cosmological parameters
that a likelihood reads directly (``tau_reio`` for ``tau_prior``) are given with ``--param``.
"""

from __future__ import annotations

import argparse

from data import DataError


def cmd_loglike(args: argparse.Namespace) -> int:
    import likelihoods as lk

    if args.list or not args.names:
        width = max(len(n) for n in lk.NAMES)
        for name, (_, description) in lk.REGISTRY.items():
            print(f"{name:{width}s}  {description}")
        return 0
    if not args.cls:
        print("error: give the theory spectra with --cls FILE (see cosmo loglike --help)")
        return 2
    params = {}
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"error: --param expects name=value, got {item!r}")
            return 2
        params[key] = float(value)
    try:
        likes = [lk.get(name, args.data_dir) for name in args.names]
    except (KeyError, DataError) as err:
        print(f"error: {err.args[0] if isinstance(err, KeyError) else err}")
        return 1
    theory = lk.theory_from_cls(lk.adapters.read_cls_file(args.cls, args.lensing_column))
    combo = lk.combine(likes)
    missing = [n for n in combo.requirements.params if n not in params]
    if combo.requirements.z or combo.requirements.r_drag:
        print("error: BAO likelihoods need background quantities (D_M, D_H, r_drag), not spectra; "
              "use them from Python (likelihoods.adapters)")
        return 2
    if missing:
        print(f"error: give {', '.join(missing)} with --param NAME=VALUE")
        return 2
    full = combo.with_defaults(params)
    total = 0.0
    for like in likes:
        try:
            value = float(like.log_likelihood(theory, full))
        except (KeyError, ValueError) as err:
            print(f"error: {like.name}: {err.args[0]}")
            return 1
        total += value
        print(f"{like.name:40s} ln L = {value:14.6f}   chi2 = {-2 * value:12.6f}")
    print(f"{'total':40s} ln L = {total:14.6f}   chi2 = {-2 * total:12.6f}")
    used = {k: v for k, v in full.items() if k in combo.defaults or k in combo.requirements.params}
    if used:
        print("parameters: " + ", ".join(f"{k} = {v:g}" for k, v in sorted(used.items())))
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("loglike", help="log-likelihoods of theory spectra from a CAMB-style text file",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", metavar="NAME", help="likelihood names (see --list)")
    p.add_argument("--list", action="store_true", help="print the available likelihoods")
    p.add_argument("--cls", metavar="FILE", help="theory spectra, CAMB column convention (see above)")
    p.add_argument("--lensing-column", choices=["pp", "kk"], default="pp", help="units of the 6th column")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="parameter value, repeatable")
    p.add_argument("--data-dir", help="data directory (default: $COSMO_DATA_DIR)")
    p.set_defaults(func=cmd_loglike)
