"""data: the dataset registry (to come).

For every dataset the likelihoods use: its official upstream location, files and
sha256, and loaders reading from a user-configured data directory
(``cosmo data list | verify | install``). Data files are never committed.
"""
