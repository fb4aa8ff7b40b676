"""Malformed archives and scripts: a KaldiFormatError naming file, key and byte offset, before any big allocation.

Each case builds a small archive by hand. Allocations are traced with :mod:`tracemalloc` (numpy reports
its buffers to it): reading a file of a few dozen bytes whose header claims gigabytes must peak below
:data:`SMALL` bytes.
"""

from __future__ import annotations

import os
import pathlib
import pickle
import struct
import tracemalloc

import numpy as np
import pytest

from tympan.core.errors import KaldiFormatError
from tympan.plugins.kaldi import io as kaldi_io

#: The most a failed read of a tiny file may allocate (imports and bookkeeping, never the claimed data).
SMALL = 1 << 20


def _matrix(token: bytes, rows: int, cols: int, data: bytes = b"", markers: bytes = b"\4\4") -> bytes:
    return b"\0B" + token + b" " + markers[:1] + struct.pack("<i", rows) + markers[1:] + struct.pack("<i", cols) + data


GOOD = b"good " + _matrix(b"FM", 1, 2, np.ones(2, np.float32).tobytes())


def _random_access_error(rspecifier: str, key: str, mmap: bool) -> str:
    """The message of the KaldiFormatError that opening ``rspecifier`` or reading ``key`` from it raises."""
    with pytest.raises(KaldiFormatError) as caught, kaldi_io.open(rspecifier, mmap=mmap) as table:
        table[key]
    return str(caught.value)


def _same_random_access_error(rspecifier: str, key: str) -> None:
    """Mapping changes nothing in what a bad archive raises."""
    assert _random_access_error(rspecifier, key, mmap=True) == _random_access_error(rspecifier, key, mmap=False)


class _Payload:
    """Unpickling this would create a file: the test checks that it never happens."""

    marker: pathlib.Path

    def __reduce__(self) -> tuple[object, ...]:
        return (pathlib.Path.touch, (self.marker,))


