"""``tympan sox``: the ``sox`` program's command line on this plugin's effects.

``tympan sox [GLOBAL-OPTIONS] [FORMAT-OPTIONS] INPUT... [FORMAT-OPTIONS] OUTPUT [EFFECT [OPTION]...]...``
reads as SoX reads its own: format options (``-r -c -b -e -t -v``) apply to the file that follows them;
the words up to the first effect name are files, the last of them the output; ``-n`` is a null file (an
input of silence whose length the first effect, ``synth LENGTH``, sets; an output that writes nothing, for
analysis effects such as ``stat``, whose reports go to standard error as SoX prints them); ``-`` is
standard input or output (with ``-t``). Several inputs are combined as ``--combine`` says:
``concatenate`` (the default), ``mix`` (each scaled by 1/n unless ``-v`` sets its volume),
``mix-power`` (1/sqrt(n)), ``merge`` (their channels side by side) or ``multiply``; ``-m``, ``-M`` and
``-T`` are the short forms.

As the ``sox`` program does, the chain ends at the output's rate and channels (``-r``, ``-c``; else what
the effects made of the input's), and dither is added when the output holds fewer than 24 bits and fewer
than the audio reaching it (``-D`` turns that off); samples beyond full scale are clipped, with a warning.
Without ``-b`` and ``-e`` the output keeps the input's encoding and sample size where its format holds
them. Outputs are written atomically: a failure leaves no partial file.

tympan's additions: ``--device DEVICE`` runs the chain there (``cuda``), and ``--batch IN_DIR OUT_DIR
EFFECTS...`` applies one chain to every audio file under ``IN_DIR`` in one process, writing each to the
same place under ``OUT_DIR`` (``-t`` before ``OUT_DIR`` changes the format), with a progress bar; a file
that fails gets one ``Error:`` line and the others go on.

Example:
    >>> import pathlib, tempfile, torch, tympan
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> run(["-r", "8000", "-n", str(folder / "tone.wav"), "synth", "0.5", "sine", "440"])
    0
    >>> tympan.info(folder / "tone.wav").num_frames
    4000
"""

from __future__ import annotations

import difflib
import io
import math
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import torch

from tympan.core.errors import TympanError, UnsupportedFormatError
from tympan.plugins.sox._chain import NOT_PROVIDED, EffectChain, parse_effects
from tympan.plugins.sox._grammar import parse_float, parse_frequency
from tympan.plugins.sox.effects import EFFECTS
from tympan.plugins.sox.errors import UnknownEffectError

__all__ = ["AUDIO_SUFFIXES", "CommandLine", "FileSpec", "SoxCommandError", "parse_command_line", "quantize", "run"]

#: File name endings ``--batch`` takes as audio.
AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc", ".au", ".snd", ".caf", ".w64"}
)
_COMBINE = ("concatenate", "mix", "mix-power", "merge", "multiply")
_ENCODINGS = {
    "signed-integer": "PCM_S",
    "unsigned-integer": "PCM_U",
    "floating-point": "PCM_F",
    "a-law": "ALAW",
    "u-law": "ULAW",
    "mu-law": "ULAW",
}
# Encodings an output keeps from its input where its format holds them (FLAC's samples are signed PCM).
_KEPT = {"PCM_S": "PCM_S", "PCM_U": "PCM_U", "PCM_F": "PCM_F", "ULAW": "ULAW", "ALAW": "ALAW", "FLAC": "PCM_S"}
# Effects after which the sox program counts the audio at the precision it had (they move, copy or drop
# samples, or only measure them); after any other effect it has SoX's full 32 bits.
_KEEPS_PRECISION = frozenset(
    {"delay", "downsample", "noiseprof", "pad", "repeat", "reverse", "silence", "speed", "stat", "stats", "swap"}
    | {"trim", "upsample", "vad"}
)
_FULL_PRECISION = 32
_FORMAT_OPTIONS = {
    "-r": "rate",
    "--rate": "rate",
    "-c": "channels",
    "--channels": "channels",
    "-b": "bits",
    "--bits": "bits",
    "-e": "encoding",
    "--encoding": "encoding",
    "-t": "type",
    "--type": "type",
    "-v": "volume",
    "--volume": "volume",
}
_IGNORED = frozenset({"-q", "--no-show-progress", "-S", "--show-progress", "-R", "--no-clobber", "--clobber"})


