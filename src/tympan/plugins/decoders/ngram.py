"""A back-off n-gram language model read from an ARPA file, scored in batches on any device.

Scores are log10, as ARPA files and KenLM give them. ``p(w | h)`` is the n-gram's probability when ``h w``
is listed; otherwise ``backoff(h) + p(w | h without its first word)``. A state is the longest listed
suffix of the history (at most ``order - 1`` words), so two histories that end the same score the same.

Every n-gram has an integer id (0 is the empty context). The tables are tensors: one sorted array of keys
``context_id * vocabulary + word`` searched with ``torch.searchsorted``, and per id its back-off weight,
its suffix context and the state after it. Scoring a batch of (state, word) pairs is ``order`` rounds of
a search, with no Python per pair.

Example:
    >>> arpa = '''\\\\data\\\\
    ... ngram 1=4
    ... ngram 2=1
    ...
    ... \\\\1-grams:
    ... -1.0 <s> -0.5
    ... -1.0 </s>
    ... -0.5 a -0.2
    ... -2.0 <unk>
    ...
    ... \\\\2-grams:
    ... -0.1 <s> a
    ...
    ... \\\\end\\\\
    ... '''
    >>> lm = NGramLM.from_arpa_text(arpa)
    >>> start = lm.start(1)
    >>> state, score = lm.score(start, torch.tensor([lm.word_id("a")]))
    >>> round(score.item(), 6)
    -0.1
    >>> _, end = lm.finish(state)
    >>> round(end.item(), 6)  # backoff(a) + p(</s>)
    -1.2
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import torch

from tympan.core.budget import check_buffer_bytes
from tympan.core.errors import DecoderResourceError

__all__ = ["NGramLM"]

#: The probability KenLM gives ``<unk>`` when a model does not list it.
MISSING_UNK_LOG10 = -100.0
MAX_ORDER = 10


def _parse_arpa(lines: Iterable[str], source: object) -> tuple[int, list[dict[tuple[str, ...], tuple[float, float]]]]:
    """The order and, per order, n-gram -> (log10 probability, log10 back-off)."""
    declared: dict[int, int] = {}
    tables: list[dict[tuple[str, ...], tuple[float, float]]] = []
    section = "preamble"
    order = 0
    number = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "\\data\\":
            section = "data"
            continue
        if line == "\\end\\":
            section = "end"
            break
        if line.startswith("\\") and line.endswith("-grams:"):
            try:
                order = int(line[1 : -len("-grams:")])
            except ValueError:
                raise DecoderResourceError(source, f"line {number}: bad section header {line!r}") from None
            if order != len(tables) + 1 or order not in declared:
                raise DecoderResourceError(source, f"line {number}: unexpected section {line!r}")
            tables.append({})
            section = "ngrams"
            continue
        if section == "data":
            head, _, count = line.partition("=")
            fields = head.split()
            if len(fields) != 2 or fields[0] != "ngram" or not fields[1].isdigit() or not count.strip().isdigit():
                raise DecoderResourceError(source, f"line {number}: expected 'ngram N=COUNT', got {line!r}")
            declared[int(fields[1])] = int(count)
            continue
        if section != "ngrams":
            if section == "preamble":
                continue  # text before \data\ is a comment
            raise DecoderResourceError(source, f"line {number}: unexpected text {line!r}")
        fields = line.split()
        if len(fields) not in (order + 1, order + 2):
            raise DecoderResourceError(
                source,
                f"line {number}: a {order}-gram line needs a probability, {order} words and an optional back-off",
            )
        try:
            logp = float(fields[0])
            backoff = float(fields[order + 1]) if len(fields) == order + 2 else 0.0
        except ValueError:
            raise DecoderResourceError(source, f"line {number}: bad number in {line!r}") from None
        if logp > 0 or logp != logp or backoff != backoff:
            raise DecoderResourceError(source, f"line {number}: a log10 probability must be <= 0 (got {fields[0]})")
        tables[-1][tuple(fields[1 : order + 1])] = (logp, backoff)
    if section != "end":
        raise DecoderResourceError(source, f"line {number}: missing \\end\\")
    if not declared or len(tables) != max(declared):
        raise DecoderResourceError(source, "the \\data\\ header and the n-gram sections disagree")
    if len(tables) > MAX_ORDER:
        raise DecoderResourceError(source, f"order {len(tables)} is above the supported {MAX_ORDER}")
    for size, table in enumerate(tables, start=1):
        if len(table) != declared[size]:
            raise DecoderResourceError(
                source, f"\\data\\ declares {declared[size]} {size}-grams, the section lists {len(table)}"
            )
    return len(tables), tables


class NGramLM:
    """A back-off n-gram model as tensors; see the module docstring.

    Build it with :meth:`from_arpa` (a file) or :meth:`from_arpa_text`. ``vocabulary`` lists the words;
    :meth:`word_id` maps a word to its id (unknown words to ``<unk>``).

    Example:
        >>> lm = NGramLM.from_arpa_text("\\\\data\\\\\\nngram 1=2\\n\\\\1-grams:\\n-0.3 a\\n-1 <unk>\\n\\\\end\\\\\\n")
        >>> lm.order, lm.vocabulary[:2]
        (1, ['a', '<unk>'])
    """

    def __init__(self, order: int, tables: list[dict[tuple[str, ...], tuple[float, float]]], source: object) -> None:
        self.order = order
        self.source = source
        unigrams = tables[0]
        if ("<unk>",) not in unigrams:
            unigrams[("<unk>",)] = (MISSING_UNK_LOG10, 0.0)
        self.vocabulary = [gram[0] for gram in unigrams]
        self._words = {word: i for i, word in enumerate(self.vocabulary)}
        self.unk = self._words["<unk>"]
        total = sum(len(table) for table in tables)
        check_buffer_bytes("n-gram LM", {"n-grams": total}, total * 8 * 7)
        ids: dict[tuple[str, ...], int] = {(): 0}
        for table in tables:
            for gram in table:
                ids[gram] = len(ids)
        width = len(self.vocabulary)
        keys: list[int] = []
        logp: list[float] = []
        after: list[int] = []
        backoff = [0.0] * (total + 1)
        suffix = [0] * (total + 1)
        for size, table in enumerate(tables, start=1):
            for gram, (probability, weight) in table.items():
                context = gram[:-1]
                if context not in ids:
                    raise DecoderResourceError(source, f"{size}-gram {' '.join(gram)!r} has no {size - 1}-gram context")
                word = self._words.get(gram[-1])
                if word is None:
                    raise DecoderResourceError(source, f"{size}-gram {' '.join(gram)!r} ends with a word not listed")
                own = ids[gram]
                keys.append(ids[context] * width + word)
                logp.append(probability)
                backoff[own] = weight
                suffix[own] = ids[self._longest_suffix(gram[1:], ids)]
                after.append(ids[self._longest_suffix(gram[-(order - 1) :] if order > 1 else (), ids)])
        sorted_keys, sort = torch.tensor(keys, dtype=torch.long).sort()
        self.keys = sorted_keys
        self.logp = torch.tensor(logp, dtype=torch.float64)[sort]
        self.after = torch.tensor(after, dtype=torch.long)[sort]
        self.backoff = torch.tensor(backoff, dtype=torch.float64)
        self.suffix = torch.tensor(suffix, dtype=torch.long)
        self.width = width
        begin = ids.get(("<s>",))
        self.begin = begin if begin is not None else 0
        self.end_word = self._words.get("</s>", self.unk)

    @staticmethod
    def _longest_suffix(gram: tuple[str, ...], ids: dict[tuple[str, ...], int]) -> tuple[str, ...]:
        while gram not in ids:
            gram = gram[1:]
        return gram

    @classmethod
    def from_arpa(cls, path: str | os.PathLike[str]) -> NGramLM:
        """Read an ARPA file; a malformed one raises :class:`~tympan.core.errors.DecoderResourceError`.

        Example:
            >>> import tempfile, pathlib
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "lm.arpa"
            >>> _ = path.write_text("\\\\data\\\\\\nngram 1=1\\n\\\\1-grams:\\n-0.5 a\\n\\\\end\\\\\\n")
            >>> NGramLM.from_arpa(path).vocabulary
            ['a', '<unk>']
        """
        try:
            with open(path, encoding="utf-8") as handle:
                return cls(*_parse_arpa(handle, path), source=path)
        except (OSError, UnicodeDecodeError) as err:
            raise DecoderResourceError(path, f"cannot read the ARPA file: {err}") from None

    @classmethod
    def from_arpa_text(cls, text: str) -> NGramLM:
        """Parse ARPA text (see :meth:`from_arpa`)."""
        return cls(*_parse_arpa(text.splitlines(), "<text>"), source="<text>")

    def word_id(self, word: str) -> int:
        """The id of ``word``, or of ``<unk>`` when the model does not list it."""
        return self._words.get(word, self.unk)

    def word_ids(self, words: Sequence[str]) -> torch.Tensor:
        """Ids of several words (``<unk>``'s for those not listed), int64."""
        return torch.tensor([self.word_id(word) for word in words], dtype=torch.long)

    def to(self, device: torch.device | str) -> NGramLM:
        """Move the tables to ``device`` (in place); returns ``self``."""
        for name in ("keys", "logp", "after", "backoff", "suffix"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def start(self, batch: int, device: torch.device | str | None = None) -> torch.Tensor:
        """``(batch,)`` states at the start of a sentence (after ``<s>``)."""
        return torch.full((batch,), self.begin, dtype=torch.long, device=device or self.keys.device)

    def score(self, states: torch.Tensor, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states after ``words`` and their log10 probabilities given ``states`` (any shape, broadcast)."""
        states, words = torch.broadcast_tensors(states, words)
        context = states.clone()
        total = torch.zeros(states.shape, dtype=torch.float64, device=states.device)
        after = torch.zeros_like(states)
        pending = torch.ones(states.shape, dtype=torch.bool, device=states.device)
        last = self.keys.numel() - 1
        for _ in range(self.order):
            key = context * self.width + words
            position = torch.searchsorted(self.keys, key).clamp(max=last)
            found = pending & (self.keys[position] == key)
            total = torch.where(found, total + self.logp[position], total)
            after = torch.where(found, self.after[position], after)
            missed = pending & ~found
            total = torch.where(missed, total + self.backoff[context], total)
            context = torch.where(missed, self.suffix[context], context)
            pending = missed
        return after, total

    def finish(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states after ``</s>`` and its log10 probability given ``states``."""
        return self.score(states, torch.full_like(states, self.end_word))

    def unigram(self, words: torch.Tensor) -> torch.Tensor:
        """log10 p(word | <s>) for each word id (the look-ahead of the lexicon trie)."""
        return self.score(self.start(1, words.device).expand_as(words), words)[1]
