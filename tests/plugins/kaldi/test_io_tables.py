"""The ark/scp API: round trips of every type in binary and text, specifier options, ranges, pipes, streams,
the rounding of one- and two-byte compression, and the archive handed to the disk as it is written.

Round trips are exact (tolerance 0) except through compression, bounded by the quantisation step, and
text, whose float64 values come back as float32 (Kaldi's text has no type): compared to the float32 cast.
"""

from __future__ import annotations

import io
import itertools
import os
import pathlib
import sys

import numpy as np
import pytest
import torch

from tympan.core.errors import KaldiFormatError, UnsupportedFormatError
from tympan.core.files import start_writeback
from tympan.plugins.kaldi import io as kaldi_io
from tympan.plugins.kaldi.io import writer as writer_module
from tympan.plugins.kaldi.io.compressed import GlobalHeader, compress


def _items() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "fm": torch.randn(17, 6, generator=generator),
        "dm": torch.randn(4, 2, generator=generator, dtype=torch.float64),
        "fv": torch.randn(5, generator=generator),
        "dv": torch.randn(3, generator=generator, dtype=torch.float64),
        "iv": torch.tensor([5, -7, 2**31 - 1], dtype=torch.int32),
        "empty": torch.zeros(0, 13),
    }


@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
def test_round_trip_every_type(tmp_path: pathlib.Path, text: bool) -> None:
    items = _items()
    mode = ",t" if text else ""
    kaldi_io.write(f"ark,scp{mode}:{tmp_path}/a.ark,{tmp_path}/a.scp", items)
    sequential = list(kaldi_io.read(f"ark:{tmp_path}/a.ark"))
    assert [key for key, _ in sequential] == list(items)
    with kaldi_io.open(f"scp:{tmp_path}/a.scp") as by_scp, kaldi_io.open(f"ark:{tmp_path}/a.ark") as by_ark:
        for key, value in sequential:
            expected = items[key]
            if text and expected.is_floating_point():
                expected = expected.float()  # text floats read as float32 (Kaldi's BaseFloat)
            if text and key == "empty":
                expected = torch.zeros(0, 0)  # Kaldi writes every empty matrix as ' [ ]'
            for got in (value, by_scp[key], by_ark[key]):
                assert got.dtype == expected.dtype and torch.equal(got, expected), key  # tolerance 0


def test_writer_accepts_numpy_pairs_and_scalars(tmp_path: pathlib.Path) -> None:
    with kaldi_io.Writer(f"ark,t:{tmp_path}/n.ark") as writer:
        writer["frames"] = 412
        writer["dim"] = np.int64(80)
        writer.write("half", torch.ones(2, dtype=torch.float16))
    assert (tmp_path / "n.ark").read_text() == "frames 412 \ndim 80 \nhalf  [ 1 1 ]\n"  # Kaldi's text layout
    kaldi_io.write(f"ark:{tmp_path}/b.ark", [("n", 3)])
    assert (tmp_path / "b.ark").read_bytes() == b"n \0B\x04\x03\x00\x00\x00"


@pytest.mark.parametrize(
    "value",
    [torch.zeros(2, 2, 2), torch.zeros(3, dtype=torch.bool), torch.zeros(2, 2, dtype=torch.int32), 2**40],
    ids=["3-D", "bool", "int-matrix", "huge-int"],
)
def test_values_without_a_kaldi_type_are_refused_and_nothing_is_left(tmp_path: pathlib.Path, value: object) -> None:
    with pytest.raises(UnsupportedFormatError, match="key 'x'"):
        kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", [("ok", torch.ones(2)), ("x", value)])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("key", ["", "a b", "tab\there", "nl\n", 3])
def test_invalid_keys_are_refused(tmp_path: pathlib.Path, key: object) -> None:
    with pytest.raises(KaldiFormatError, match="invalid key"):
        kaldi_io.write(f"ark:{tmp_path}/a.ark", [(key, torch.ones(1))])