class SoxCommandError(TympanError, ValueError):
    """A ``tympan sox`` command line the program cannot run (the message is SoX-style, one line).

    Example:
        >>> print(SoxCommandError("no output file given"))
        sox: no output file given
    """

    def __str__(self) -> str:
        return f"sox: {self.args[0]}"


@dataclass
class FileSpec:
    """One file of the command line and the format options before it (``path`` ``None``: the null file).

    Example:
        >>> FileSpec("a.wav", rate=16000).name
        'a.wav'
    """

    path: str | None
    rate: int | None = None
    channels: int | None = None
    bits: int | None = None
    encoding: str | None = None
    type: str | None = None
    volume: float | None = None

    @property
    def name(self) -> str:
        """The file's name in messages (``-n`` for the null file)."""
        return "-n" if self.path is None else self.path

    @property
    def format(self) -> str | None:
        """The format: ``-t``, else the extension."""
        if self.type is not None:
            return self.type
        suffix = Path(self.path).suffix.lower() if self.path not in (None, "-") else ""
        return suffix[1:] or None


@dataclass
class CommandLine:
    """A parsed ``tympan sox`` command line.

    Example:
        >>> cmd = parse_command_line(["-m", "a.wav", "b.wav", "-r", "16k", "out.flac", "gain", "-3"])
        >>> cmd.combine, [f.name for f in cmd.inputs], cmd.output.rate, cmd.effects
        ('mix', ['a.wav', 'b.wav'], 16000, [('gain', ['-3'])])
    """

    inputs: list[FileSpec]
    output: FileSpec
    effects: list[tuple[str, list[str]]] = field(default_factory=list)
    combine: str = "concatenate"
    device: str | None = None
    batch: bool = False
    dither: bool = True
    norm: bool = False
    quiet: bool = False


def _format_value(option: str, key: str, text: str) -> Any:
    try:
        if key == "rate":
            rate = parse_frequency(text, "rate")
            if rate <= 0 or rate != int(rate):
                raise ValueError
            return int(rate)
        if key in ("channels", "bits"):
            value = int(text)
            if value < 1:
                raise ValueError
            return value
        if key == "volume":
            return parse_float(text, "volume")
    except ValueError:
        raise SoxCommandError(f"option {option}: invalid value {text!r}") from None
    if key == "encoding":
        matches = [name for name in _ENCODINGS if name.startswith(text.lower())]
        if len(set(_ENCODINGS[m] for m in matches)) != 1:
            raise SoxCommandError(
                f"option {option}: unknown encoding {text!r}; expected one of {', '.join(_ENCODINGS)}"
            )
        return _ENCODINGS[matches[0]]
    return text.lower()


def _is_effect(word: str) -> bool:
    return word in EFFECTS or word in NOT_PROVIDED


def _looks_like_effect(word: str) -> bool:
    """A misspelt effect rather than a file: a bare word no file has, close to an effect's name."""
    bare = "." not in word and "/" not in word and not Path(word).exists()
    return bare and bool(difflib.get_close_matches(word, sorted(EFFECTS), n=1, cutoff=0.6))


def _option_value(words: Sequence[str], i: int) -> tuple[str, str, int]:
    """The option at ``words[i]``, its value (after ``=``, or the next word) and the index of the last word read.

    Example:
        >>> _option_value(["--device=cuda"], 0), _option_value(["-r", "8000", "in.wav"], 0)
        (('--device', 'cuda', 0), ('-r', '8000', 1))
    """
    option, _, value = words[i].partition("=")
    if value:
        return option, value, i
    if i + 1 >= len(words):
        raise SoxCommandError(f"option {option} needs a value")
    return option, words[i + 1], i + 1