CASES = {
    "unknown token": (b"bad " + _matrix(b"XM", 1, 1, b"\0" * 4), "unknown token 'XM'"),
    "missing binary marker": (b"bad FM \4\1\0\0\0\4\1\0\0\0\0\0\0\0", "neither a binary object"),
    "negative rows": (b"bad " + _matrix(b"FM", -3, 2), "negative dimensions"),
    "huge dimensions": (b"bad " + _matrix(b"FM", 2**31 - 1, 2**31 - 1), "the file holds"),
    "huge double vector": (b"bad \0BDV \4" + struct.pack("<i", 2**31 - 1), "the file holds"),
    "size marker": (b"bad " + _matrix(b"FM", 1, 1, b"\0" * 4, markers=b"\4\x08"), "size markers"),
    "data past the end": (b"bad " + _matrix(b"DM", 4, 4, b"\0" * 20), "the file holds 20 more"),
    "huge int32 vector": (b"bad \0B\4" + struct.pack("<i", 2**31 - 1) + b"\4\0\0\0\0", "int32 vector"),
    "int32 element marker": (b"bad \0B\4" + struct.pack("<i", 2) + b"\4\1\0\0\0\x08\2\0\0\0", "size marker"),
    "compressed NaN range": (b"bad \0BCM2 " + struct.pack("<ffii", 0.0, float("nan"), 1, 1) + b"\0\0", "range"),
    "compressed negative range": (b"bad \0BCM3 " + struct.pack("<ffii", 0.0, -1.0, 1, 1) + b"\0", "range"),
    "compressed huge": (b"bad \0BCM " + struct.pack("<ffii", 0.0, 1.0, 2**30, 2**30), "the file holds"),
    "compressed negative": (b"bad \0BCM2 " + struct.pack("<ffii", 0.0, 1.0, -1, 4), "negative dimensions"),
    "text without bracket": (b"bad  [ 1 2 3\n", "no closing"),
    "text ragged matrix": (b"bad  [\n 1 2\n 3 ]\n", "differ in length"),
    "text int32 overflow": (b"bad 1 99999999999\n", "outside int32"),
    "numpy payload": (b"bad NPY\x01\x80" + b"\x93NUMPY" + b"\0" * 120, "neither a binary object"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_objects_name_file_key_and_offset(tmp_path: pathlib.Path, case: str) -> None:
    blob, reason = CASES[case]
    path = tmp_path / "bad.ark"
    path.write_bytes(GOOD + blob)
    tracemalloc.start()
    try:
        with pytest.raises(KaldiFormatError, match=reason) as caught:
            list(kaldi_io.read(f"ark:{path}"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = caught.value
    assert error.path == str(path) and error.key == "bad" and error.offset is not None
    assert len(GOOD) + 4 <= error.offset <= len(GOOD) + len(blob)  # inside the bad object
    assert peak < SMALL, f"{case}: allocated {peak} bytes for a {len(GOOD) + len(blob)}-byte file"
    _same_random_access_error(f"ark:{path}", "bad")  # random access: the index or the value read


def test_a_pickle_payload_is_never_unpickled(tmp_path: pathlib.Path) -> None:
    payload = _Payload()
    payload.marker = tmp_path / "pwned"
    (tmp_path / "p.ark").write_bytes(GOOD + b"evil PKL" + pickle.dumps(payload))
    with pytest.raises(KaldiFormatError, match="'evil'"):
        list(kaldi_io.read(f"ark:{tmp_path}/p.ark"))
    assert not payload.marker.exists()


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("u {ark}:9999", r"no object at this offset \(the file ends at byte"),
        ("u {ark}:3", "expected|neither|something other"),
        ("u {ark}:5[0:0,7:9]", "column range 7:9"),
        ("u {ark}:5[4:9]", "row range 4:9"),
        ("u {ark}:5[1:0]", "row range 1:0"),
        ("u {missing}:5", "cannot open"),
    ],
)
def test_scp_entries_past_or_into_nothing(tmp_path: pathlib.Path, entry: str, reason: str) -> None:
    ark = tmp_path / "a.ark"
    ark.write_bytes(GOOD)
    (tmp_path / "a.scp").write_text(entry.format(ark=ark, missing=tmp_path / "none.ark") + "\n")
    with pytest.raises(KaldiFormatError, match=reason) as caught:
        list(kaldi_io.read(f"scp:{tmp_path}/a.scp"))
    assert caught.value.key == "u"
    _same_random_access_error(f"scp:{tmp_path}/a.scp", "u")
    with pytest.raises(KaldiFormatError, match=reason) as caught, kaldi_io.open(f"scp:{tmp_path}/a.scp") as table:
        table.shape("u")  # the header alone fails as the read does
    assert caught.value.key == "u"


@pytest.mark.parametrize("table", ["scp", "ark"])
@pytest.mark.parametrize("mmap", [False, True], ids=["copied", "mapped"])
def test_an_archive_cut_after_it_was_indexed(tmp_path: pathlib.Path, table: str, mmap: bool) -> None:
    (tmp_path / "a.ark").write_bytes(GOOD + GOOD.replace(b"good", b"next"))
    (tmp_path / "a.scp").write_text(f"good {tmp_path}/a.ark:5\nnext {tmp_path}/a.ark:{len(GOOD) + 5}\n")
    with kaldi_io.open(f"{table}:{tmp_path}/a.{table}", mmap=mmap) as reader:
        assert reader.shape("next") == (1, 2)  # the header is read and checked, the file still whole
        os.truncate(tmp_path / "a.ark", len(GOOD) + 21)  # 1 of the 8 data bytes left
        with pytest.raises(KaldiFormatError, match="the data ends after 1 of 8 bytes") as caught:
            reader["next"]
    assert caught.value.key == "next"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("u\n", "line 1: expected 'KEY RXFILENAME'"), ("\n", "line 1"), ("u a.ark:1\nv | cat\n", "line 2.*output pipe")],
)
def test_malformed_scp_lines(tmp_path: pathlib.Path, text: str, reason: str) -> None:
    (tmp_path / "a.scp").write_text(text)
    with pytest.raises(KaldiFormatError, match=reason):
        list(kaldi_io.read(f"scp:{tmp_path}/a.scp"))


def test_garbage_between_objects_and_long_keys(tmp_path: pathlib.Path) -> None:
    (tmp_path / "a.ark").write_bytes(GOOD + b"\0\0\0\0next " + GOOD[5:])
    with pytest.raises(KaldiFormatError, match="damaged archive") as caught:
        list(kaldi_io.read(f"ark:{tmp_path}/a.ark"))
    assert caught.value.offset == len(GOOD)
    (tmp_path / "b.ark").write_bytes(b"k" * 5000)
    with pytest.raises(KaldiFormatError, match="key over 4 KiB"):
        list(kaldi_io.read(f"ark:{tmp_path}/b.ark"))
    (tmp_path / "c.ark").write_bytes(GOOD + b"dangling")
    with pytest.raises(KaldiFormatError, match="ends after a key"):
        list(kaldi_io.read(f"ark:{tmp_path}/c.ark"))


def test_a_line_that_is_not_utf8_is_named(tmp_path: pathlib.Path) -> None:
    (tmp_path / "a.scp").write_bytes(b"u a.ark:5\nv a.ark:9\nw \xe9.ark:1\nx a.ark:2\n")
    with pytest.raises(KaldiFormatError, match="line 3: not UTF-8"):
        kaldi_io.open(f"scp:{tmp_path}/a.scp")
