"""Random access with ``mmap=True``: binary float data as views of a private map of the archive.

Mapped values must equal the default reads and kaldiio's exactly (tolerance 0: the same bytes). That a
tensor views the map, rather than a copy, is shown by the one thing that tells them apart: bytes
rewritten in place in the archive show through a mapped tensor and not through a copied one (the caveat
the documentation states). Everything that is not a binary float object reads as by default.
"""

from __future__ import annotations

import concurrent.futures
import gc
import mmap
import pathlib
import signal
import subprocess
import sys
import threading
import time

import kaldiio
import numpy as np
import pytest
import torch

from tympan.plugins.kaldi import io as kaldi_io


def _floats() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {
        "fm": rng.standard_normal((37, 13)).astype(np.float32),  # data at byte 18: views need no alignment
        "dm": rng.standard_normal((9, 4)) * 1e3,
        "fv": rng.standard_normal(21).astype(np.float32),
        "dv": rng.standard_normal(6) * 1e-3,
        "fm-no-rows": np.zeros((0, 80), dtype=np.float32),
    }


def _assert_same(ours: torch.Tensor, theirs: np.ndarray) -> None:
    assert ours.numpy().dtype == theirs.dtype
    np.testing.assert_array_equal(ours.numpy(), theirs)  # tolerance 0: identical values


def _rewrite_in_place(path: pathlib.Path, old: np.ndarray, new: np.ndarray) -> None:
    """Overwrite ``old``'s bytes in the file with ``new``'s, same inode (what an in-place rewrite does)."""
    raw = path.read_bytes()
    at = raw.index(old.tobytes())
    with path.open("r+b") as handle:
        handle.seek(at)
        handle.write(new.tobytes())


@pytest.mark.parametrize("table", ["scp", "ark"])
def test_mapped_reads_equal_default_and_kaldiio_for_every_float_type(tmp_path: pathlib.Path, table: str) -> None:
    values = _floats()
    kaldiio.save_ark(str(tmp_path / "a.ark"), values, scp=str(tmp_path / "a.scp"))
    theirs = kaldiio.load_scp(str(tmp_path / "a.scp"))
    with (
        kaldi_io.open(f"{table}:{tmp_path}/a.{table}", mmap=True) as mapped,
        kaldi_io.open(f"{table}:{tmp_path}/a.{table}") as copied,
    ):
        for key, value in values.items():
            _assert_same(mapped[key], value)
            _assert_same(mapped[key], theirs[key])
            assert mapped[key].dtype == copied[key].dtype and torch.equal(mapped[key], copied[key])
            assert mapped[key].is_contiguous() and mapped.shape(key) == value.shape


@pytest.mark.parametrize("table", ["scp", "ark"])
def test_mapped_tensors_view_the_archive_and_copies_do_not(tmp_path: pathlib.Path, table: str) -> None:
    values = _floats()
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", values)
    with kaldi_io.open(f"{table}:{tmp_path}/a.{table}", mmap=True) as mapped:
        views = {key: mapped[key] for key in values}
    with kaldi_io.open(f"{table}:{tmp_path}/a.{table}") as copied:
        copies = dict(copied.items())
    for key, value in values.items():
        if value.size:
            _rewrite_in_place(tmp_path / "a.ark", value, -value)
            _assert_same(views[key], -value)
            _assert_same(copies[key], value)