def parse_command_line(argv: Sequence[str]) -> CommandLine:
    """Read SoX's command line: options, files (the last one the output), then the effects.

    Raises :class:`SoxCommandError` for an option SoX does not have (or this program does not support),
    and the chain's errors for the effects.

    Example:
        >>> cmd = parse_command_line(["-n", "-n", "synth", "1", "sine", "440", "stat"])
        >>> cmd.inputs[0].path, cmd.output.path, [name for name, _ in cmd.effects]
        (None, None, ['synth', 'stat'])
    """
    options: dict[str, Any] = {"combine": "concatenate"}
    pending: dict[str, Any] = {}
    files: list[FileSpec] = []
    words = list(argv)
    i = 0
    while i < len(words):
        word = words[i]
        if word in _FORMAT_OPTIONS or any(word.startswith(o + "=") for o in _FORMAT_OPTIONS if o.startswith("--")):
            option, value, i = _option_value(words, i)
            key = _FORMAT_OPTIONS[option]
            pending[key] = _format_value(option, key, value)
        elif word in ("-n", "--null"):
            files.append(FileSpec(None, **pending))
            pending = {}
        elif word == "--batch":
            options["batch"] = True
        elif word == "--device" or word.startswith("--device="):
            _, value, i = _option_value(words, i)
            options["device"] = value
        elif word == "--combine" or word.startswith("--combine="):
            _, value, i = _option_value(words, i)
            if value not in _COMBINE:
                raise SoxCommandError(f"option --combine: {value!r} is not one of {', '.join(_COMBINE)}")
            options["combine"] = value
        elif word in ("-m", "-M", "-T"):
            options["combine"] = {"-m": "mix", "-M": "merge", "-T": "multiply"}[word]
        elif word in ("-D", "--no-dither"):
            options["dither"] = False
        elif word == "--norm":
            options["norm"] = True
        elif word in ("-q", "--no-show-progress"):
            options["quiet"] = True
        elif word in _IGNORED or (word.startswith("-V") and (word[2:].isdigit() or word == "-V")):
            pass
        elif word.startswith("-") and word != "-":
            raise SoxCommandError(f"option {word} is not supported")
        elif _is_effect(word) and len(files) >= 2:
            break
        elif len(files) >= 2 and _looks_like_effect(word):
            raise UnknownEffectError(word, difflib.get_close_matches(word, sorted(EFFECTS), n=3, cutoff=0.6))
        else:
            files.append(FileSpec(word, **pending))
            pending = {}
        i += 1
    if pending:
        raise SoxCommandError(f"format options {', '.join('-' + k[0] for k in pending)} are not followed by a file")
    if len(files) < 2:
        raise SoxCommandError("expected an input file and an output file (-n for none)")
    effects = parse_effects(shlex.join(words[i:])) if words[i:] else []
    return CommandLine(inputs=files[:-1], output=files[-1], effects=effects, **options)


@dataclass
class _Audio:
    waveform: torch.Tensor
    rate: int
    precision: int
    encoding: str | None = None
    bits: int | None = None


def _precision(encoding: str | None, bits: int | None) -> int:
    if encoding in ("PCM_S", "PCM_U", "FLAC"):
        return bits or 16
    if encoding == "PCM_F":
        return 24 if (bits or 32) <= 32 else 53
    if encoding == "ULAW":
        return 14
    if encoding == "ALAW":
        return 13
    return 24  # lossy formats: SoX takes their decoded samples as 24-bit


