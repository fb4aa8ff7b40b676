"""Fuzzing the Kaldi readers: mutated arks, scps and data directories raise only tympan's errors, and never hang.

Valid seeds are written by tympan itself (binary and text archives of every type, compressed ones, a
script with offsets and ranges, a data directory), then mutated deterministically: bit flips,
truncations, inserted and deleted bytes, and size fields overwritten with edge values. Each mutant is read
sequentially and through random access, a mutated script is resolved entry by entry, a mutated data
directory is read and validated. Anything other than a :class:`~tympan.core.errors.TympanError` is a
failure, and so is a case running past its time limit (:func:`tympan.testing.limits.time_limit`). The
number of inputs tried is printed and recorded as the test's ``inputs`` property.
"""

from __future__ import annotations

import pathlib
import random
from collections.abc import Callable, Iterator

import pytest
import torch

from tympan.core.errors import TympanError
from tympan.plugins.kaldi import io as kaldi_io
from tympan.plugins.kaldi.datadir import DataDir, validate
from tympan.testing.limits import TimeLimitExceeded, time_limit

SEED = 20261203
MUTANTS_PER_SEED = 300
DATADIR_MUTANTS_PER_FILE = 80
CASE_SECONDS = 2.0
EDGE_VALUES = (0, 1, 4, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def _values() -> dict[str, object]:
    generator = torch.Generator().manual_seed(0)
    return {
        "fm": torch.randn(12, 3, generator=generator),
        "dv": torch.randn(4, generator=generator, dtype=torch.float64),
        "iv": torch.tensor([1, -2, 3], dtype=torch.int32),
        "n": 7,
    }


def _seeds(folder: pathlib.Path) -> dict[str, bytes]:
    seeds = {}
    for name, spec, method in [("binary", "ark", None), ("text", "ark,t", None), ("cm", "ark", 1), ("cm3", "ark", 5)]:
        kaldi_io.write(f"{spec}:{folder}/{name}.ark", _values(), compression_method=method)
        seeds[name] = (folder / f"{name}.ark").read_bytes()
    return seeds


def _mutate(seed: bytes, rng: random.Random) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.choice((1, 1, 2, 3))):
        kind = rng.randrange(5)
        position = rng.randrange(len(data) + 1)
        if kind == 0 and data:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del data[position:]
        elif kind == 2:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
        elif kind == 3:
            del data[position : position + rng.randint(1, 12)]
        elif len(data) >= 4:
            offset = rng.randrange(len(data) - 3)
            data[offset : offset + 4] = (rng.choice(EDGE_VALUES) % (1 << 32)).to_bytes(4, "little")
    return bytes(data)


def _mutants(name: str, seed: bytes, count: int = MUTANTS_PER_SEED) -> Iterator[bytes]:
    rng = random.Random(f"{SEED}-{name}")
    for _ in range(count):
        yield _mutate(seed, rng)


def _escapes(calls: list[tuple[str, Callable[[], object]]]) -> list[str]:
    problems = []
    for label, call in calls:
        try:
            with time_limit(CASE_SECONDS):
                call()
        except TympanError:
            pass
        except (Exception, TimeLimitExceeded) as error:  # anything else is what the fuzzer looks for
            problems.append(f"{label}: {type(error).__name__}: {error}")
    return problems


def _read_all_by_key(spec: str) -> None:
    with kaldi_io.open(spec) as table:
        for key in table:
            table[key]
            table.shape(key)


def _archive_calls(path: pathlib.Path) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("read", lambda: list(kaldi_io.read(f"ark:{path}"))),
        ("read p", lambda: list(kaldi_io.read(f"ark,p:{path}"))),
        ("open", lambda: _read_all_by_key(f"ark:{path}")),
    ]


def _report(name: str, tried: int, failures: dict[str, list[str]], record_property) -> None:  # type: ignore[no-untyped-def]
    record_property("inputs", tried)
    print(f"{name}: {tried} mutants, {len(failures)} with escapes")
    shown = list(failures.items())[:5]
    assert not failures, "\n".join(f"{len(p)} escape(s) for {h[:160]}...: {p}" for h, p in shown)


@pytest.mark.parametrize("name", ["binary", "text", "cm", "cm3"])
def test_mutated_archives_raise_only_typed_errors(tmp_path: pathlib.Path, name: str, record_property) -> None:  # type: ignore[no-untyped-def]
    seed = _seeds(tmp_path)[name]
    path = tmp_path / "mutant.ark"
    path.write_bytes(seed)
    assert not _escapes(_archive_calls(path)), "the unmutated seed must read cleanly"
    failures: dict[str, list[str]] = {}
    tried = 0
    for data in _mutants(name, seed):
        tried += 1
        path.write_bytes(data)
        problems = _escapes(_archive_calls(path))
        if problems:
            failures[data.hex()] = problems
    _report(name, tried, failures, record_property)


def test_mutated_scripts_raise_only_typed_errors(tmp_path: pathlib.Path, record_property) -> None:  # type: ignore[no-untyped-def]
    kaldi_io.write(f"ark,scp:{tmp_path}/a.ark,{tmp_path}/a.scp", _values())
    lines = (tmp_path / "a.scp").read_text().splitlines()
    lines.append(f"{lines[0].split()[0]}-part {lines[0].split()[1]}[2:5,0:1]")
    seed = ("\n".join(lines) + "\n").encode()
    failures: dict[str, list[str]] = {}
    tried = 0
    for data in _mutants("scp", seed):
        tried += 1
        (tmp_path / "m.scp").write_bytes(data)
        calls = [
            ("read", lambda: list(kaldi_io.read(f"scp:{tmp_path}/m.scp"))),
            ("read p", lambda: list(kaldi_io.read(f"p,scp:{tmp_path}/m.scp"))),
            ("open", lambda: _read_all_by_key(f"scp:{tmp_path}/m.scp")),
        ]
        problems = _escapes(calls)
        if problems:
            failures[data.hex()] = problems
    _report("scp", tried, failures, record_property)


def test_mutated_data_directories_raise_only_typed_errors(tmp_path: pathlib.Path, record_property) -> None:  # type: ignore[no-untyped-def]
    data = DataDir()
    for index in range(4):
        utterance = f"spk{index % 2}-u{index}"
        data.add_recording(f"rec{index}", f"/corpus/rec{index}.wav")
        data.add_utterance(utterance, f"spk{index % 2}", recording=f"rec{index}", start=0.5, end=1.25, text="HI THERE")
        data.utt2dur[utterance] = 0.75
        data.feats_scp[utterance] = f"raw.ark:{10 + 100 * index}"
    data.spk2gender.update({"spk0": "f", "spk1": "m"})
    folder = tmp_path / "data"
    data.write(folder)
    originals = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert validate(folder) == []
    failures: dict[str, list[str]] = {}
    tried = 0
    for name, content in sorted(originals.items()):
        for data_bytes in _mutants(f"datadir-{name}", content, DATADIR_MUTANTS_PER_FILE):
            tried += 1
            (folder / name).write_bytes(data_bytes)
            calls = [("read", lambda: DataDir.read(folder)), ("validate", lambda: validate(folder))]
            problems = _escapes(calls)
            if problems:
                failures[f"{name}:{data_bytes.hex()}"] = problems
        (folder / name).write_bytes(content)
    _report("data directory", tried, failures, record_property)
