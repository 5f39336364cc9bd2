"""The dataset registry: where every dataset officially comes from, its files and their sha256.

The data themselves are never part of this repository. They live in a *data directory* the
user chooses (``--data-dir`` option, else the ``COSMO_DATA_DIR`` environment variable, else
``~/.local/share/cosmo-jax/data``), laid out as ``<data dir>/<dataset>/<file>``:

    cosmo data list                      # datasets, their sources, installed or not
    cosmo data verify [NAME ...]         # sha256 of every file
    cosmo data install NAME --from DIR   # copy from a local mirror (e.g. a cluster's shared copy)
    cosmo data install NAME              # download from the official location, then verify

``SHA256SUMS`` (next to this module) holds the checksum of every file, as ``sha256sum -c``
reads it, with paths relative to the data directory.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import os
import pathlib
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable

#: Environment variable naming the data directory.
DATA_DIR_ENV = "COSMO_DATA_DIR"
#: Used when neither an option nor the environment variable names a data directory.
DEFAULT_DATA_DIR = pathlib.Path.home() / ".local" / "share" / "cosmo-jax" / "data"

_HERE = pathlib.Path(__file__).parent
#: Base of the raw-file URLs of the upstream git repositories.
RAW_BASE = "https://raw.githubusercontent.com"


class DataError(RuntimeError):
    """A dataset is missing, incomplete or corrupt (the message says how to fix it)."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One dataset: a folder of files in the data directory.

    ``repository``/``branch``/``prefix`` give the public git repository the files are downloaded
    from (``<RAW_BASE>/<repository>/<branch>/<prefix><remote name>``, RAW_BASE =
    https://raw.githubusercontent.com);
    ``official`` names the collaboration's own release the files come from; ``renamed`` maps a
    local file name to its name upstream where they differ.
    """

    name: str
    description: str
    official: str
    repository: str
    branch: str
    prefix: str
    citation: str
    renamed: tuple[tuple[str, str], ...] = ()
    #: ``"package:folder"``: an installed Python package that also ships these files (in ``folder``
    #: below the package), used by :func:`locate` when the data directory lacks them.
    package_copy: str = ""

    def url(self, file: str) -> str:
        remote = dict(self.renamed).get(file, file)
        return f"{RAW_BASE}/{self.repository}/{self.branch}/{self.prefix}{urllib.parse.quote(remote)}"

    @property
    def files(self) -> dict[str, str]:
        """File name (relative to the dataset folder) -> sha256."""
        return {path.split("/", 1)[1]: sha for path, sha in checksums().items() if path.split("/", 1)[0] == self.name}


_CANDL = ("Lbalkenhol/candl_data", "main")
_COBAYA_SUPP = ("CobayaSampler/planck_supp_data_and_covmats", "master")
_PLANCK_LITE_PY = ("heatherprince/planck-lite-py", "master")

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "planck2018_plik_lite",
            "Planck 2018 plik_lite v22 high-l TT/TE/EE, foreground-marginalised (613 bins, l = 30-2508)",
            "Planck Legacy Archive, COM_Likelihood_Data-baseline_R3.00 (plik_lite_v22)",
            *_PLANCK_LITE_PY, "data/planck2018_plik_lite/",
            "Planck 2018 V (arXiv:1907.12875); Prince & Dunkley 2019 (arXiv:1909.05869)",
        ),
        Dataset(
            "planck2018_lowl_TT_bins",
            "Planck 2018 low-l TT as two Gaussian bins (l = 2-15, 16-29) of the Commander likelihood",
            "Prince & Dunkley 2019 (arXiv:1909.05869), from the Planck 2018 Commander likelihood",
            *_PLANCK_LITE_PY, "data/planck2018_low_ell/",
            "Prince & Dunkley 2019 (arXiv:1909.05869); Planck 2018 V",
        ),
        Dataset(
            "planck2018_lensing",
            "Planck 2018 (PR3) lensing bandpowers, conservative L = 8-400, with and without CMB marginalisation",
            "Planck Legacy Archive, COM_Lensing_4096_R3.00 (CosmoMC dataset format)",
            *_COBAYA_SUPP, "lensing/2018/",
            "Planck 2018 VIII (arXiv:1807.06210)",
        ),
        Dataset(
            "planck2018_covmats",
            "Planck 2018 parameter covariance matrices (CosmoMC names): starting mass matrices",
            "Planck Legacy Archive, COM_CosmoParams_fullGrid_R3.01",
            *_COBAYA_SUPP, "covmats/",
            "Planck 2018 VI (arXiv:1807.06209)",
        ),
        Dataset(
            "spt3g_2018_ttteee_lite",
            "SPT-3G 2018 TT/TE/EE CMB-lite (123 bandpowers, l <= 3200 windows, calibration + tau priors)",
            "SPT-3G collaboration release via candl_data (MIT)",
            *_CANDL, "candl_data/SPT3G_2018_TTTEEE_v0/",
            "Balkenhol et al. 2023 (arXiv:2212.05642); Balkenhol 2024 (arXiv:2412.00826)",
        ),
        Dataset(
            "spt3g_2018_lensing",
            "SPT-3G 2018 lensing (12 bins), lens-only and CMB-corrected response",
            "SPT-3G collaboration release via candl_data (MIT)",
            *_CANDL, "candl_data/SPT3G_2018_Lens_v0/",
            "Pan et al. 2023 (arXiv:2308.11608)",
        ),
        Dataset(
            "act_dr6_lensing",
            "ACT DR6 lensing, lens-only (10 bins; Hartlap correction, 792 simulations)",
            "ACT collaboration release via candl_data (MIT)",
            *_CANDL, "candl_data/ACT_DR6_Lens_v1/",
            "Madhavacheril et al. 2023 (arXiv:2304.05203); Qu et al. 2023 (arXiv:2304.05202)",
        ),
        Dataset(
            "bao",
            "BAO: DESI DR2 and DR1 Gaussian means + covariances, SDSS DR12 consensus, DR16 LRG, MGS",
            "DESI DR2/DR1 and SDSS DR12/DR16/MGS releases, in Cobaya's bao_data conventions",
            "CobayaSampler/bao_data", "master", "",
            "DESI DR2 (arXiv:2503.14738); DESI 2024 III (arXiv:2404.03002); Alam et al. 2017, 2021; Ross et al. 2015",
        ),
        Dataset(
            "hyrec2020",
            "HyRec 2020 atomic tables: effective 2s/2p recombination coefficients and 2p-2s rate of the "
            "effective multilevel atom, and the SWIFT correction function (recombination = 'hyrec')",
            "HyRec-2 as distributed with CLASS v3.3.4 (external/HyRec2020; also installed by classy 3.3.4)",
            "lesgourg/class_public", "v3.3.4", "external/HyRec2020/",
            "Ali-Haimoud & Hirata 2011 (arXiv:1011.3758); Lee & Ali-Haimoud 2020 (arXiv:2007.14114)",
            package_copy="classy:external/HyRec2020",
        ),
        Dataset(
            "reference",
            "A test theory spectrum (l, D_TT, D_TE, D_EE in muK^2, l = 2..2510) with known plik_lite values",
            "planck-lite-py test spectrum",
            *_PLANCK_LITE_PY, "data/",
            "Prince & Dunkley 2019 (arXiv:1909.05869)",
            renamed=(("planck_lite_test_Dl.dat", "Dl_planck2015fit.dat"),),
        ),
    )
}


@functools.cache
def checksums() -> dict[str, str]:
    """``<dataset>/<file>`` -> sha256, from ``SHA256SUMS``."""
    out = {}
    for line in (_HERE / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            sha, path = line.split(maxsplit=1)
            out[path.strip()] = sha
    return out


def data_dir(explicit: str | os.PathLike | None = None) -> pathlib.Path:
    """The data directory: ``explicit``, else ``$COSMO_DATA_DIR``, else ``DEFAULT_DATA_DIR``."""
    if explicit is not None:
        return pathlib.Path(explicit).expanduser()
    env = os.environ.get(DATA_DIR_ENV)
    return pathlib.Path(env).expanduser() if env else DEFAULT_DATA_DIR


def get(name: str) -> Dataset:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _fix_hint(name: str) -> str:
    return (f"install it with `cosmo data install {name}` (downloads from {get(name).repository}), "
            f"or `cosmo data install {name} --from DIR` from a local copy, or point {DATA_DIR_ENV} "
            "at a data directory that holds it")


def sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dataset_path(name: str, file: str | None = None, root: str | os.PathLike | None = None) -> pathlib.Path:
    """Path of a dataset's folder (or one of its files) in the data directory; checks existence.

    Raises ``DataError`` naming the dataset, the expected path and the command that fixes it.
    Contents are checked by :func:`verify`, not here (hashing on every load would be slow).
    """
    get(name)
    folder = data_dir(root) / name
    path = folder / file if file else folder
    if not path.exists():
        raise DataError(f"dataset {name!r}: {path} not found; {_fix_hint(name)}")
    return path


def verify(name: str, root: str | os.PathLike | None = None) -> list[str]:
    """Problems with an installed dataset (missing files, sha256 mismatches); empty if sound."""
    folder = data_dir(root) / name
    problems = []
    for file, expected in get(name).files.items():
        path = folder / file
        if not path.exists():
            problems.append(f"missing {path}")
        elif sha256(path) != expected:
            problems.append(f"sha256 mismatch {path} (expected {expected})")
    return problems


def require(name: str, root: str | os.PathLike | None = None) -> pathlib.Path:
    """The dataset's folder after a full checksum verification (raises ``DataError`` if unsound)."""
    problems = verify(name, root)
    if problems:
        raise DataError(f"dataset {name!r} in {data_dir(root)} is incomplete or corrupt: "
                        + "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "") + f"; {_fix_hint(name)}")
    return data_dir(root) / name


def locate(name: str, root: str | os.PathLike | None = None) -> pathlib.Path:
    """Folder of a dataset whose every file has its registered sha256: the data directory's, else
    (datasets with a ``package_copy``) the copy an installed package ships. Raises ``DataError``."""
    problems = verify(name, root)
    if not problems:
        return data_dir(root) / name
    ds = get(name)
    if ds.package_copy:
        package, sub = ds.package_copy.split(":", 1)
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            folder = pathlib.Path(spec.origin).parent / sub
            if all((folder / f).is_file() and sha256(folder / f) == sha for f, sha in ds.files.items()):
                return folder
            problems.append(f"nor a sound copy in {folder} (package {package})")
        else:
            problems.append(f"nor the package {package!r} that ships a copy")
    raise DataError(f"dataset {name!r} in {data_dir(root)} is incomplete or corrupt: "
                    + "; ".join(problems[:4]) + f"; {_fix_hint(name)}")


def _fetch(url: str, dest: pathlib.Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as f:
        shutil.copyfileobj(response, f)


def install(
    name: str,
    root: str | os.PathLike | None = None,
    source: str | os.PathLike | None = None,
    mirror: str | None = None,
    timeout: float = 60.0,
    progress: Callable[[Iterable[str]], Iterable[str]] | None = None,
) -> pathlib.Path:
    """Install a dataset into the data directory and verify every file's sha256.

    ``source``: a local directory laid out like a data directory (copy from there);
    ``mirror``: a base URL laid out like a data directory (``<mirror>/<dataset>/<file>``);
    neither: download from the official location (:meth:`Dataset.url`). Each file is written
    to a temporary name and renamed only after its checksum matches, so an interrupted or
    corrupt transfer never leaves a file that looks installed.
    """
    ds = get(name)
    folder = data_dir(root) / name
    files = ds.files
    names: Iterable[str] = progress(list(files)) if progress else files
    for file in names:
        dest = folder / file
        if dest.exists() and sha256(dest) == files[file]:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
        os.close(fd)
        tmp = pathlib.Path(tmp_name)
        try:
            if source is not None:
                src = pathlib.Path(source).expanduser() / name / file
                if not src.exists():
                    raise DataError(f"dataset {name!r}: {src} not found in the source directory {source}")
                shutil.copyfile(src, tmp)
            else:
                url = (f"{mirror.rstrip('/')}/{name}/{urllib.parse.quote(file)}" if mirror else ds.url(file))
                try:
                    _fetch(url, tmp, timeout)
                except OSError as err:
                    raise DataError(f"dataset {name!r}: download of {url} failed ({err})") from err
            got = sha256(tmp)
            if got != files[file]:
                raise DataError(f"dataset {name!r}: {file} has sha256 {got}, expected {files[file]} (source changed "
                                "or transfer corrupt); nothing was installed for this file")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    return folder