def _read(spec: FileSpec, stdin: IO[bytes] | None) -> _Audio:
    import tympan

    source: Any = spec.path
    if spec.path == "-":
        if stdin is None:
            raise SoxCommandError("standard input is not available")
        source = io.BytesIO(stdin.read())
    try:
        found = tympan.info(source, format=spec.type)
        if isinstance(source, io.BytesIO):
            source.seek(0)
        waveform, rate = tympan.load(source, format=spec.type)
    except (TympanError, OSError) as err:
        message = str(err)
        raise SoxCommandError(message if spec.name in message else f"{spec.name}: {message}") from None
    for key, have in (("channels", found.num_channels), ("bits", found.bits_per_sample)):
        wanted = getattr(spec, key)
        if wanted is not None and wanted != have:
            raise SoxCommandError(f"{spec.name}: -{key[0]} {wanted} describes raw audio; the file has {have} {key}")
    if spec.encoding is not None and _KEPT.get(found.encoding) != spec.encoding:
        raise SoxCommandError(f"{spec.name}: -e describes raw audio; the file is {found.encoding}")
    if spec.volume is not None:
        waveform = (waveform * spec.volume).clamp(-1, 1)  # as SoX clips the scaled samples
    precision = _precision(found.encoding, found.bits_per_sample)
    return _Audio(
        waveform, spec.rate or rate, precision if spec.volume in (None, 1.0) else _FULL_PRECISION, found.encoding,
        found.bits_per_sample,
    )  # fmt: skip


def _null_input(spec: FileSpec, effects: list[tuple[str, list[str]]]) -> _Audio:
    """Silence as long as the first effect (``synth LENGTH``) makes it, with as many channels as its tones."""
    rate = spec.rate or 48000
    if not effects or effects[0][0] != "synth":
        raise SoxCommandError("a null input (-n) needs a first effect that sets the length: synth LENGTH ...")
    synth = EffectChain([[effects[0][0], *effects[0][1]]], rate).steps[0]
    length = int(getattr(synth, "length", -1))
    if length < 0:
        raise SoxCommandError("a null input (-n) needs synth to be given a length")
    channels = spec.channels or len(getattr(synth, "tones", [None]))
    return _Audio(torch.zeros(channels, length), rate, _FULL_PRECISION)


def _combine(inputs: list[_Audio], names: list[str], how: str, volumes: list[float | None]) -> _Audio:
    if len(inputs) == 1:
        return inputs[0]
    rates = {audio.rate for audio in inputs}
    if len(rates) > 1:
        raise SoxCommandError(f"input files must have the same sample rate: {', '.join(map(str, sorted(rates)))}")
    channels = [audio.waveform.shape[0] for audio in inputs]
    precision = max(audio.precision for audio in inputs)
    if how == "concatenate":
        if len(set(channels)) > 1:
            raise SoxCommandError(
                f"input files must have the same number of channels to be concatenated: {', '.join(names)}"
            )
        return _Audio(torch.cat([audio.waveform for audio in inputs], -1), inputs[0].rate, precision)
    length = max(audio.waveform.shape[-1] for audio in inputs)
    padded = [torch.nn.functional.pad(a.waveform, [0, length - a.waveform.shape[-1]]) for a in inputs]
    if how == "merge":
        return _Audio(torch.cat(padded, 0), inputs[0].rate, precision)
    width = max(channels)
    padded = [torch.nn.functional.pad(w, [0, 0, 0, width - w.shape[0]]) for w in padded]
    if how == "multiply":
        out = padded[0]
        for w in padded[1:]:
            out = out * w
        return _Audio(out, inputs[0].rate, _FULL_PRECISION)
    # as SoX: without any -v, each input is scaled so that the mix cannot clip
    scale = 1 / len(inputs) if how == "mix" else 1 / math.sqrt(len(inputs))
    if any(volume is not None for volume in volumes):
        scale = 1.0
    out = sum((w * scale for w in padded), torch.zeros(()))
    return _Audio(out, inputs[0].rate, _FULL_PRECISION)


def _chain_precision(precision: int, effects: list[tuple[str, list[str]]]) -> int:
    for name, args in effects:
        single_channels = name == "remix" and all(arg.isdigit() for arg in args)
        if name not in _KEEPS_PRECISION and not single_channels:
            return _FULL_PRECISION
    return precision


