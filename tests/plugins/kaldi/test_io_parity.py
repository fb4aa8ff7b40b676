"""ark/scp parity with kaldiio, both ways: we read what kaldiio writes, kaldiio reads what we write.

Uncompressed values must be identical (tolerance 0: the bytes are the same IEEE values). Compressed
matrices must decode, in kaldiio and in tympan, to exactly the same float32 values (tolerance 0: both
decode with the same float32 arithmetic) and lie within Kaldi's quantisation step of the original (the
bound is the step itself; rounding moves a value by half a step plus float32 rounding).
"""

from __future__ import annotations

import io
import pathlib

import kaldiio
import numpy as np
import pytest
import torch

from tympan.plugins.kaldi import io as kaldi_io
from tympan.plugins.kaldi.io.compressed import GlobalHeader, quantisation_step


def _values() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "fm": (rng.standard_normal((23, 5)) * 4).astype(np.float32),
        "dm": rng.standard_normal((6, 3)) * 1e3,
        "fv": rng.standard_normal(11).astype(np.float32),
        "dv": rng.standard_normal(4) * 1e-3,
        "iv": rng.integers(-(2**31), 2**31 - 1, 9).astype(np.int32),
        "empty-iv": np.zeros(0, dtype=np.int32),
        "fm-one-row": rng.standard_normal((1, 7)).astype(np.float32),
        "fm-no-rows": np.zeros((0, 80), dtype=np.float32),
    }


MATRICES = {
    "speech": lambda rng: (rng.standard_normal((120, 40)) * 3 + 2).astype(np.float32),
    "short": lambda rng: rng.standard_normal((6, 4)).astype(np.float32),
    "constant": lambda rng: np.full((30, 3), -2.5, dtype=np.float32),
    "tiny-column": lambda rng: rng.standard_normal((5, 2)).astype(np.float32),
    "integers": lambda rng: rng.integers(-300, 300, (40, 6)).astype(np.float32),
    "unit": lambda rng: rng.uniform(0, 1, (17, 9)).astype(np.float32),
    "double": lambda rng: rng.standard_normal((50, 8)) * 10,
}


def _assert_same(ours: torch.Tensor, theirs: np.ndarray) -> None:
    assert ours.numpy().dtype == theirs.dtype
    np.testing.assert_array_equal(ours.numpy(), theirs)  # tolerance 0: identical values


def test_we_read_what_kaldiio_writes_binary(tmp_path: pathlib.Path) -> None:
    values = _values()
    kaldiio.save_ark(str(tmp_path / "a.ark"), values, scp=str(tmp_path / "a.scp"))
    sequential = dict(kaldi_io.read(f"ark:{tmp_path}/a.ark"))
    assert list(sequential) == list(values)
    with kaldi_io.open(f"scp:{tmp_path}/a.scp") as table:
        for key, value in values.items():
            _assert_same(sequential[key], value)
            _assert_same(table[key], value)
            assert table.shape(key) == value.shape


def test_kaldiio_reads_what_we_write_binary(tmp_path: pathlib.Path) -> None:
    values = _values()
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {k: torch.from_numpy(v) for k, v in values.items()})
    theirs = dict(kaldiio.load_ark(str(tmp_path / "a.ark")))
    by_scp = kaldiio.load_scp(str(tmp_path / "a.scp"))
    for key, value in values.items():
        np.testing.assert_array_equal(theirs[key], value)  # tolerance 0
        np.testing.assert_array_equal(by_scp[key], value)
        assert theirs[key].dtype == value.dtype


def test_text_archives_both_ways(tmp_path: pathlib.Path) -> None:
    # kaldiio types a text object by its first token ('.' -> float32, else int32), so the floats here
    # start with a fraction; Kaldi's own text int32 vector is a bare line of integers, which kaldiio reads.
    rng = np.random.default_rng(3)
    floats = {
        "m": (rng.standard_normal((4, 3)) + 0.5).astype(np.float32),
        "v": np.array([0.25, -1.5, 3e-7], dtype=np.float32),
        "d": np.array([[0.125, 1e10], [-2.5, 7.0]]),
    }
    kaldiio.save_ark(str(tmp_path / "k.ark"), floats, text=True)
    ours = dict(kaldi_io.read(f"ark:{tmp_path}/k.ark"))
    for key, value in kaldiio.load_ark(str(tmp_path / "k.ark")):
        _assert_same(ours[key], value)  # both parse the same decimal text to float32

    kaldi_io.write(f"ark,t:{tmp_path}/t.ark", {**floats, "i": np.array([3, -4, 5], dtype=np.int32)})
    theirs = dict(kaldiio.load_ark(str(tmp_path / "t.ark")))
    np.testing.assert_array_equal(theirs["i"], [3, -4, 5])
    assert theirs["i"].dtype == np.int32
    for key, value in floats.items():
        np.testing.assert_array_equal(theirs[key], value.astype(np.float32))  # 9 digits round-trip float32
        _assert_same(dict(kaldi_io.read(f"ark:{tmp_path}/t.ark"))[key], value.astype(np.float32))


