"""A synthetic speech-recognition corpus for the decoder benchmarks: words, text, an LM, emissions.

The vocabulary is ``words`` pseudo-words of 2 to 8 letters. Sentences come from a simple language: each
word is followed, seven times in ten, by one of eight successors drawn for it once (Zipf-weighted), and
otherwise by a Zipf-weighted word, so that a trigram model estimated on the text predicts it well. The LM
is :func:`tympan.plugins.decoders.ngram_train.write_arpa` (Kneser-Ney, order 3) of ``sentences`` sentences
plus one that lists the words the text left out, so every word has a unigram; the lexicon spells each word
with its letters and the boundary token.

Test utterances are new sentences of the same language rendered as CTC frame paths of ``frames`` frames
(letters held 1 to 3 frames, blanks between 0 and 2, a boundary of 1 to 2 frames between words, the
sentence cut at the last word that fits, blanks after), and emissions are
``log_softmax(noise * N(0, 1) + peak * onehot(path))`` over the 32 tokens: a blank, the boundary ``|``,
26 letters and 4 tokens that never occur.

Example:
    >>> import tempfile
    >>> corpus = synthesize(tempfile.mkdtemp(), words=50, sentences=40, utterances=2, frames=60)
    >>> corpus.emissions.shape, len(corpus.references), corpus.arpa.exists()
    (torch.Size([2, 60, 32]), 2, True)
"""

from __future__ import annotations

import itertools
import random
import string
from dataclasses import dataclass
from pathlib import Path

import torch

from tympan.plugins.decoders.ngram_train import write_arpa

TOKENS = ["-", "|", *string.ascii_lowercase, "'", "0", "1", "2"]
BLANK, BOUNDARY = 0, 1


@dataclass
class Corpus:
    """The vocabulary, the test transcripts and emissions, and the LM and lexicon files."""

    words: list[str]
    references: list[str]
    emissions: torch.Tensor
    arpa: Path
    lexicon: Path


class _Language:
    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.words = words
        self.rng = rng
        self.cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))
        self.successors: dict[int, list[int]] = {}

    def _zipf(self, count: int = 1) -> list[int]:
        return self.rng.choices(range(len(self.words)), cum_weights=self.cumulative, k=count)

    def sentence(self, length: int) -> list[str]:
        word = self._zipf()[0]
        out = [word]
        for _ in range(length - 1):
            if self.rng.random() < 0.7:
                followers = self.successors.get(word)
                if followers is None:
                    followers = self.successors[word] = self._zipf(8)
                word = self.rng.choice(followers)
            else:
                word = self._zipf()[0]
            out.append(word)
        return [self.words[w] for w in out]


def _path(words: list[str], frames: int, rng: random.Random) -> tuple[list[int], list[str]]:
    path: list[int] = []
    spoken: list[str] = []
    for word in words:
        piece = [BOUNDARY] * rng.randint(1, 2) + [BLANK] * rng.randint(0, 1) if spoken else []
        for letter in word:
            piece += [TOKENS.index(letter)] * rng.randint(1, 3) + [BLANK] * rng.randint(0, 2)
        if len(path) + len(piece) > frames:
            break
        path += piece
        spoken.append(word)
    return path + [BLANK] * (frames - len(path)), spoken


def synthesize(
    folder: str | Path,
    words: int = 10_000,
    sentences: int = 20_000,
    utterances: int = 100,
    frames: int = 400,
    noise: float = 1.0,
    peak: float = 4.0,
    seed: int = 0,
) -> Corpus:
    """Make the corpus (see the module docstring) and write ``lm.arpa`` and ``lexicon.txt`` in ``folder``."""
    folder = Path(folder)
    rng = random.Random(seed)
    vocabulary: set[str] = set()
    while len(vocabulary) < words:
        vocabulary.add("".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 8))))
    ordered = sorted(vocabulary)
    rng.shuffle(ordered)
    language = _Language(ordered, rng)
    text = [" ".join(language.sentence(rng.randint(4, 20))) for _ in range(sentences)]
    seen = {word for line in text for word in line.split()}
    text.append(" ".join(word for word in ordered if word not in seen))
    arpa = folder / "lm.arpa"
    write_arpa(arpa, [line for line in text if line], order=3)
    lexicon = folder / "lexicon.txt"
    lexicon.write_text("".join(f"{word}\t{' '.join(word)} |\n" for word in ordered))
    paths, references = [], []
    for _ in range(utterances):
        path, spoken = _path(language.sentence(60), frames, rng)
        paths.append(path)
        references.append(" ".join(spoken))
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(utterances, frames, len(TOKENS), generator=generator) * noise
    logits.scatter_add_(2, torch.tensor(paths)[..., None], torch.full((utterances, frames, 1), peak))
    return Corpus(ordered, references, logits.log_softmax(-1), arpa, lexicon)