def _output_format(
    spec: FileSpec, source: _Audio, channels: int, rate: int
) -> tuple[str | None, int | None, str, int | None]:
    """The encoding and bits to ask for, and the encoding and bits the output will then have (found by
    writing a few samples)."""
    import tympan

    kept = source.encoding is None or (spec.encoding is None and spec.bits is None)
    encoding = spec.encoding if spec.encoding is not None else None
    bits = spec.bits
    if kept:
        encoding = _KEPT.get(source.encoding or "PCM_S", encoding)
        bits = source.bits if source.encoding is not None else _FULL_PRECISION
    probe = torch.zeros(channels, 16)
    for attempt in ((encoding, bits), (spec.encoding, spec.bits)) if kept else ((encoding, bits),):
        buffer = io.BytesIO()
        try:
            tympan.save(buffer, probe, rate, format=spec.format, encoding=attempt[0], bits_per_sample=attempt[1])
        except UnsupportedFormatError:
            if attempt == (spec.encoding, spec.bits) or not kept:
                raise
            continue
        buffer.seek(0)
        written = tympan.info(buffer, format=spec.format)
        return attempt[0], attempt[1], written.encoding, written.bits_per_sample
    raise SoxCommandError(f"{spec.name}: no encoding of this format fits")  # pragma: no cover


def quantize(waveform: torch.Tensor, encoding: str | None, bits: int | None) -> torch.Tensor:
    """Integer samples as the sox program writes them (``x * 2**(bits - 1)`` rounded half up, clipped) for
    signed 16-, 24- and 32-bit and unsigned 8-bit PCM (24-bit in the top bits of int32); other encodings
    are returned as they are, for the writer to convert.

    Example:
        >>> quantize(torch.tensor([0.6 / 32768, -0.6 / 32768, 1.0]), "PCM_S", 16).tolist()
        [1, -1, 32767]
    """
    if encoding == "PCM_U" and bits == 8:
        return (torch.floor(waveform.double() * 128 + 0.5) + 128).clamp(0, 255).to(torch.uint8)
    if encoding not in ("PCM_S", "FLAC") or bits not in (16, 24, 32):
        return waveform
    scale = 2.0 ** (bits - 1)
    ints = torch.floor(waveform.double() * scale + 0.5).clamp(-scale, scale - 1)
    if bits == 16:
        return ints.to(torch.int16)
    return (ints * 2.0 ** (32 - bits)).to(torch.int32)


def _final_channels(chain: EffectChain, channels: int) -> int:
    for step in chain.steps:
        channels = int(step.output_channels(channels))  # type: ignore[operator]
    return channels


@dataclass
class _Plan:
    chains: list[EffectChain]
    rate: int
    encoding: str | None = None
    bits: int | None = None
    written: tuple[str | None, int | None] = (None, None)


def _plan(cmd: CommandLine, audio: _Audio, device: torch.device | None) -> _Plan:
    """The chains to run: the user's effects up to ``dither``, then the output's rate and channels, then
    dither (the user's, or SoX's automatic one), as the sox program builds its chain."""
    effects = [[name, *args] for name, args in cmd.effects]
    cut = next((i for i, effect in enumerate(effects) if effect[0] == "dither"), len(effects))
    head, tail = effects[:cut], effects[cut:]
    if cmd.norm:
        head.append(["gain", "-n"])
    channels = int(audio.waveform.shape[0])
    out_rate = cmd.output.rate
    chain = EffectChain(head or [["trim", "0"]], audio.rate, channels=channels, output_rate=out_rate)
    ending = _final_channels(chain, channels)
    if cmd.output.channels is not None and cmd.output.channels != ending:
        head.append(["channels", str(cmd.output.channels)])
        chain = EffectChain(head, audio.rate, channels=channels, output_rate=out_rate)
        ending = cmd.output.channels
    rate = int(chain.output_sample_rate or audio.rate)
    chains = [chain]
    plan = _Plan(chains, rate)
    if cmd.output.path is not None:
        plan.encoding, plan.bits, written_encoding, written_bits = _output_format(cmd.output, audio, ending, rate)
        plan.written = (written_encoding, written_bits)
        out_precision = _precision(*plan.written)
        precision = _chain_precision(audio.precision, cmd.effects[:cut])
        if chain.output_sample_rate != audio.rate or ending != channels or cmd.norm:
            precision = _FULL_PRECISION
        if not tail and cmd.dither and out_precision < 24 and precision > out_precision:
            tail = [["dither", "-p", str(out_precision)]]
    if tail:
        chains.append(EffectChain(tail, rate, channels=ending))
        plan.rate = int(chains[-1].output_sample_rate or rate)
    if device is not None:
        plan.chains = [c.to(device) for c in chains]
    return plan


