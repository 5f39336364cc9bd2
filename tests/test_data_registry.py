"""The dataset registry: checksums, clear errors, install from a directory, a mirror and upstream URLs.

Downloads are exercised against an HTTP server on 127.0.0.1 serving a copy of the data laid
out as the upstream repositories are (``<repository>/<branch>/<prefix><file>``).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

import data
from data import registry

from .conftest import DATA_DIR, requires_data

pytestmark = requires_data
SMALL = "planck2018_lowl_TT_bins"  # 6 small files


@pytest.fixture
def http_root(tmp_path):
    """(root directory, base URL) of an HTTP server on 127.0.0.1 serving ``root``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_dataset_verifies_in_the_shared_data():
    for name, ds in data.DATASETS.items():
        if ds.package_copy:  # found in the data directory or in the package that ships it
            folder = registry.locate(name, DATA_DIR)
            assert all(registry.sha256(folder / f) == sha for f, sha in ds.files.items()), name
        else:
            assert data.verify(name, DATA_DIR) == [], name
    assert sum(len(d.files) for d in data.DATASETS.values()) == len(registry.checksums())


def test_missing_dataset_error_names_dataset_path_and_fix(tmp_path):
    with pytest.raises(data.DataError) as err:
        data.dataset_path("planck2018_plik_lite", root=tmp_path)
    msg = str(err.value)
    assert "planck2018_plik_lite" in msg and str(tmp_path / "planck2018_plik_lite") in msg
    assert "cosmo data install planck2018_plik_lite" in msg and "COSMO_DATA_DIR" in msg
    with pytest.raises(data.DataError, match="unknown dataset 'nope'"):
        data.dataset_path("nope")


def test_corrupt_file_is_detected(tmp_path):
    shutil.copytree(DATA_DIR / SMALL, tmp_path / SMALL)
    path = tmp_path / SMALL / "CTT_bin_low_ell_2018.dat"
    path.chmod(0o644)
    path.write_text(path.read_text().replace("8.5", "8.6", 1))
    problems = data.verify(SMALL, tmp_path)
    assert len(problems) == 1 and "sha256 mismatch" in problems[0] and "CTT_bin_low_ell_2018.dat" in problems[0]
    with pytest.raises(data.DataError, match=f"dataset '{SMALL}'.*corrupt.*cosmo data install {SMALL}"):
        data.require(SMALL, tmp_path)


def test_install_from_local_directory(tmp_path):
    folder = data.install(SMALL, root=tmp_path / "d", source=DATA_DIR)
    assert folder == tmp_path / "d" / SMALL and data.verify(SMALL, tmp_path / "d") == []


def test_install_from_mirror_and_from_upstream_urls(tmp_path, http_root, monkeypatch):
    root, base = http_root
    # a mirror laid out like a data directory
    shutil.copytree(DATA_DIR / "reference", root / "mirror" / "reference")
    data.install("reference", root=tmp_path / "a", mirror=f"{base}/mirror")
    assert data.verify("reference", tmp_path / "a") == []
    # upstream layout (repository/branch/prefix/remote name: the test spectrum is renamed upstream)
    ds = data.DATASETS["reference"]
    upstream = root / ds.repository / ds.branch / ds.prefix
    upstream.mkdir(parents=True)
    shutil.copyfile(DATA_DIR / "reference" / "planck_lite_test_Dl.dat", upstream / "Dl_planck2015fit.dat")
    monkeypatch.setattr(registry, "RAW_BASE", base)
    data.install("reference", root=tmp_path / "b")
    assert data.verify("reference", tmp_path / "b") == []


def test_corrupt_download_installs_nothing(tmp_path, http_root):
    root, base = http_root
    shutil.copytree(DATA_DIR / SMALL, root / SMALL)
    bad = root / SMALL / "bweight_low_ell.dat"
    bad.chmod(0o644)
    bad.write_text("1.0\n")
    with pytest.raises(data.DataError, match="bweight_low_ell.dat has sha256"):
        data.install(SMALL, root=tmp_path, mirror=base)
    assert not (tmp_path / SMALL / "bweight_low_ell.dat").exists()
    assert not list((tmp_path / SMALL).glob(".*"))  # no temporary files left behind
    with pytest.raises(data.DataError, match="download of .* failed"):
        data.install("reference", root=tmp_path, mirror=f"{base}/nothing-here")


def test_cli_data_commands(tmp_path, capsys):
    from inference.cli import main

    assert main(["data", "verify", "--data-dir", str(DATA_DIR)]) == 0
    assert main(["data", "install", SMALL, "--from", str(DATA_DIR), "--data-dir", str(tmp_path)]) == 0
    assert main(["data", "verify", SMALL, "--data-dir", str(tmp_path)]) == 0
    assert main(["data", "verify", "bao", "--data-dir", str(tmp_path)]) == 1
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "installed and verified" in out and "FAILED" in out
    assert "Planck Legacy Archive" in out and "not installed" in out


def test_locate_falls_back_to_the_copy_a_package_ships(tmp_path):
    """HyRec's tables: the data directory's copy if there, else the one classy installs (same sha256)."""
    folder = registry.locate("hyrec2020", tmp_path)
    assert folder != tmp_path / "hyrec2020" and "classy" in str(folder)
    with pytest.raises(data.DataError, match="bao"):
        registry.locate("bao", tmp_path)  # no package ships it
