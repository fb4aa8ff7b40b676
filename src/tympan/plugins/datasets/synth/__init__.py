"""Speech corpora made on the spot with espeak-ng, in the layouts of LibriSpeech, LibriTTS, Speech Commands
and LibriMix, so that recipes train and test end to end without downloading a corpus.

:func:`synthesize` draws speakers (:mod:`.voices`: accent, variant, speed, pitch), keeps some voices out of
training for the dev and test subsets, writes each corpus (:mod:`.layouts`, :mod:`.render`) into a
temporary folder beside its final place and moves it there when complete: a failed run leaves nothing.
The same arguments give the same files. ``tympan data synth`` is its command line.

Example:
    >>> import pathlib, tempfile
    >>> from tympan.plugins.datasets.separation import LibriMix
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> report = synthesize(root, ["librimix"], train_voices=2, test_voices=4, mixtures=1, progress=False)
    >>> report.files["librimix"], len(LibriMix(root, subset="test"))
    (9, 1)
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from tympan.core.errors import SynthesisError
from tympan.core.files import atomic_write
from tympan.core.params import validated_arguments
from tympan.plugins.datasets.synth.layouts import LAYOUTS, Clip, Speakers
from tympan.plugins.datasets.synth.render import render
from tympan.plugins.datasets.synth.text import Grammar
from tympan.plugins.datasets.synth.voices import espeak_path, voice_pool

__all__ = ["CORPORA", "PRESETS", "SynthReport", "synthesize"]

CorpusName = Literal["librispeech", "libritts", "speech_commands", "librimix", "wsj0mix"]

#: The corpora :func:`synthesize` can write.
CORPORA: tuple[str, ...] = tuple(LAYOUTS)

#: Sizes by name: ``mini`` for smoke tests (seconds to make), ``default`` for the recipes' proof runs.
PRESETS: dict[str, dict[str, int]] = {
    "mini": {"train_voices": 4, "test_voices": 4, "utterances": 3, "keyword_takes": 1, "mixtures": 2},
    "default": {"train_voices": 48, "test_voices": 16, "utterances": 40, "keyword_takes": 4, "mixtures": 40},
}


@dataclasses.dataclass(frozen=True)
class SynthReport:
    """What :func:`synthesize` wrote: files and seconds of audio per corpus, the root.

    Example:
        >>> SynthReport(Path("x"), {"librispeech": 2}, {"librispeech": 3.5}).total_seconds
        3.5
    """

    root: Path
    files: dict[str, int]
    seconds: dict[str, float]

    @property
    def total_seconds(self) -> float:
        """Seconds of audio written in all."""
        return sum(self.seconds.values())


def _render_all(clips: Sequence[Clip], folder: Path, jobs: int, label: str, progress: bool) -> float:
    import click

    total = 0.0
    bar: Any = click.progressbar(length=len(clips), label=label, file=sys.stderr) if progress else None
    with contextlib.ExitStack() as stack:
        if bar is not None:
            stack.enter_context(bar)
        pool = stack.enter_context(concurrent.futures.ThreadPoolExecutor(max_workers=jobs))
        futures = [pool.submit(render, clip, folder) for clip in clips]
        try:
            for future in concurrent.futures.as_completed(futures):
                total += future.result()
                if bar is not None:
                    bar.update(1)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return total


def _write_side_files(files: dict[str, str], folder: Path) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as handle:
            handle.write(text.encode())


def synthesize(
    root: Annotated[str | Path, Field(description="The folder to write the corpora into.")],
    corpora: Annotated[list[CorpusName], Field(min_length=1, description="The corpora to write.")] = [  # noqa: B006
        "librispeech",
        "speech_commands",
        "librimix",
    ],
    seed: Annotated[int, Field(ge=0, le=2**31 - 1, description="Seed of every random choice.")] = 0,
    train_voices: Annotated[int, Field(ge=2, le=120, description="Training speakers.")] = 48,
    test_voices: Annotated[int, Field(ge=2, le=40, description="Held-out speakers (half dev, half test).")] = 16,
    utterances: Annotated[int, Field(ge=1, le=2000, description="Sentences per speaker (book corpora).")] = 40,
    keyword_takes: Annotated[int, Field(ge=1, le=100, description="Takes of each keyword per speaker.")] = 4,
    mixtures: Annotated[
        int, Field(ge=1, le=2000, description="Mixtures per speaker of a subset (LibriMix, WSJ0-2mix).")
    ] = 40,
    words: Annotated[str | Path | None, Field(description="YAML word list: slot -> words (default: built in).")] = None,
    templates: Annotated[str | Path | None, Field(description="Sentence templates, one per line.")] = None,
    jobs: Annotated[int, Field(ge=1, le=256, description="Synthesis threads.")] = 2,
    overwrite: Annotated[bool, Field(description="Replace corpora already under root.")] = False,
    progress: Annotated[bool, Field(description="Show a progress bar on standard error.")] = True,
) -> SynthReport:
    """Write ``corpora`` under ``root``; see the module docstring. Returns what was written.

    Raises :class:`~tympan.core.errors.SynthesisError` when espeak-ng is missing or a corpus is already
    there (without ``overwrite``), and ``InvalidParameterError`` for bad sizes, before writing anything.
    """
    validated_arguments(synthesize, locals())
    grammar = Grammar.from_files(words, templates)
    espeak_path()
    train, held_out = voice_pool(seed, train_voices, test_voices)
    half = len(held_out) // 2
    speakers = Speakers(train, held_out[:half], held_out[half:])
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for name in corpora:
        target = root / LAYOUTS[name].folder
        if target.exists() and not overwrite:
            raise SynthesisError(f"{target} already exists; pass overwrite=True (--overwrite) to replace it")
    counts = {"librispeech": utterances, "libritts": utterances, "speech_commands": keyword_takes}
    files, seconds = {}, {}
    for name in dict.fromkeys(corpora):
        layout = LAYOUTS[name]
        clips = layout.clips(speakers, grammar, seed, counts.get(name, mixtures))
        staging = Path(tempfile.mkdtemp(prefix=f".{layout.folder}.", suffix=".tmp", dir=root))
        try:
            seconds[name] = _render_all(clips, staging, jobs, f"writing {name}", progress)
            _write_side_files(layout.side_files(clips), staging)
            _replace(staging / layout.folder, root / layout.folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        files[name] = sum(1 + len(clip.sources) for clip in clips)
    return SynthReport(root, files, seconds)


def _replace(new: Path, target: Path) -> None:
    """Move ``new`` to ``target``, the old ``target`` (if any) removed only once the new one is in place."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
