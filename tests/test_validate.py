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

from cosmo.oracle.cosmologies import COSMOLOGIES
from inference import cli
from inference.validate import L_RANGES, delta_chi2, load_reference, spectrum_errors, worst

from .conftest import requires_classy, requires_data


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
                       "--history", str(history), "--label", "small subset"])
    payload = json.loads((out / "report" / "validation.json").read_text())
    return status, payload, out / "report", history


@requires_data
def test_validate_command_small_subset(small_run):
    """planck2018, default preset, l_max 500: lensed TT/EE/TE and phi-phi within 1e-3 of CLASS
    cl_ref, linear P(k) (k in [1e-4, 1] /Mpc, z = 0, 2) within 1e-3 and sigma8 within 5e-4; report files, our spectra and a history line are written; the exit status reports the
    failures (BB: see the module docstring)."""
    status, payload, out, history = small_run
    (res,) = payload["results"]
    w = worst(res)
    print(w, res["delta_chi2"])
    assert max(w["tt"], w["ee"], w["te"], w["pp"]) < 1e-3
    assert w["pk"] < 1e-3 and w["sigma8"] < 5e-4 and set(res["matter"]) == {"z=0", "z=2", "sigma8"}
    assert status == 1 and f"planck2018: bb {w['bb']:.2e} > 1e-02" in payload["failures"]
    assert all(f.startswith(("planck2018: bb", "planck2018: dchi2")) for f in payload["failures"])
    assert (out / "validation.md").read_text().startswith("# Validation against CLASS cl_ref")
    # both codes see CLASS's Y_He (its BBN table reading is jagged in omega_b); ours from BBN is reported
    from cosmo.oracle.classy_runner import make_classy
    class_yhe = make_classy(COSMOLOGIES["planck2018"], "RECFAST").get_current_derived_parameters(["YHe"])["YHe"]
    assert res["YHe"]["class"] == pytest.approx(class_yhe, rel=1e-12)
    assert res["YHe"]["ours_bbn"] != res["YHe"]["class"] and abs(res["YHe"]["relative"]) < 4e-5
    assert "Helium: our solver runs with CLASS's Y_He" in (out / "validation.md").read_text()
    assert (out / "residuals.png").stat().st_size > 10_000
    assert np.load(out / "spectra_planck2018.npz")["lensed_tt"].shape == (501,)
    line = json.loads(history.read_text().splitlines()[-1])
    assert line["preset"] == "default" and set(line["worst"]["planck2018"]) >= {"tt", "ee", "te", "bb", "pp", "dchi2"}
    assert line["label"] == "small subset" and line["class_default_seconds"]["planck2018"] > 0


@requires_data
@requires_classy
def test_report_has_the_class_default_row(small_run):
    """CLASS at its default precision, run and timed beside ours and compared with cl_ref as ours is:
    at l_max 500 its lensed TT is ~5e-3 from cl_ref (lensing needs the multipoles above l_max)."""
    _, payload, out, _ = small_run
    (res,) = payload["results"]
    cd = res["class_default"]
    assert cd["seconds"] > 0 and set(cd["delta_chi2"]) == {"plik_lite+lowl", "planck_lensing"}
    assert worst(cd)["tt"] > 1e-3 > worst(res)["tt"]
    table = (out / "validation.md").read_text()
    assert "| CLASS default |" in table and "time / CLASS default" in table


@requires_classy
def test_live_reference_is_cached_with_its_parameters(tmp_path):
    from cosmo.oracle.cosmologies import latin_hypercube
    from inference.validate import live_reference

    name, params = next(iter(latin_hypercube(2, seed=1).items()))
    ref = live_reference(name, params, tmp_path, precision="default")
    assert ref["lensed"]["tt"].shape == (2501,) and ref["unlensed"]["pp"].shape[0] > 2501
    path = tmp_path / f"lensed_default_recfast_{name}.npz"
    mtime = path.stat().st_mtime
    again = live_reference(name, params, tmp_path, precision="default")
    assert path.stat().st_mtime == mtime and np.array_equal(again["lensed"]["ee"], ref["lensed"]["ee"])
    with pytest.raises(ValueError, match="other parameters"):
        live_reference(name, {**params, "h": 0.7}, tmp_path, precision="default")

    # cl_ref cache files from before the converged RECFAST tolerance, with cl_ref.pre's l sampling
    # (CLASS splines its C_l between sampled multipoles), its Bessel sampling (12 nodes per 2 pi:
    # CLASS's TT low by 2-8e-5) or its Limber cut (phi-phi truncated at high L) are refused, not reused
    stale = tmp_path / f"lensed_high_recfast_{name}.npz"
    from cosmo.oracle.classy_runner import REFERENCE_META

    current = {k: v for k, v in REFERENCE_META.items() if k != "hyper_sampling_flat"}
    for meta, why in (({}, "'thermo_tol': None"), ({"thermo_tol": 1e-8}, "'l_linstep': None"),
                      ({"thermo_tol": 1e-8, "l_logstep": 1.026, "l_linstep": 25}, "'l_logstep': 1.026, 'l_linstep': 25"),
                      ({**current, "hyper_sampling_flat": 12.0}, "'hyper_sampling_flat': 12.0"),
                      (current, "'hyper_sampling_flat': None"),
                      ({k: v for k, v in REFERENCE_META.items() if k != "k_max_limber_over_l_max_scalars"},
                       "'k_max_limber_over_l_max_scalars': None")):
        np.savez(stale, meta=np.asarray(json.dumps({"params": params, "precision": "high", **meta})))
        with pytest.raises(ValueError, match=r"other reference settings \(\{[^}]*" + why):
            live_reference(name, params, tmp_path, precision="high")