def test_failed_write_keeps_the_old_files(tmp_path: pathlib.Path) -> None:
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {"old": torch.ones(3)})
    before = (tmp_path / "a.ark").read_bytes(), (tmp_path / "a.scp").read_bytes()
    with pytest.raises(RuntimeError), kaldi_io.Writer(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp") as writer:
        writer["new"] = torch.zeros(1000, 10)
        raise RuntimeError("disk full")
    assert ((tmp_path / "a.ark").read_bytes(), (tmp_path / "a.scp").read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ark", "a.scp"]


def test_every_scp_entry_lies_inside_its_archive(tmp_path: pathlib.Path) -> None:
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {f"u{i}": torch.ones(i + 1, 4) for i in range(30)})
    # rewrite with a much shorter archive: the new scp must describe the new archive only
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {"u0": torch.ones(1, 4)}, compression_method=3)
    size = (tmp_path / "a.ark").stat().st_size
    for line in (tmp_path / "a.scp").read_text().splitlines():
        assert int(line.rsplit(":", 1)[1]) < size
    assert [k for k, _ in kaldi_io.read(f"scp:{tmp_path}/a.scp")] == ["u0"]


def test_scp_wspecifier_writes_each_key_to_its_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "out.scp").write_text(f"a {tmp_path}/a.mat\nb {tmp_path}/b.mat\n")
    kaldi_io.write(f"scp:{tmp_path}/out.scp", {"a": torch.ones(2, 2), "b": torch.arange(3, dtype=torch.int32)})
    assert torch.equal(kaldi_io.read_object(tmp_path / "a.mat"), torch.ones(2, 2))
    assert dict(kaldi_io.read(f"scp:{tmp_path}/out.scp"))["b"].tolist() == [0, 1, 2]
    with pytest.raises(KaldiFormatError, match="key 'c'"):
        kaldi_io.write(f"scp:{tmp_path}/out.scp", {"c": torch.ones(1)})
    kaldi_io.write(f"scp,p:{tmp_path}/out.scp", {"c": torch.ones(1)})  # permissive: skipped


def test_ranges_and_read_object(tmp_path: pathlib.Path) -> None:
    matrix = torch.arange(40.0).reshape(10, 4)
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {"m": matrix, "v": torch.arange(6.0)})
    scp = dict(line.split() for line in (tmp_path / "a.scp").read_text().splitlines())
    assert torch.equal(kaldi_io.read_object(scp["m"] + "[2:4]"), matrix[2:5])
    assert torch.equal(kaldi_io.read_object(scp["m"] + "[:,1:2]"), matrix[:, 1:3])
    assert torch.equal(kaldi_io.read_object(scp["m"] + "[8:12]"), matrix[8:])  # 3 rows of tolerance, as Kaldi
    assert torch.equal(kaldi_io.read_object(scp["v"] + "[1:3]"), torch.arange(1.0, 4.0))
    for bad in ("[8:13]", "[3:2]", "[0:1,0:4]", "[a:b]"):
        with pytest.raises(KaldiFormatError):
            kaldi_io.read_object(scp["m"] + bad)
    with pytest.raises(KaldiFormatError, match="vector"):
        kaldi_io.read_object(scp["v"] + "[0:1,0:0]")


def test_compressed_range_decodes_only_the_block(tmp_path: pathlib.Path) -> None:
    matrix = torch.randn(50, 8, generator=torch.Generator().manual_seed(1))
    for method in (2, 3, 5):
        kaldi_io.write(f"ark,scp:{tmp_path}/c.ark,{tmp_path}/c.scp", {"m": matrix}, compression_method=method)
        location = (tmp_path / "c.scp").read_text().split()[1]
        whole = kaldi_io.read_object(location)
        assert torch.equal(kaldi_io.read_object(location + "[10:19,2:5]"), whole[10:20, 2:6])


def test_options_are_parsed_and_bad_specifiers_named() -> None:
    spec = kaldi_io.parse_rspecifier("o,s,cs,p,bg,b,t,scp:feats.scp")
    assert (spec.kind, spec.once, spec.sorted, spec.called_sorted, spec.permissive) == ("scp", True, True, True, True)
    assert kaldi_io.parse_wspecifier("ark,scp,f,t:a.ark,a.scp").flush is True
    for bad in ("feats.ark", "ark,scp:a.ark", "scp,ark:a,b", "ark,x:a", "foo:a"):
        with pytest.raises(KaldiFormatError, match=bad.split(":")[0]):
            kaldi_io.parse_wspecifier(bad)
    for bad in ("ark,scp:a", "o, ark:a", "ark"):  # Kaldi's code refuses the empty option in "o, ark"
        with pytest.raises(KaldiFormatError):
            kaldi_io.parse_rspecifier(bad)


