"""What the synthetic speakers say: sentences from templates over a word list, and the keyword vocabulary.

A template is a line of words and ``{slot}`` names (``the {adjective} {noun} {verb} {adverb}``); the word
list maps each slot to its words. :class:`Grammar` fills templates deterministically from a seed; its
sentences are upper case with apostrophes, as LibriSpeech's transcripts are. The built-in grammar (about
150 words) gives sentences a trigram language model can learn from, and :data:`KEYWORDS` /
:data:`UNKNOWN_WORDS` are the ten Speech Commands keywords and the auxiliary words of its v2 release.

Example:
    >>> grammar = Grammar.default()
    >>> grammar.sentence("seed/0") == grammar.sentence("seed/0")
    True
    >>> Grammar({"noun": ["cat", "dog"]}, ["the {noun} sat"]).sentence("a")
    'THE CAT SAT'
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DEFAULT_TEMPLATES", "DEFAULT_WORDS", "KEYWORDS", "UNKNOWN_WORDS", "Grammar"]

#: The ten keywords of the Speech Commands task.
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")

#: The auxiliary (``_unknown_``) words of Speech Commands v2.
UNKNOWN_WORDS = (
    "backward", "bed", "bird", "cat", "dog", "eight", "five", "follow", "forward", "four", "happy", "house",
    "learn", "marvin", "nine", "one", "seven", "sheila", "six", "three", "tree", "two", "visual", "wow", "zero",
)  # fmt: skip

#: The built-in word list: slot -> words.
DEFAULT_WORDS: dict[str, tuple[str, ...]] = {
    "name": ("anna", "peter", "maria", "john", "lucy", "david", "emma", "oliver", "grace", "henry", "alice", "tom"),
    "determiner": ("the", "a", "every", "my", "your", "this", "that", "some"),
    "number": ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve"),
    "adjective": (
        "red", "green", "blue", "small", "large", "quiet", "happy", "old", "young", "bright", "dark", "warm",
        "cold", "heavy", "gentle", "clever", "busy", "brown",
    ),
    "noun": (
        "dog", "cat", "bird", "horse", "garden", "river", "window", "teacher", "farmer", "boat", "house",
        "letter", "table", "apple", "mountain", "train", "doctor", "child", "forest", "kitchen",
    ),
    "nouns": (
        "dogs", "cats", "birds", "horses", "boats", "letters", "apples", "trains", "children", "flowers",
        "books", "stones",
    ),
    "verb": (
        "found", "painted", "watched", "carried", "opened", "cleaned", "followed", "pushed", "visited",
        "washed", "counted", "wanted",
    ),
    "intransitive": ("slept", "sang", "waited", "laughed", "danced", "smiled", "jumped", "listened"),
    "adverb": ("slowly", "quickly", "quietly", "happily", "again", "today", "yesterday", "early", "later"),
    "preposition": ("near", "behind", "under", "beside", "across", "inside", "over", "past"),
    "imperative": ("open", "close", "bring", "find", "paint", "clean", "move", "take"),
}  # fmt: skip

#: The built-in sentence templates.
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "{determiner} {adjective} {noun} {intransitive} {preposition} the {noun}",
    "{name} {verb} {determiner} {adjective} {noun}",
    "{name} {verb} {number} {adjective} {nouns} {adverb}",
    "{determiner} {noun} {intransitive} {adverb}",
    "please {imperative} the {adjective} {noun}",
    "{number} {nouns} {intransitive} {preposition} the {adjective} {noun}",
    "{name} and {name} {verb} the {noun} {adverb}",
    "the {noun} {verb} {number} {nouns} {preposition} the {noun}",
    "{name} {intransitive} {preposition} {determiner} {noun} {adverb}",
    "{imperative} {number} {nouns} and {imperative} the {noun}",
    "{name}'s {noun} {intransitive} {adverb}",
    "did {name} {imperative} the {adjective} {noun}",
)

_SLOT = re.compile(r"\{([a-z_]+)\}")


class Grammar:
    """Sentences from ``templates`` whose ``{slot}`` names are filled from ``words``, chosen by a seed string.

    Raises ``ValueError`` naming a template's slot that ``words`` lacks, or an empty slot.

    Example:
        >>> Grammar({"noun": []}, ["a {noun}"])
        Traceback (most recent call last):
        ...
        ValueError: slot 'noun' has no words
    """

    def __init__(self, words: Mapping[str, Sequence[str]], templates: Sequence[str]) -> None:
        if not templates:
            raise ValueError("no sentence templates")
        self.words = {slot: tuple(str(word) for word in choices) for slot, choices in words.items()}
        self.templates = tuple(templates)
        for template in self.templates:
            for slot in _SLOT.findall(template):
                if slot not in self.words:
                    raise ValueError(f"template {template!r} names slot {slot!r}, which the word list lacks")
                if not self.words[slot]:
                    raise ValueError(f"slot {slot!r} has no words")

    @classmethod
    def default(cls) -> Grammar:
        """The built-in word list and templates."""
        return cls(DEFAULT_WORDS, DEFAULT_TEMPLATES)

    @classmethod
    def from_files(cls, words: str | Path | None, templates: str | Path | None) -> Grammar:
        """A grammar from a YAML word list (``slot: [words]``) and a templates file (one per line).

        Either may be ``None`` for the built-in one.

        Example:
            >>> import pathlib, tempfile
            >>> folder = pathlib.Path(tempfile.mkdtemp())
            >>> _ = (folder / "words.yaml").write_text("colour: [red, blue]\\n")
            >>> _ = (folder / "templates.txt").write_text("a {colour} sky\\n\\n")
            >>> Grammar.from_files(folder / "words.yaml", folder / "templates.txt").sentence("x")
            'A BLUE SKY'
        """
        table: Mapping[str, Any] = DEFAULT_WORDS
        if words is not None:
            loaded = yaml.safe_load(Path(words).read_text(encoding="utf-8"))
            if not isinstance(loaded, dict) or not all(isinstance(v, list) for v in loaded.values()):
                raise ValueError(f"{words}: expected a mapping of slot names to lists of words")
            table = loaded
        lines: Sequence[str] = DEFAULT_TEMPLATES
        if templates is not None:
            lines = [line.strip() for line in Path(templates).read_text(encoding="utf-8").splitlines() if line.strip()]
        return cls(table, lines)

    def sentence(self, seed: str) -> str:
        """The sentence of ``seed`` (the same seed, the same sentence), upper case."""
        generator = random.Random(seed)
        template = generator.choice(self.templates)
        text = _SLOT.sub(lambda match: generator.choice(self.words[match.group(1)]), template)
        return " ".join(text.split()).upper()
