"""Atomic writes, AudioInfo, and the error hierarchy's contract."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tympan.core import errors
from tympan.core.audio import AudioInfo
from tympan.core.files import atomic_write, start_writeback


def test_atomic_write_replaces_the_file_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(OSError), atomic_write(target) as handle:
        handle.write(b"new but partial")
        raise OSError("No space left on device")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    with atomic_write(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_write_into_a_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "missing" / "out.bin") as handle:
        handle.write(b"x")


def test_audio_info_duration() -> None:
    assert AudioInfo(44100, 88200, 2, 16, "PCM_S", "wav").duration == 2.0
    assert AudioInfo(0, 10, 1, 16, "PCM_S", "wav").duration == 0.0


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.UnknownNameError, KeyError),
        (errors.AmbiguousNameError, KeyError),
        (errors.AudioDecodeError, ValueError),
        (errors.KaldiFormatError, ValueError),
        (errors.PipelineConfigError, ValueError),
        (errors.InvalidParameterError, ValueError),
        (errors.PluginLoadError, ImportError),
    ],
)
def test_errors_share_one_root_and_the_natural_builtin(cls: type, builtin: type) -> None:
    assert issubclass(cls, errors.TympanError) and issubclass(cls, builtin)


def test_every_public_error_derives_from_the_root() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, Warning if name.endswith("Warning") else errors.TympanError), name


def test_file_errors_name_the_file() -> None:
    for cls in (errors.AudioDecodeError, errors.UnsupportedFormatError, errors.KaldiFormatError, errors.IntegrityError):
        err = cls("/data/clip.wav", "broken")
        assert err.path == "/data/clip.wav" and "/data/clip.wav" in str(err) and "broken" in str(err)


def test_plugin_load_error_carries_the_facts() -> None:
    err = errors.PluginLoadError(
        "acme:x", "acme", "1.2", ModuleNotFoundError("No module named 'numba'"), "pip install acme"
    )
    text = str(err)
    assert "acme 1.2" in text and "acme:x" in text and "numba" in text and "pip install acme" in text


def test_atomic_write_gives_new_files_the_umask_mode_and_keeps_an_existing_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    import tympan.core.files as files

    monkeypatch.setattr(files, "_UMASK", 0o027)
    fresh = tmp_path / "fresh.bin"
    with atomic_write(fresh) as handle:
        handle.write(b"x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
    kept = tmp_path / "kept.bin"
    kept.write_bytes(b"old")
    kept.chmod(0o604)
    with atomic_write(kept) as handle:
        handle.write(b"new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o604


def test_start_writeback_leaves_the_data_and_asks_only_for_real_ranges(tmp_path: Path) -> None:
    target = tmp_path / "big.bin"
    data = bytes(range(256)) * 4096
    with atomic_write(target) as handle:
        handle.write(data)
        handle.flush()
        requested = start_writeback(handle.fileno(), 0, len(data))
        assert start_writeback(handle.fileno(), len(data), 0) is False
    assert requested is sys.platform.startswith("linux")
    assert target.read_bytes() == data