def test_permissive_reading(tmp_path: pathlib.Path) -> None:
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {"a": torch.ones(2), "b": torch.ones(3)})
    with (tmp_path / "a.scp").open("a") as handle:
        handle.write(f"gone {tmp_path}/missing.ark:5\n")
    with pytest.raises(KaldiFormatError, match=r"line 3.*'gone'.*missing\.ark"):
        list(kaldi_io.read(f"scp:{tmp_path}/a.scp"))
    assert [k for k, _ in kaldi_io.read(f"p,scp:{tmp_path}/a.scp")] == ["a", "b"]
    with kaldi_io.open(f"p,scp:{tmp_path}/a.scp") as table, pytest.raises(KeyError):
        table["gone"]
    with (tmp_path / "a.ark").open("ab") as handle:
        handle.write(b"c \0BXX 12")
    assert [k for k, _ in kaldi_io.read(f"ark,p:{tmp_path}/a.ark")] == ["a", "b"]
    with pytest.raises(KaldiFormatError, match=r"key 'c'.*unknown token 'XX'"):
        list(kaldi_io.read(f"ark:{tmp_path}/a.ark"))


def test_duplicate_keys_refused_for_random_access(tmp_path: pathlib.Path) -> None:
    kaldi_io.write(f"ark:{tmp_path}/a.ark", [("a", torch.ones(2)), ("a", torch.ones(3))])
    assert len(list(kaldi_io.read(f"ark:{tmp_path}/a.ark"))) == 2
    with pytest.raises(KaldiFormatError, match=r"key 'a'.*twice"):
        kaldi_io.open(f"ark:{tmp_path}/a.ark")


def test_pipes_are_refused_unless_allowed(tmp_path: pathlib.Path) -> None:
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", {"a": torch.ones(2, 3)})
    command = f"cat {tmp_path}/a.ark |"
    with pytest.raises(UnsupportedFormatError, match="allow_pipes"):
        list(kaldi_io.read(f"ark:{command}"))
    with pytest.raises(UnsupportedFormatError):
        kaldi_io.write(f"ark:| cat > {tmp_path}/b.ark", {"a": torch.ones(1)})
    (tmp_path / "p.scp").write_text(f"a tail -c +3 {tmp_path}/a.ark |\n")  # the object, without its key
    with pytest.raises(UnsupportedFormatError):
        list(kaldi_io.read(f"scp:{tmp_path}/p.scp"))
    assert not (tmp_path / "b.ark").exists()
    # allowed: the same data through the shell
    assert torch.equal(dict(kaldi_io.read(f"ark:{command}", allow_pipes=True))["a"], torch.ones(2, 3))
    assert torch.equal(kaldi_io.open(f"scp:{tmp_path}/p.scp", allow_pipes=True)["a"], torch.ones(2, 3))
    assert torch.equal(kaldi_io.open(f"ark:{command}", allow_pipes=True)["a"], torch.ones(2, 3))
    kaldi_io.write(f"ark:| gzip -c > {tmp_path}/b.ark.gz", {"z": torch.zeros(4)}, allow_pipes=True)
    unpacked = kaldi_io.read_object(f"gunzip -c {tmp_path}/b.ark.gz | tail -c +3 |", allow_pipes=True)
    assert torch.equal(unpacked, torch.zeros(4))
    with pytest.raises(KaldiFormatError, match="status"):
        list(kaldi_io.read("ark:exit 4 |", allow_pipes=True))


def test_standard_input_and_output(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kaldi_io.write(f"ark:{tmp_path}/a.ark", {"a": torch.arange(6.0).reshape(2, 3), "b": torch.ones(1)})
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((tmp_path / "a.ark").read_bytes())))
    output = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(output))
    kaldi_io.write("ark,t:-", ((key, value * 2) for key, value in kaldi_io.read("ark:-")))
    assert output.getvalue() == b"a  [\n  0 2 4 \n  6 8 10 ]\nb  [ 2 ]\n"
    with pytest.raises(KaldiFormatError, match="standard output"):
        kaldi_io.Writer("ark,scp:-,a.scp")


def test_offsets_in_the_rspecifier_and_text_keys_on_their_own_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "t.ark").write_bytes(b"a\n[ 1 2 ]\nb 1 2\nc  [\n 1 2\n 3 4 ]\n")
    values = dict(kaldi_io.read(f"ark:{tmp_path}/t.ark"))
    assert values["a"].tolist() == [1.0, 2.0] and values["b"].dtype == torch.int32
    assert values["c"].shape == (2, 2)
    start = (tmp_path / "t.ark").read_bytes().index(b"b 1")
    assert [k for k, _ in kaldi_io.read(f"ark:{tmp_path}/t.ark:{start}")] == ["b", "c"]