def _report(chain: EffectChain, stdout: IO[str], stderr: IO[str]) -> None:
    from tympan.plugins.sox.functional._noise import format_profile

    if not chain.has_analysis:
        return
    steps = [step for step in chain.steps if step.analysis]
    for step, (name, result) in zip(steps, getattr(chain, "measurements", []), strict=False):
        if "text" in result:
            stderr.write(result["text"].rstrip("\n") + "\n")
        elif name == "noiseprof" and getattr(step, "path", None) is None:
            stdout.write(format_profile(result["profile"]))


def _write(spec: FileSpec, plan: _Plan, waveform: torch.Tensor, stdout_bytes: IO[bytes] | None) -> None:
    import tympan

    target: Any = spec.path
    if spec.path == "-":
        if spec.type is None:
            raise SoxCommandError("writing to standard output needs -t TYPE")
        target = io.BytesIO()
    options = {"format": spec.format, "encoding": plan.encoding, "bits_per_sample": plan.bits, "clip": True}
    try:
        tympan.save(target, quantize(waveform, *plan.written), plan.rate, **options)
    except (TympanError, OSError) as err:
        message = str(err)
        raise SoxCommandError(message if spec.name in message else f"{spec.name}: {message}") from None
    if isinstance(target, io.BytesIO):
        if stdout_bytes is None:
            raise SoxCommandError("standard output is not available")
        stdout_bytes.write(target.getvalue())
        stdout_bytes.flush()


def _process(cmd: CommandLine, audio: _Audio, device: torch.device | None, streams: dict[str, Any]) -> int:
    plan = _plan(cmd, audio, device)
    channels, length = int(audio.waveform.shape[0]), int(audio.waveform.shape[-1])
    for chain in plan.chains:
        chain.check(channels, length if chain is plan.chains[0] else None)
        channels = _final_channels(chain, channels)
    waveform = audio.waveform if device is None else audio.waveform.to(device)
    if any(chain.has_analysis for chain in plan.chains):
        waveform = waveform.double()  # SoX measures on its 32-bit grid, finer than float32's
    clipped = 0  # beyond full scale before dither or at the end (dither clips what it is given)
    with torch.no_grad():
        for chain in plan.chains:
            waveform = chain(waveform)
            _report(chain, streams["stdout"], streams["stderr"])
            clipped = max(clipped, int((waveform.abs() > 1).sum()))
    if cmd.output.path is None:
        return 0
    _write(cmd.output, plan, waveform.cpu(), streams["stdout_bytes"])
    return clipped


def _inputs(cmd: CommandLine, stdin: IO[bytes] | None) -> _Audio:
    audios = [_null_input(s, cmd.effects) if s.path is None else _read(s, stdin) for s in cmd.inputs]
    return _combine(audios, [s.name for s in cmd.inputs], cmd.combine, [s.volume for s in cmd.inputs])


def _check_before_reading(cmd: CommandLine) -> None:
    """Check the effects' options against the inputs' headers before any audio is decoded."""
    import tympan

    files = [spec for spec in cmd.inputs if spec.path not in (None, "-")]
    if not files or len(files) != len(cmd.inputs) or not cmd.effects:
        return
    headers = []
    for spec in files:
        try:
            headers.append(tympan.info(spec.path, format=spec.type))
        except (TympanError, OSError) as err:
            message = str(err)
            raise SoxCommandError(message if spec.name in message else f"{spec.name}: {message}") from None
    rate = files[0].rate or headers[0].sample_rate
    widths = [h.num_channels for h in headers]
    channels = sum(widths) if cmd.combine == "merge" else max(widths)
    EffectChain([[name, *args] for name, args in cmd.effects], rate, channels=channels)


