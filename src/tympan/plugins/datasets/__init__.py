"""The datasets plugin: speech and audio corpora by name, downloaded and extracted safely.

- :mod:`~tympan.plugins.datasets.downloader`: resumable, verified, locked, atomic downloads.
- :mod:`~tympan.plugins.datasets.extractor`: one safe extractor for tar (any compression) and zip.

The public names are reached through :mod:`tympan.data`. Importing this package imports nothing else.

Example:
    >>> import tympan.plugins.datasets
    >>> tympan.plugins.datasets.__name__
    'tympan.plugins.datasets'
"""