def test_file_cache_bounds_open_files(tmp_path: pathlib.Path) -> None:
    lines = []
    for i in range(70):
        kaldi_io.write(f"ark,scp:{tmp_path}/{i}.ark,{tmp_path}/{i}.scp", {f"u{i}": torch.full((2,), float(i))})
        lines.append((tmp_path / f"{i}.scp").read_text())
    (tmp_path / "all.scp").write_text("".join(lines))
    before = len(os.listdir("/proc/self/fd"))
    with kaldi_io.open(f"scp:{tmp_path}/all.scp") as table:
        assert [float(table[f"u{i}"][0]) for i in range(70)] == [float(i) for i in range(70)]
        assert len(os.listdir("/proc/self/fd")) - before <= 64
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("method", [3, 4, 5, 6, 7])
def test_one_and_two_byte_codes_round_as_kaldi_does(method: int) -> None:
    # Kaldi's FloatToUint16/FloatToUint8: float32 (value - min) / range, clamped to [0, 1] for the fixed
    # ranges, times the levels in float32, then + 0.499 in double and truncated. The values put many
    # scaled codes just below, at and above a fraction of 0.501, where that rounding turns; 300 x 80 is
    # past the encoder's small-matrix path.
    generator = np.random.default_rng(method)
    whole = generator.integers(0, 250, (300, 80)).astype(np.float64)
    fraction = generator.choice(np.linspace(0.497, 0.505, 81), (300, 80))
    values = (whole + fraction).astype(np.float32) * ({7: 1 / 255}.get(method, 1.0))
    values[0, 0], values[-1, -1] = -3.0, 300.0  # outside the fixed ranges: clamped
    token, payload = compress(values, method)
    header = GlobalHeader.unpack(token, payload[:16])
    levels = 65535 if token == "CM2" else 255
    scaled = (values - np.float32(header.min_value)) / np.float32(header.range)
    if method in (4, 6, 7):
        scaled = np.clip(scaled, np.float32(0.0), np.float32(1.0))
    expected = np.trunc((scaled * np.float32(levels)).astype(np.float64) + 0.499)
    codes = np.frombuffer(payload[16:], dtype="<u2" if levels == 65535 else np.uint8).reshape(values.shape)
    assert np.array_equal(codes, expected)


def test_written_archive_goes_to_disk_in_steps_and_is_unchanged(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = {f"u{i}": torch.randn(40, 13) for i in range(25)}
    kaldi_io.write(f"ark,scp:{tmp_path}/once.ark,{tmp_path}/once.scp", items, compression_method=3)
    calls: list[tuple[int, int]] = []

    def recorded(fd: int, offset: int, length: int) -> bool:
        calls.append((offset, length))
        return start_writeback(fd, offset, length)

    monkeypatch.setattr(writer_module, "WRITEBACK_BYTES", 3000)
    monkeypatch.setattr(writer_module, "start_writeback", recorded)
    kaldi_io.write(f"ark,scp:{tmp_path}/steps.ark,{tmp_path}/steps.scp", items, compression_method=3)
    assert (tmp_path / "steps.ark").read_bytes() == (tmp_path / "once.ark").read_bytes()
    scp = (tmp_path / "steps.scp").read_text().replace("steps.ark", "once.ark")
    assert scp == (tmp_path / "once.scp").read_text()
    size = (tmp_path / "steps.ark").stat().st_size
    assert len(calls) >= size // (3000 + 1100) and calls[0][0] == 0
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(calls))
    assert all(n >= 3000 for _, n in calls) and calls[-1][0] + calls[-1][1] <= size


def test_a_file_pushed_out_of_the_cache_stays_open_until_its_reader_is_done(tmp_path: pathlib.Path) -> None:
    """Random access keeps a bounded number of archives open. One pushed out while another reader (a thread)
    still reads it is closed only when that reader returns it, not under it."""
    from tympan.plugins.kaldi.io.sources import FileCache

    first, second = tmp_path / "a.ark", tmp_path / "b.ark"
    first.write_bytes(b"first")
    second.write_bytes(b"second")
    cache = FileCache(capacity=1)
    with cache.borrow(str(first)) as reading:
        with cache.borrow(str(second)) as other:  # the cache holds one file: the first is pushed out
            assert other.read_bytes(0, 6) == b"second"
        assert reading.read_bytes(0, 5) == b"first"
    with pytest.raises(OSError):  # returned, the pushed-out file is closed
        reading.read_bytes(0, 5)
    with cache.borrow(str(second)) as kept:  # the one still in the cache is open
        assert kept.read_bytes(0, 6) == b"second"
    cache.close()
