"""The corpora ``tympan data synth`` writes, each in the layout of the real corpus it stands in for.

Each layout turns the speakers and the options into a list of :class:`Clip` jobs (what to say, who says it,
where it goes) and writes the side files (transcripts, split lists) itself:

- ``librispeech``: ``LibriSpeech/<train-clean-100|dev-clean|test-clean>/<speaker>/<chapter>/...flac`` at
  16 kHz with ``.trans.txt`` files;
- ``libritts``: ``LibriTTS/<subset>/<speaker>/<chapter>/<id>.wav`` at 24 kHz with ``.original.txt`` and
  ``.normalized.txt``;
- ``speech_commands``: ``SpeechCommands/speech_commands_v0.02/<word>/<hash>_nohash_<n>.wav``, one second at
  16 kHz, the ten keywords, auxiliary words and ``_silence_`` clips of noise, with ``validation_list.txt``
  and ``testing_list.txt`` naming the held-out speakers' clips;
- ``librimix``: ``Libri2Mix/wav8k/min/<train-100|dev|test>/{mix_clean,s1,s2}/<id>.wav``, two speakers
  mixed at a random level difference and cut to the shorter one;
- ``wsj0mix``: the same kind of mixtures in the layout of the WSJ0-2mix scripts' output,
  ``wsj0-mix/2speakers/wav8k/min/<tr|cv|tt>/{mix,s1,s2}/<id>.wav`` (each split folder is one
  ``data:wsj0mix`` root).

Training subsets use the training voices; the dev and test subsets use the held-out voices (half each).

Example:
    >>> sorted(LAYOUTS)
    ['librimix', 'librispeech', 'libritts', 'speech_commands', 'wsj0mix']
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Sequence

from tympan.plugins.datasets.synth.text import KEYWORDS, UNKNOWN_WORDS, Grammar
from tympan.plugins.datasets.synth.voices import Voice

__all__ = ["LAYOUTS", "Clip", "Layout", "Speakers"]


@dataclasses.dataclass(frozen=True)
class Speakers:
    """The training voices and the held-out ones of the dev and test subsets.

    Example:
        >>> Speakers([], [], []).train
        []
    """

    train: list[Voice]
    dev: list[Voice]
    test: list[Voice]

    def by_subset(self, names: tuple[str, str, str]) -> list[tuple[str, list[Voice]]]:
        """``(subset name, voices)`` for the training, dev and test subsets called ``names``."""
        return list(zip(names, (self.train, self.dev, self.test), strict=True))


@dataclasses.dataclass(frozen=True)
class Clip:
    """One audio file to render: each source's text and voice (a mixture has two), where and how to write it.

    ``seed`` makes its padding, noise and gains reproducible; ``length`` fixes the duration in seconds
    (keyword clips), else the speech sets it; ``split`` is ``train``, ``dev`` or ``test``. A clip without
    text is noise only.

    Example:
        >>> Clip("a.wav", ("HI",), (Voice(100, "en-us", "m1", 150, 50),), 16000, "a").mixture
        False
    """

    path: str
    texts: tuple[str, ...]
    voices: tuple[Voice, ...]
    sample_rate: int
    seed: str
    length: float | None = None
    sources: tuple[str, ...] = ()  # a mixture's source files, beside ``path``
    split: str = "train"

    @property
    def mixture(self) -> bool:
        """Whether this clip mixes several speakers."""
        return len(self.voices) > 1


@dataclasses.dataclass(frozen=True)
class Layout:
    """One corpus layout: its top folder, its clips, and the side files written after them.

    Example:
        >>> LAYOUTS["librispeech"].folder
        'LibriSpeech'
    """

    folder: str
    clips: Callable[[Speakers, Grammar, int, int], list[Clip]]
    side_files: Callable[[list[Clip]], dict[str, str]]


def _utterances(voices: Sequence[Voice], count: int) -> list[tuple[Voice, int]]:
    return [(voice, n) for voice in voices for n in range(count)]


# -- LibriSpeech ---------------------------------------------------------------------------------------------

_BOOK_SUBSETS = ("train-clean-100", "dev-clean", "test-clean")


def _librispeech_clips(speakers: Speakers, grammar: Grammar, seed: int, count: int) -> list[Clip]:
    clips = []
    for subset, voices in speakers.by_subset(_BOOK_SUBSETS):
        for voice, n in _utterances(voices, count):
            speaker, chapter = voice.speaker_id, voice.speaker_id * 10
            key = f"{seed}/book/{speaker}/{n}"
            path = f"LibriSpeech/{subset}/{speaker}/{chapter}/{speaker}-{chapter}-{n:04d}.flac"
            clips.append(Clip(path, (grammar.sentence(key),), (voice,), 16000, key))
    return clips


def _librispeech_side_files(clips: list[Clip]) -> dict[str, str]:
    chapters: dict[str, list[str]] = defaultdict(list)
    for clip in clips:
        folder, name = clip.path.rsplit("/", 1)
        stem = name[: -len(".flac")]
        speaker, chapter, _ = stem.split("-")
        chapters[f"{folder}/{speaker}-{chapter}.trans.txt"].append(f"{stem} {clip.texts[0]}\n")
    return {path: "".join(sorted(lines)) for path, lines in chapters.items()}


# -- LibriTTS ------------------------------------------------------------------------------------------------


def _libritts_clips(speakers: Speakers, grammar: Grammar, seed: int, count: int) -> list[Clip]:
    clips = []
    for subset, voices in speakers.by_subset(_BOOK_SUBSETS):
        for voice, n in _utterances(voices, count):
            speaker, chapter = voice.speaker_id, voice.speaker_id * 10
            key = f"{seed}/book/{speaker}/{n}"  # the LibriSpeech sentence of the same speaker and number
            path = f"LibriTTS/{subset}/{speaker}/{chapter}/{speaker}_{chapter}_{n:06d}_000000.wav"
            clips.append(Clip(path, (grammar.sentence(key),), (voice,), 24000, key))
    return clips


def _libritts_side_files(clips: list[Clip]) -> dict[str, str]:
    files = {}
    for clip in clips:
        stem = clip.path[: -len(".wav")]
        text = clip.texts[0].capitalize() + "."
        files[f"{stem}.original.txt"] = text + "\n"
        files[f"{stem}.normalized.txt"] = text + "\n"
    return files


# -- Speech Commands -----------------------------------------------------------------------------------------

_COMMANDS = "SpeechCommands/speech_commands_v0.02"
SILENCE = "_silence_"


def _speaker_hash(voice: Voice, seed: int) -> str:
    return hashlib.sha1(f"{seed}/{voice.speaker_id}".encode()).hexdigest()[:8]


def _command_clips(speakers: Speakers, grammar: Grammar, seed: int, takes: int) -> list[Clip]:
    del grammar  # keywords are single words, not sentences
    clips = []
    for split, voices in speakers.by_subset(("train", "dev", "test")):
        for voice in voices:
            speaker = _speaker_hash(voice, seed)
            generator = random.Random(f"{seed}/commands/{voice.speaker_id}")
            words = [(word, n) for word in KEYWORDS for n in range(takes)]
            words += [(generator.choice(UNKNOWN_WORDS), n) for n in range(2 * takes)]
            words += [(SILENCE, n) for n in range(takes)]
            for word, n in words:
                path = f"{_COMMANDS}/{word}/{speaker}_nohash_{n}.wav"
                text = () if word == SILENCE else (word,)
                take = voice.take(generator)
                clips.append(Clip(path, text, (take,), 16000, f"{seed}/{path}", length=1.0, split=split))
    return clips


def _command_side_files(clips: list[Clip]) -> dict[str, str]:
    lists = {"dev": "validation_list.txt", "test": "testing_list.txt"}
    lines: dict[str, list[str]] = {name: [] for name in lists.values()}
    for clip in clips:
        if clip.split in lists:
            lines[lists[clip.split]].append(clip.path[len(_COMMANDS) + 1 :] + "\n")
    return {f"{_COMMANDS}/{name}": "".join(sorted(entries)) for name, entries in lines.items()}


# -- LibriMix ------------------------------------------------------------------------------------------------


def _mixture_clips(folder: str, subsets: tuple[str, str, str], mixtures: str) -> Callable[..., list[Clip]]:
    """The clips of a two-speaker mixture corpus: ``<folder>/<subset>/{<mixtures>,s1,s2}/<id>.wav`` at 8 kHz."""

    def clips(speakers: Speakers, grammar: Grammar, seed: int, count: int) -> list[Clip]:
        made = []
        for subset, voices in speakers.by_subset(subsets):
            if len(voices) < 2:
                continue
            for n in range(count * len(voices) // 2):
                generator = random.Random(f"{seed}/mix/{subset}/{n}")
                pair = tuple(generator.sample(voices, 2))
                keys = [f"{seed}/mix/{subset}/{n}/{voice.speaker_id}" for voice in pair]
                name = "_".join(f"{voice.speaker_id}-{n:05d}" for voice in pair)
                base = f"{folder}/{subset}"
                sources = (f"{base}/s1/{name}.wav", f"{base}/s2/{name}.wav")
                texts = tuple(grammar.sentence(key) for key in keys)
                made.append(Clip(f"{base}/{mixtures}/{name}.wav", texts, pair, 8000, keys[0], sources=sources))
        return made

    return clips


LAYOUTS = {
    "librispeech": Layout("LibriSpeech", _librispeech_clips, _librispeech_side_files),
    "libritts": Layout("LibriTTS", _libritts_clips, _libritts_side_files),
    "speech_commands": Layout("SpeechCommands", _command_clips, _command_side_files),
    "librimix": Layout(
        "Libri2Mix", _mixture_clips("Libri2Mix/wav8k/min", ("train-100", "dev", "test"), "mix_clean"), lambda clips: {}
    ),
    "wsj0mix": Layout(
        "wsj0-mix", _mixture_clips("wsj0-mix/2speakers/wav8k/min", ("tr", "cv", "tt"), "mix"), lambda clips: {}
    ),
}
