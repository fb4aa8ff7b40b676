"""tympan.data.extract: every crafted archive refused with nothing written, real archives extracted whole."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from tympan.core import errors
from tympan.core.errors import IntegrityError, UnsafeArchiveError
from tympan.plugins.datasets.extractor import COMPLETE_MARKER, ExtractionLimits, extract, is_extracted
from tympan.testing.archives import crafted_archives, files_outside


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every path under root: file bytes, a link's target, or 'dir'."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                found[key] = "dir"
            else:
                found[key] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> list:
    return crafted_archives(tmp_path_factory.mktemp("crafted"))


def test_every_crafted_archive_is_refused_and_writes_nothing(crafted: list, tmp_path: Path) -> None:
    top = tmp_path / "sandbox"
    root = top / "data" / "root"
    root.mkdir(parents=True)
    (root / "kept.txt").write_text("before")
    outcomes = {}
    for case in crafted:
        with pytest.raises((UnsafeArchiveError, IntegrityError)) as caught:
            extract(case.path, root, progress=False)
        outcomes[case.name] = type(caught.value).__name__
        assert case.path.name in str(caught.value)  # the error names the archive
        assert _tree(root) == {"kept.txt": b"before"}, case.name  # no partial files, no marker
    assert outcomes == {case.name: case.error for case in crafted}
    assert files_outside(top, root) == [top / "data"]
    leaked = [p for p in files_outside(crafted[0].path.parent, Path("/nonexistent")) if "evil" in p.name]
    assert leaked == [] and not Path("/tmp/evil.txt").exists()


def test_the_errors_name_the_member(crafted: list, tmp_path: Path) -> None:
    by_name = {case.name: case for case in crafted}
    with pytest.raises(UnsafeArchiveError, match=r"member '\.\./evil\.txt' has a '\.\.' component"):
        extract(by_name["tar-traversal"].path, tmp_path, progress=False)
    with pytest.raises(UnsafeArchiveError, match=r"symlink 'corpus/link' points to '\.\./\.\./outside'"):
        extract(by_name["zip-symlink-escape"].path, tmp_path, progress=False)
    with pytest.raises(UnsafeArchiveError, match=r"member 'corpus/null' is a device"):
        extract(by_name["tar-char-device"].path, tmp_path, progress=False)
    with pytest.raises(UnsafeArchiveError, match=r"link 'b' resolves outside the root"):
        extract(by_name["tar-symlink-chain"].path, tmp_path, progress=False)
    with pytest.raises(UnsafeArchiveError, match=r"overlap"):
        extract(by_name["zip-overlapping-bomb"].path, tmp_path, progress=False)


_ENTRIES = [
    ("LibriSpeech/README.TXT", b"readme\n"),
    ("LibriSpeech/dev-clean/19/198/19-198.trans.txt", b"19-198-0000 HELLO\n"),
    ("LibriSpeech/dev-clean/19/198/19-198-0000.flac", os.urandom(3000)),
]


def _corpus_entries() -> list[tuple[str, bytes]]:
    return _ENTRIES


def _write_tar(path: Path, mode: str, links: bool = True) -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in _corpus_entries():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        if links:
            link = tarfile.TarInfo("LibriSpeech/latest")
            link.type, link.linkname = tarfile.SYMTYPE, "dev-clean"
            tar.addfile(link)
            hard = tarfile.TarInfo("LibriSpeech/COPY.TXT")
            hard.type, hard.linkname = tarfile.LNKTYPE, "LibriSpeech/README.TXT"
            tar.addfile(hard)
    return path


@pytest.mark.parametrize("mode,suffix", [("w", ".tar"), ("w:gz", ".tar.gz"), ("w:bz2", ".tar.bz2"), ("w:xz", ".tgz")])
def test_tar_of_every_compression_extracts_whole(tmp_path: Path, mode: str, suffix: str) -> None:
    archive = _write_tar(tmp_path / f"corpus{suffix}", mode)
    root = extract(archive, tmp_path / "root", progress=False)
    tree = _tree(root)
    for name, data in _corpus_entries():
        assert tree[name] == data
    assert tree["LibriSpeech/latest"] == "-> dev-clean" and tree["LibriSpeech/COPY.TXT"] == b"readme\n"
    assert (root / "LibriSpeech/latest/19/198/19-198.trans.txt").read_bytes() == b"19-198-0000 HELLO\n"
    assert is_extracted(archive, root) and not list(root.glob(".tympan-extract*"))


def test_zip_extracts_whole_with_inner_symlinks(tmp_path: Path) -> None:
    archive = tmp_path / "corpus.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in _corpus_entries():
            zipped.writestr(name, data)
        link = zipfile.ZipInfo("LibriSpeech/latest")
        link.create_system, link.external_attr = 3, 0o120777 << 16
        zipped.writestr(link, "dev-clean")
    root = extract(archive, tmp_path / "root", progress=False)
    tree = _tree(root)
    assert all(tree[name] == data for name, data in _corpus_entries())
    assert tree["LibriSpeech/latest"] == "-> dev-clean"


def test_two_archives_merge_into_one_corpus_folder_and_are_not_redone(tmp_path: Path) -> None:
    first = _write_tar(tmp_path / "dev.tar.gz", "w:gz", links=False)
    second = tmp_path / "test.tar.gz"
    with tarfile.open(second, "w:gz") as tar:
        info = tarfile.TarInfo("LibriSpeech/test-clean/1/2/1-2.trans.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"x y\n"))
    root = tmp_path / "root"
    extract(first, root, progress=False)
    stamp = (root / "LibriSpeech/README.TXT").stat().st_mtime_ns
    extract(second, root, progress=False)
    extract(first, root, progress=False)  # recorded in the marker: not extracted again
    assert (root / "LibriSpeech/README.TXT").stat().st_mtime_ns == stamp
    assert (root / "LibriSpeech/test-clean/1/2/1-2.trans.txt").exists()
    assert is_extracted(first, root) and is_extracted(second, root)


def test_a_half_extracted_folder_without_the_marker_is_redone(tmp_path: Path) -> None:
    archive = _write_tar(tmp_path / "corpus.tar.gz", "w:gz", links=False)
    root = tmp_path / "root"
    (root / "LibriSpeech/dev-clean/19/198").mkdir(parents=True)
    (root / "LibriSpeech/dev-clean/19/198/19-198.trans.txt").write_bytes(b"19-198-00")  # cut short
    (root / ".tympan-extract-stale").mkdir()
    extract(archive, root, progress=False)
    assert (root / "LibriSpeech/dev-clean/19/198/19-198.trans.txt").read_bytes() == b"19-198-0000 HELLO\n"
    assert sorted(p.name for p in root.iterdir()) == [COMPLETE_MARKER, "LibriSpeech"]


def test_limits_are_overridable(tmp_path: Path) -> None:
    archive = _write_tar(tmp_path / "corpus.tar", "w", links=False)
    with pytest.raises(UnsafeArchiveError, match="more than 2 members"):
        extract(archive, tmp_path / "a", limits=ExtractionLimits(max_members=2), progress=False)
    with pytest.raises(UnsafeArchiveError, match="expands past 1000 bytes"):
        extract(archive, tmp_path / "b", limits=ExtractionLimits(max_total_bytes=1000), progress=False)
    assert list((tmp_path / "a").iterdir()) == [] and list((tmp_path / "b").iterdir()) == []
    with pytest.raises(ValueError, match="max_ratio must be positive"):
        ExtractionLimits(max_ratio=0)


def test_a_missing_archive_is_an_integrity_error(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError, match=r"absent\.tar\.gz: no such archive"):
        extract(tmp_path / "absent.tar.gz", tmp_path / "root", progress=False)
    assert issubclass(IntegrityError, errors.TympanError)
