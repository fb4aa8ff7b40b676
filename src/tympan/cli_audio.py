"""The audio-file side of the ``tympan`` command: ``tympan info FILE...`` and ``tympan convert``.

Nothing here imports torch until a file is read. ``tympan info`` shares its name with the component
lookup; :func:`names_files` decides which one an invocation means: several arguments are files, and a
single one is a file when it cannot be a component name (it holds a ``.`` or a ``/``), or when no
component has that name and a file does.

Example:
    >>> import pathlib, tempfile, torch, tympan
    >>> from click.testing import CliRunner
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> tympan.save(folder / "tone.wav", torch.zeros(2, 8000), 16000, bits_per_sample=16)
    >>> result = CliRunner().invoke(convert_command, [str(folder / "tone.wav"), str(folder / "tone.flac"),
    ...                                                "--rate", "8000", "--channels", "mean"])
    >>> result.exit_code, tympan.info(folder / "tone.flac").num_channels
    (0, 1)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from tympan.core.errors import TympanError, UnsupportedFormatError
from tympan.registry._names import is_bare_name, is_qualified_name

__all__ = ["convert_command", "could_be_component", "names_files", "show_file_info"]

_HEADER = ("FILE", "FORMAT", "ENCODING", "RATE", "CHANNELS", "FRAMES", "DURATION", "BITS")
# Source encodings a converted file keeps where its format can hold them (FLAC's samples are signed PCM).
_KEPT_ENCODINGS = {
    "PCM_S": "PCM_S",
    "PCM_U": "PCM_U",
    "PCM_F": "PCM_F",
    "ULAW": "ULAW",
    "ALAW": "ALAW",
    "FLAC": "PCM_S",
}


def could_be_component(argument: str) -> bool:
    """Whether ``argument`` is spelled like a component name (``mfcc``, ``dsp:mfcc``; never ``a.wav``).

    Example:
        >>> could_be_component("dsp:mfcc"), could_be_component("take_1"), could_be_component("take_1.wav")
        (True, True, False)
    """
    return is_qualified_name(argument) or is_bare_name(argument)


def names_files(arguments: Sequence[str]) -> bool:
    """Whether ``tympan info ARGUMENTS`` asks about audio files, judged without looking anything up:
    several arguments, or one that cannot be a component name. (A single component-like name that no
    component has is tried as a file afterwards.)

    Example:
        >>> names_files(["mfcc"]), names_files(["speech.flac"]), names_files(["a", "b"])
        (False, True, True)
    """
    return len(arguments) > 1 or not could_be_component(arguments[0])


def _error_line(target: str, error: BaseException) -> str:
    message = str(error)
    return message if target in message else f"{target}: {message}"


def _row(target: str, found: Any) -> dict[str, Any]:
    return {
        "file": target,
        "format": found.format,
        "encoding": found.encoding,
        "sample_rate": found.sample_rate,
        "num_channels": found.num_channels,
        "num_frames": found.num_frames,
        "duration": found.duration,
        "bits_per_sample": found.bits_per_sample,
    }


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [_HEADER, *rows]) for i in range(len(_HEADER))]
    numeric = {3, 4, 5, 6, 7}  # right-aligned columns
    for row in [_HEADER, *rows]:
        cells = [
            cell.rjust(width) if i in numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        click.echo("  ".join(cells).rstrip())


def show_file_info(targets: Sequence[str], as_json: bool) -> int:
    """Print the header of each audio file as a table (or a JSON list); return how many could not be read.

    A file that cannot be read gets an ``error:`` line on stderr (in JSON: an entry with an ``error`` key)
    and the others go on.

    Example:
        >>> import pathlib, tempfile, torch, tympan
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "tone.flac"
        >>> tympan.save(path, torch.zeros(1, 8000), 16000)
        >>> show_file_info([str(path)], as_json=True)  # doctest: +ELLIPSIS
        [
          {
            "file": ".../tone.flac",
            "format": "flac",
            "encoding": "FLAC",
            "sample_rate": 16000,
            "num_channels": 1,
            "num_frames": 8000,
            "duration": 0.5,
            "bits_per_sample": 16
          }
        ]
        0
    """
    import tympan

    entries: list[dict[str, Any]] = []
    failures = 0
    for target in targets:
        try:
            entries.append(_row(target, tympan.info(target)))
        except (TympanError, OSError) as error:
            failures += 1
            line = _error_line(target, error)
            entries.append({"file": target, "error": line})
            if not as_json:
                click.echo(f"error: {line}", err=True)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return failures
    rows = [
        (
            e["file"],
            e["format"],
            e["encoding"],
            str(e["sample_rate"]),
            str(e["num_channels"]),
            str(e["num_frames"]),
            f"{e['duration']:.3f}s",
            str(e["bits_per_sample"]) if e["bits_per_sample"] else "-",
        )
        for e in entries
        if "error" not in e
    ]
    if rows:
        _table(rows)
    return failures


def _channel_spec(value: str | None) -> int | list[int] | str | None:
    if value is None or value == "mean":
        return value
    try:
        indices = [int(part) for part in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected 'mean' or 0-based indices such as 0 or 1,0; got {value!r}") from None
    return indices


def _save_keeping_encoding(destination: Path, waveform: Any, rate: int, source_info: Any, **options: Any) -> None:
    """Save with the source's encoding and sample size where the destination format holds them, else with
    the format's defaults (an MP3 or Vorbis source, a ULAW WAV written as FLAC, ...)."""
    import tympan

    encoding = _KEPT_ENCODINGS.get(source_info.encoding)
    if encoding is not None:
        try:
            tympan.save(
                destination, waveform, rate, encoding=encoding, bits_per_sample=source_info.bits_per_sample, **options
            )
            return
        except UnsupportedFormatError:
            pass
    tympan.save(destination, waveform, rate, **options)


