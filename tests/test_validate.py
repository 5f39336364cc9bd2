"""``cosmo validate``: the metrics on known inputs, and a small validation run in CI.

The CI subset is planck2018 at l_max = 500 with the default preset against the stored CLASS
cl_ref references, with the real targets for l <= 500 (1e-3 for TT, EE, TE and phi-phi, |Delta
chi^2| <= 0.1, which then measures l <= 500 only). Lensed BB is left out there: with l_max = 500
the unlensed E and phi enter only to l = 1500 (CLASS: 3500), which moves BB at l ~ 500 by 3.5%. The full sweep (l_max 2500, four
cosmologies) is ``cosmo validate`` (minutes per cosmology) and its table is in CHANGELOG.md.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference import cli
from inference.validate import L_RANGES, delta_chi2, load_reference, spectrum_errors, worst

from .conftest import requires_data


def test_spectrum_errors_on_known_offsets():
    ell = np.arange(601)
    ref = {"tt": 1.0 / (1.0 + ell) ** 2, "ee": 0.01 / (1.0 + ell), "te": 0.05 / (1.0 + ell) ** 1.5}
    ours = {"tt": ref["tt"] * (1 + 1e-3), "ee": ref["ee"] * np.where(ell == 100, 1 - 4e-3, 1.0),
            "te": ref["te"] + 2e-4 * np.sqrt(ref["tt"] * ref["ee"])}
    err = spectrum_errors(ours, ref, 600, ("tt", "ee", "te"))
    assert list(err["tt"]) == ["2-29", "30-499", "500-600"]  # ranges cut at l_max
    np.testing.assert_allclose([r["max"] for r in err["tt"].values()], 1e-3, rtol=1e-9)
    np.testing.assert_allclose([r["rms"] for r in err["tt"].values()], 1e-3, rtol=1e-9)
    # cosmic-variance units: 1e-3 / sqrt(2/(2l+1)), largest at the top of each range
    np.testing.assert_allclose(err["tt"]["30-499"]["max_cv"], 1e-3 / np.sqrt(2 / 999), rtol=1e-9)
    assert err["ee"]["30-499"]["l_worst"] == 100 and abs(err["ee"]["30-499"]["max"] - 4e-3) < 1e-12
    assert err["ee"]["2-29"]["max"] == 0.0
    np.testing.assert_allclose([r["max"] for r in err["te"].values()], 2e-4, rtol=1e-9)
    assert L_RANGES[0] == (2, 29)


@requires_data
def test_delta_chi2_vanishes_for_identical_spectra_and_grows_with_an_offset():
    ref = load_reference("planck2018")["lensed"]
    same = delta_chi2(ref, ref, 2.7255)
    assert all(v == 0.0 for v in same.values()) and set(same) == {"plik_lite+lowl", "planck_lensing"}
    shifted = delta_chi2({**ref, "tt": ref["tt"] * 1.01}, ref, 2.7255)
    assert shifted["plik_lite+lowl"] > 10.0
    pp = delta_chi2({**ref, "pp": ref["pp"] * 1.05}, ref, 2.7255)
    assert pp["planck_lensing"] > 1.0 and pp["plik_lite+lowl"] == 0.0


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """``cosmo validate planck2018 --l-max 500`` (default preset), run once for this module."""
    out = tmp_path_factory.mktemp("validate")
    history = out / "history.jsonl"
    status = cli.main(["validate", "planck2018", "--l-max", "500", "--out", str(out / "report"),
                       "--history", str(history)])
    payload = json.loads((out / "report" / "validation.json").read_text())
    return status, payload, out / "report", history


@requires_data
def test_validate_command_small_subset(small_run):
    """planck2018, default preset, l_max 500: lensed TT/EE/TE and phi-phi within 1e-3 of CLASS
    cl_ref; report files, our spectra and a history line are written; the exit status reports the
    failures (BB: see the module docstring)."""
    status, payload, out, history = small_run
    (res,) = payload["results"]
    w = worst(res)
    print(w, res["delta_chi2"])
    assert max(w["tt"], w["ee"], w["te"], w["pp"]) < 1e-3
    assert status == 1 and f"planck2018: bb {w['bb']:.2e} > 1e-02" in payload["failures"]
    assert all(f.startswith(("planck2018: bb", "planck2018: dchi2")) for f in payload["failures"])
    assert (out / "validation.md").read_text().startswith("# Validation against CLASS cl_ref")
    assert (out / "residuals.png").stat().st_size > 10_000
    assert np.load(out / "spectra_planck2018.npz")["lensed_tt"].shape == (501,)
    line = json.loads(history.read_text().splitlines()[-1])
    assert line["preset"] == "default" and set(line["worst"]["planck2018"]) >= {"tt", "ee", "te", "bb", "pp", "dchi2"}


@requires_data
@pytest.mark.xfail(strict=True, reason="Delta chi^2 on plik_lite+lowl is -0.10 from l <= 500 alone (EE and TE at "
                   "l = 200-500, ~3e-4 from CLASS cl_ref; -0.109 for l <= 2500), target |Delta chi^2| <= 0.1")
def test_small_subset_meets_the_delta_chi2_target(small_run):
    _, payload, _, _ = small_run
    assert abs(payload["results"][0]["delta_chi2"]["plik_lite+lowl"]) <= 0.1


@requires_data
@pytest.mark.slow
def test_fast_preset_accuracy_as_documented():
    """The fast preset (about 2x faster than the default for lensed C_l to l = 2500), planck2018
    against CLASS cl_ref, at its accuracy measured in CHANGELOG.md (2026-11-30 (b)): lensed
    TT 4.7e-4, EE 6.2e-4, TE 7.5e-4, BB 1.3e-3, phi-phi 6.2e-4, Delta chi^2 +0.085 on plik_lite + low-l."""
    from cosmo.oracle.cosmologies import COSMOLOGIES
    from inference.validate import validate_cosmology

    res = validate_cosmology("planck2018", COSMOLOGIES["planck2018"], "fast", 2500)
    w = worst(res)
    print(w, res["delta_chi2"])
    assert max(w["tt"], w["ee"], w["te"], w["pp"]) < 1e-3
    assert w["bb"] < 2e-3
    assert abs(res["delta_chi2"]["plik_lite+lowl"]) < 0.15
