"""Settings shared by every pytest run of the project: the unit tests and the doctests of ``src``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def session_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Point :mod:`tempfile` at a folder of this test process's own, removed when the session ends.

    Examples in docstrings make their files with ``tempfile.mkdtemp()`` as a reader would; without this, every
    run of the doctests left hundreds of megabytes (model weights, corpora) in the system's temporary folder.
    Subprocesses keep the system's folder (``TMPDIR`` is unchanged), and so do pytest's own ``tmp_path`` folders
    (its base folder is made first), which pytest keeps for the last three runs for a failed test's files.
    """
    tmp_path_factory.getbasetemp()
    folder = tempfile.mkdtemp(prefix="tympan-tests-")
    system, tempfile.tempdir = tempfile.tempdir, folder
    try:
        yield folder
    finally:
        tempfile.tempdir = system
        shutil.rmtree(folder, ignore_errors=True)