def _batch(cmd: CommandLine, device: torch.device | None, streams: dict[str, Any]) -> int:
    import click

    if len(cmd.inputs) != 1 or cmd.inputs[0].path in (None, "-") or cmd.output.path in (None, "-"):
        raise SoxCommandError("--batch takes an input folder and an output folder: --batch IN_DIR OUT_DIR EFFECTS...")
    source, destination = Path(cmd.inputs[0].path or ""), Path(cmd.output.path or "")
    if not source.is_dir():
        raise SoxCommandError(f"{source}: not a folder")
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise SoxCommandError(f"{source}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    failures: list[str] = []
    clipped = 0
    with click.progressbar(
        files, label="sox", file=streams["stderr"], show_pos=True, hidden=cmd.quiet, item_show_func=lambda p: None
    ) as bar:
        for path in bar:
            relative = path.relative_to(source)
            target = destination / (relative.with_suffix("." + cmd.output.type) if cmd.output.type else relative)
            one = CommandLine(
                [FileSpec(str(path), **_options(cmd.inputs[0]))],
                FileSpec(str(target), **_options(cmd.output)),
                cmd.effects,
                device=cmd.device,
                dither=cmd.dither,
                norm=cmd.norm,
            )
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                clipped += _process(one, _read(one.inputs[0], None), device, streams)
            except (TympanError, ValueError, OSError) as err:
                failures.append(str(err))
    for failure in failures:
        streams["stderr"].write(f"Error: {failure}\n")
    if clipped:
        streams["stderr"].write(f"sox WARN: clipped {clipped} samples; decrease volume?\n")
    if not cmd.quiet or failures:
        streams["stderr"].write(f"{len(files) - len(failures)} of {len(files)} file(s) written to {destination}\n")
    return 1 if failures else 0


def _options(spec: FileSpec) -> dict[str, Any]:
    return {k: getattr(spec, k) for k in ("rate", "channels", "bits", "encoding", "type", "volume")}


def run(
    argv: Sequence[str],
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout_bytes: IO[bytes] | None = None,
) -> int:
    """Run a ``tympan sox`` command line; returns the exit status (0, or 1 when a file failed in
    ``--batch`` mode). Errors raise :class:`SoxCommandError` or the chain's
    :class:`~tympan.plugins.sox.errors.SoxEffectError` before any output is written.

    Example:
        >>> run(["-n", "-n", "synth", "0.1", "sine", "440", "stats"], stderr=sys.stdout)  # doctest: +ELLIPSIS
        DC offset  ...
        0
    """
    streams: dict[str, Any] = {
        "stdout": stdout or sys.stdout,
        "stderr": stderr or sys.stderr,
        "stdout_bytes": stdout_bytes or getattr(sys.stdout, "buffer", None),
    }
    cmd = parse_command_line(argv)
    try:
        device = torch.device(cmd.device) if cmd.device is not None else None
    except RuntimeError as err:
        raise SoxCommandError(f"option --device: {err}") from None
    if cmd.batch:
        return _batch(cmd, device, streams)
    if cmd.output.path is not None and any(cmd.output.path == s.path for s in cmd.inputs):
        raise SoxCommandError(f"{cmd.output.path}: the output file is also an input")
    _check_before_reading(cmd)
    audio = _inputs(cmd, stdin if stdin is not None else getattr(sys.stdin, "buffer", None))
    clipped = _process(cmd, audio, device, streams)
    if clipped:
        streams["stderr"].write(f"sox WARN: {cmd.output.name}: clipped {clipped} samples; decrease volume?\n")
    return 0
