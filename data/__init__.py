"""data: the dataset registry.

For every dataset the likelihoods use: its official upstream location, files and sha256
(``SHA256SUMS``), and helpers that find, verify and install it in a user-configured data
directory (``cosmo data list | verify | install``). Data files are never committed.
"""

from .registry import DATA_DIR_ENV, DATASETS, DataError, Dataset, data_dir, dataset_path, install, require, verify

__all__ = ["DATASETS", "DATA_DIR_ENV", "DataError", "Dataset", "data_dir", "dataset_path", "install", "require", "verify"]