def test_other_entries_read_as_by_default(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(5)
    matrix = np.arange(60, dtype=np.float32).reshape(12, 5)
    kaldi_io.write(f"ark,scp:{tmp_path}/f.ark,{tmp_path}/f.scp", {"m": matrix})
    kaldiio.save_ark(
        str(tmp_path / "c.ark"),
        {"cm": (rng.standard_normal((40, 6)) * 3).astype(np.float32), "cm2": rng.standard_normal((4, 6)) * 1.0},
        scp=str(tmp_path / "c.scp"),
        compression_method=1,
    )
    kaldi_io.write(f"ark,scp,t:{tmp_path}/t.ark,{tmp_path}/t.scp", {"tm": matrix, "tv": matrix[0]})
    kaldi_io.write(f"ark,scp:{tmp_path}/i.ark,{tmp_path}/i.scp", {"iv": np.array([3, -4, 2**31 - 1], np.int32)})
    location = (tmp_path / "f.scp").read_text().split()[1]
    ranges = {"rows": "[2:7]", "block": "[2:11,1:3]", "columns": "[:,4:4]", "none": "[5:5]"}
    (tmp_path / "r.scp").write_text("".join(f"{k} {location}{r}\n" for k, r in ranges.items()))
    lines = [(tmp_path / f"{name}.scp").read_text() for name in ("c", "t", "i", "r")]
    (tmp_path / "all.scp").write_text("".join(lines))
    theirs = kaldiio.load_scp(str(tmp_path / "all.scp"))
    with (
        kaldi_io.open(f"scp:{tmp_path}/all.scp", mmap=True) as mapped,
        kaldi_io.open(f"scp:{tmp_path}/all.scp") as copied,
    ):
        assert list(mapped) == list(copied) == list(theirs)
        for key in copied:
            assert mapped[key].dtype == copied[key].dtype and torch.equal(mapped[key], copied[key]), key
            assert mapped[key].is_contiguous(), key
            if key not in ("tm", "tv"):  # kaldiio types text by its first token; ours are float32
                _assert_same(mapped[key], theirs[key])
    for name in ("c", "t", "i"):  # whole archives, indexed by their headers
        with kaldi_io.open(f"ark:{tmp_path}/{name}.ark", mmap=True) as mapped:
            for key, value in kaldi_io.read(f"ark:{tmp_path}/{name}.ark"):
                assert torch.equal(mapped[key], value), key


def test_a_mapped_row_range_views_the_archive(tmp_path: pathlib.Path) -> None:
    matrix = np.arange(60, dtype=np.float32).reshape(12, 5)
    kaldi_io.write(f"ark,scp:{tmp_path}/f.ark,{tmp_path}/f.scp", {"m": matrix})
    location = (tmp_path / "f.scp").read_text().split()[1]
    (tmp_path / "r.scp").write_text(f"rows {location}[2:7]\ncols {location}[2:7,1:2]\n")
    with kaldi_io.open(f"scp:{tmp_path}/r.scp", mmap=True) as table:
        rows, cols = table["rows"], table["cols"]
    _rewrite_in_place(tmp_path / "f.ark", matrix, -matrix)
    _assert_same(rows, -matrix[2:8])
    _assert_same(cols, matrix[2:8, 1:3])  # a column range is a contiguous copy


def test_mapped_tensors_outlive_the_reader_and_an_atomic_rewrite(tmp_path: pathlib.Path) -> None:
    values = _floats()
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", values)
    by_scp = kaldi_io.open(f"scp:{tmp_path}/a.scp", mmap=True)
    by_ark = kaldi_io.open(f"ark:{tmp_path}/a.ark", mmap=True)
    kept = [(key, reader[key]) for reader in (by_scp, by_ark) for key in values]
    by_scp.close()
    by_ark.close()
    gc.collect()
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {k: np.zeros_like(v) for k, v in values.items()})
    for key, tensor in kept:
        _assert_same(tensor, values[key])
    with kaldi_io.open(f"scp:{tmp_path}/a.scp", mmap=True) as table:
        assert not torch.count_nonzero(table["fm"])  # the new archive


def test_writing_to_a_mapped_tensor_leaves_the_file_alone(tmp_path: pathlib.Path) -> None:
    values = _floats()
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", values)
    before = (tmp_path / "a.ark").read_bytes()
    with kaldi_io.open(f"scp:{tmp_path}/a.scp", mmap=True) as table:
        tensors = {key: table[key] for key in values}
        for tensor in tensors.values():
            tensor.fill_(7.0)
        again = table["fm"]
    for key, tensor in tensors.items():
        assert bool((tensor == 7.0).all()), key
    assert (tmp_path / "a.ark").read_bytes() == before
    assert bool((again == 7.0).all())  # one map per open file: this process sees its own copy
    with kaldi_io.open(f"scp:{tmp_path}/a.scp", mmap=True) as table:
        _assert_same(table["fm"], values["fm"])  # a new map shows the file


_TRUNCATE_AND_TOUCH = """
import os, sys
from tympan.plugins.kaldi import io as kaldi_io
folder = sys.argv[1]
with kaldi_io.open(f"scp:{folder}/a.scp", mmap=True) as table:
    tensor = table["big"]
os.truncate(f"{folder}/a.ark", 64)
print(float(tensor.sum()))
"""


def test_touching_a_mapped_tensor_of_a_truncated_archive_raises_sigbus(tmp_path: pathlib.Path) -> None:
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {"big": np.ones((256, 64), dtype=np.float32)})
    done = subprocess.run(
        [sys.executable, "-c", _TRUNCATE_AND_TOUCH, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGBUS, done.stderr


def test_threads_sharing_a_cached_file_share_one_map(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random access through an scp shares each open file between threads: however their first reads
    interleave (here the map takes 50 ms to make, so all four threads ask while it is made), the file is
    mapped once, and every tensor sees what another wrote, as the documentation states for one open file."""
    from tympan.plugins.kaldi.io import sources

    values = _floats()
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", values)
    made: list[int] = []
    real_map = mmap.mmap

    def slow_map(*args: object, **kwargs: object) -> mmap.mmap:
        made.append(1)
        time.sleep(0.05)
        return real_map(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sources.mmap, "mmap", slow_map)
    keys = ["fm", "dm", "fv", "dv"]
    with kaldi_io.open(f"scp:{tmp_path}/a.scp", mmap=True) as table:
        start = threading.Barrier(len(keys))

        def read(key: str) -> torch.Tensor:
            start.wait()
            return table[key]

        with concurrent.futures.ThreadPoolExecutor(len(keys)) as pool:
            tensors = dict(zip(keys, pool.map(read, keys), strict=True))
        for tensor in tensors.values():
            tensor.zero_()
        again = {key: table[key] for key in keys}
    assert len(made) == 1
    for key in keys:
        assert not torch.count_nonzero(again[key]), key