def test_stored_hypercube_references_match_their_points():
    """validation/class_references holds CLASS cl_ref spectra of points of the 50-point hypercube
    (seed 0): each file is for the parameters the hypercube generator gives that point today and
    was made with the current reference settings (else it would be refused when used), and
    :func:`inference.validate._reference_for` finds it without computing anything."""
    from cosmo.oracle.classy_runner import REFERENCE_META
    from cosmo.oracle.cosmologies import latin_hypercube
    from inference.validate import HYPERCUBE_REFERENCE_DIR, _reference_for

    files = sorted(HYPERCUBE_REFERENCE_DIR.glob("lensed_high_recfast_lhs*.npz"))
    assert files, "no stored hypercube reference"
    points = latin_hypercube(50, seed=0)
    for path in files:
        name = path.name.removeprefix("lensed_high_recfast_").removesuffix(".npz")
        meta = json.loads(str(np.load(path)["meta"]))
        assert meta["params"] == json.loads(json.dumps(points[name])), name
        assert {k: meta.get(k) for k in REFERENCE_META} == REFERENCE_META, name
    nowhere = HYPERCUBE_REFERENCE_DIR / "absent"  # no named reference, no cache: only the stored file
    ref = _reference_for(name, points[name], nowhere, None, None)
    assert not nowhere.exists()
    assert ref["lensed"]["tt"].shape == (2501,) and np.all(ref["lensed"]["tt"][2:] > 0)


def _fake_result(name, tt, dchi2):
    rows = {"2-29": {"max": tt, "rms": tt / 2, "max_cv": 0.01, "l_worst": 10}}
    return {"name": name, "params": {}, "seconds_first": 90.0, "seconds_warm": 50.0,
            "lensed": {k: rows for k in ("tt", "ee", "te", "bb")}, "unlensed": {"pp": rows},
            "delta_chi2": {"plik_lite+lowl": dchi2, "planck_lensing": 0.0},
            "class_default": {"seconds": 2.0, "lensed": {"tt": rows}, "delta_chi2": {"plik_lite+lowl": 3.0}}}


def test_merge_of_job_array_reports_and_history_plot(tmp_path):
    from inference import validate_report as vr
    from inference.validate import TOLERANCES, append_history

    meta = {"preset": "default", "l_max": 2500, "tolerances": TOLERANCES, "commit": "abc", "date": "2026-11-30",
            "reference": "high"}
    for i in range(8):  # eight tasks, one point each: the merged report is the summary figure
        vr.write_report(tmp_path / f"task{i}", [_fake_result(f"lhs8_s0_{i:02d}", 2e-4 * (i + 1), 0.03 * i)], [], meta)
    results, fails = vr.merge(sorted(tmp_path.glob("task*")), tmp_path / "merged")
    assert [r["name"] for r in results] == [f"lhs8_s0_{i:02d}" for i in range(8)]
    assert "lhs8_s0_05: tt 1.20e-03 > 1e-03" in fails and "lhs8_s0_04: dchi2 1.20e-01 > 1e-01" in fails
    assert {f.split(":")[0] for f in fails} == {f"lhs8_s0_{i:02d}" for i in (4, 5, 6, 7)}
    md = (tmp_path / "merged" / "validation.md").read_text()
    assert "| dchi2 plik_lite+lowl | +0.210 | lhs8_s0_07 (4 of 8 within 0.1) |" in md
    assert (tmp_path / "merged" / "residuals.png").stat().st_size > 20_000
    vr.write_report(tmp_path / "fast", [_fake_result("x", 1e-4, 0.0)], [], {**meta, "preset": "fast"})
    with pytest.raises(ValueError, match="different preset"):
        vr.merge([tmp_path / "task0", tmp_path / "fast"], tmp_path / "bad")
    history = tmp_path / "history.jsonl"
    append_history(history, results[:4], meta, label="first")
    append_history(history, results, meta)
    lines = [json.loads(x) for x in history.read_text().splitlines()]
    assert lines[0]["label"] == "first" and len(lines[1]["worst"]) == 8
    vr.plot_history(history, tmp_path / "history.png")
    assert (tmp_path / "history.png").stat().st_size > 20_000


@requires_data
def test_small_subset_meets_the_delta_chi2_target(small_run):
    """planck2018, l <= 500, against the cl_ref with RECFAST at 1e-8: |Delta chi^2| <= 0.1 (a strict
    xfail until 2026-11-30 (d); CLASS's constants, 4 Mpc late nodes at l <= 400 and the converged
    reference brought it to -0.0999: inside the target by 1.4e-4, far above rounding differences).
    Against the reference with CLASS's l steps 1.01 / 8 (2026-11-30 (e)) the full l_max = 2500 solve
    was at -0.086 on all of plik_lite + low-l, its l <= 500 part at -0.096; with the 32-node Bessel
    sampling of the reference and our quintic splines and refined low-l k grid (2026-11-30 (f)):
    -0.025 and -0.032; with the spectrally accurate time quadrature and CLASS's Y_He (2026-12-01)
    the full solve is at -0.027 (l = 30-500: -0.026)."""
    _, payload, _, _ = small_run
    print(payload["results"][0]["delta_chi2"])
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