@click.command("convert")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rate", type=click.IntRange(min=1), help="Resample to this rate (Hz).")
@click.option("--channels", help="'mean' for a mono downmix, or 0-based channel indices: 0, or 1,0.")
@click.option("--encoding", help="PCM_S, PCM_U, PCM_F, ULAW, ALAW, FLAC, VORBIS, OPUS or MP3.")
@click.option("--bits", type=click.IntRange(min=1), help="Bits per sample (8, 16, 24, 32, 64).")
@click.option("--compression", type=float, help="FLAC level 0-8, or Ogg quality -1 to 10.")
@click.option("--clip", is_flag=True, help="Clamp samples to [-1, 1] instead of refusing to write them.")
def convert_command(
    source: Path,
    destination: Path,
    rate: int | None,
    channels: str | None,
    encoding: str | None,
    bits: int | None,
    compression: float | None,
    clip: bool,
) -> None:
    """Convert an audio file: format (from DESTINATION's extension), rate, channels, encoding.

    Without --encoding and --bits the source's encoding and sample size are kept where the new format
    holds them. DESTINATION is written atomically: on failure it is left as it was.
    \f
    Example:
        >>> import pathlib, tempfile, torch, tympan
        >>> from click.testing import CliRunner
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> tympan.save(folder / "in.wav", torch.zeros(1, 800), 8000, bits_per_sample=24)
        >>> _ = CliRunner().invoke(convert_command, [str(folder / "in.wav"), str(folder / "out.flac")])
        >>> tympan.info(folder / "out.flac").bits_per_sample
        24
    """
    import tympan

    spec = _channel_spec(channels)
    try:
        source_info = tympan.info(source)
        # Integer WAV samples travel as they are unless they must be averaged or resampled.
        exact = rate is None and spec != "mean"
        waveform, sample_rate = tympan.load(source, normalize=not exact, sample_rate=rate, channels=spec)
        options: dict[str, Any] = {"compression": compression, "clip": clip}
        if encoding is None and bits is None:
            _save_keeping_encoding(destination, waveform, sample_rate, source_info, **options)
        else:
            tympan.save(
                destination,
                waveform,
                sample_rate,
                encoding=encoding and encoding.upper(),
                bits_per_sample=bits,
                **options,
            )
        written = tympan.info(destination)
    except (TympanError, OSError) as error:
        raise click.ClickException(str(error)) from None
    size = f"{written.bits_per_sample}-bit " if written.bits_per_sample else ""
    click.echo(
        f"wrote {destination}: {written.format} {size}{written.encoding}, {written.sample_rate} Hz, "
        f"{written.num_channels} channel(s), {written.num_frames} frames",
        err=True,
    )