@pytest.mark.parametrize("method", range(1, 8))
@pytest.mark.parametrize("name", sorted(MATRICES))
def test_compressed_both_ways(tmp_path: pathlib.Path, method: int, name: str) -> None:
    original = MATRICES[name](np.random.default_rng(method))
    if method == 4:  # two-byte signed integers: a fixed range of integers
        original = np.round(original * 100).clip(-32768, 32767)
    elif method == 6:  # one-byte unsigned integers
        original = np.round(np.abs(original) * 10).clip(0, 255)
    elif method == 7:  # values in [0, 1]
        original = (original - original.min()) / max(np.ptp(original), 1e-3)
    # kaldiio's compressor, decoded by us and by kaldiio
    kaldiio.save_ark(str(tmp_path / "k.ark"), {"x": original}, compression_method=method)
    theirs = dict(kaldiio.load_ark(str(tmp_path / "k.ark")))["x"]
    _assert_same(dict(kaldi_io.read(f"ark:{tmp_path}/k.ark"))["x"], theirs)
    # ours, decoded by kaldiio and by us
    kaldi_io.write(f"ark,scp:{tmp_path}/o.ark,{tmp_path}/o.scp", {"x": original}, compression_method=method)
    ours = dict(kaldi_io.read(f"ark:{tmp_path}/o.ark"))["x"]
    _assert_same(ours, dict(kaldiio.load_ark(str(tmp_path / "o.ark")))["x"])
    _assert_same(ours, kaldiio.load_scp(str(tmp_path / "o.scp"))["x"])
    raw = (tmp_path / "o.ark").read_bytes()
    token = raw[4 : raw.index(b" ", 4)].decode()
    header = GlobalHeader.unpack(token, raw[5 + len(token) : 21 + len(token)])
    error = np.abs(ours.numpy().astype(np.float64) - original.astype(np.float32)).max()
    assert error <= quantisation_step(header)  # within one step (rounding gives at most half plus float32)


def test_ranges_agree_with_kaldiio(tmp_path: pathlib.Path) -> None:
    matrix = np.arange(60, dtype=np.float32).reshape(12, 5)
    kaldi_io.write(f"ark,scp:{tmp_path}/r.ark,{tmp_path}/r.scp", {"m": matrix})
    location = (tmp_path / "r.scp").read_text().split()[1]
    ranges = {"a": "[0:3]", "b": "[2:11,1:3]", "c": "[5:5]", "d": "[0:11,4:4]"}
    (tmp_path / "ranged.scp").write_text("".join(f"{k} {location}{r}\n" for k, r in ranges.items()))
    theirs = kaldiio.load_scp(str(tmp_path / "ranged.scp"))
    with kaldi_io.open(f"scp:{tmp_path}/ranged.scp") as table:
        for key in ranges:
            _assert_same(table[key], theirs[key])
    assert [k for k, _ in kaldi_io.read(f"scp:{tmp_path}/ranged.scp")] == list(ranges)


def test_kaldiio_writehelper_stream_reads_back(tmp_path: pathlib.Path) -> None:
    buffer = io.BytesIO()
    kaldiio.save_ark(buffer, {"u": np.ones((3, 2), dtype=np.float32)})
    (tmp_path / "s.ark").write_bytes(buffer.getvalue())
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/w.ark,{tmp_path}/w.scp", compression_method=2) as writer:
        writer("u", np.linspace(0, 1, 200, dtype=np.float32).reshape(20, 10))
    with kaldi_io.open(f"scp:{tmp_path}/w.scp") as table:
        _assert_same(table["u"], kaldiio.load_scp(str(tmp_path / "w.scp"))["u"])
