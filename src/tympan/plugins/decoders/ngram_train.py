"""Estimate an interpolated Kneser-Ney n-gram model from sentences and write it as an ARPA file.

Each sentence is padded with ``<s>`` and ``</s>``. The highest order uses raw counts, lower orders the
number of distinct words seen before each n-gram (its continuation count; raw counts for n-grams that
start with ``<s>``, which nothing precedes), all with one absolute discount ``discount``. The unigram
distribution is mixed with a uniform one over the vocabulary and ``<unk>``, so every word has a
probability. The ARPA file lists every n-gram seen, with its interpolated probability and, for contexts,
the back-off weight that makes the distribution of each context sum to one.

Example:
    >>> text = write_arpa_text(["a b", "a c", "b c"], order=2)
    >>> text.splitlines()[:4]
    ['\\\\data\\\\', 'ngram 1=6', 'ngram 2=7', '']
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable

from tympan.core.files import atomic_write

__all__ = ["write_arpa", "write_arpa_text"]

Gram = tuple[str, ...]


def _counts(sentences: Iterable[str], order: int) -> list[Counter[Gram]]:
    raw: list[Counter[Gram]] = [Counter() for _ in range(order)]
    for sentence in sentences:
        words = ["<s>", *sentence.split(), "</s>"]
        for size in range(1, order + 1):
            for i in range(len(words) - size + 1):
                raw[size - 1][tuple(words[i : i + size])] += 1
    counts = [raw[-1]]
    for size in range(order - 1, 0, -1):
        continuation: Counter[Gram] = Counter()
        for gram in raw[size]:  # n-grams one longer: each adds one distinct left word to its suffix
            continuation[gram[1:]] += 1
        for gram, count in raw[size - 1].items():
            if gram[0] == "<s>" or gram not in continuation:
                continuation[gram] = count
        counts.insert(0, continuation)
    return counts


def write_arpa_text(sentences: Iterable[str], order: int = 3, discount: float = 0.75, uniform_mix: float = 0.01) -> str:
    """The ARPA text of a Kneser-Ney model of ``sentences`` (see the module docstring).

    Example:
        >>> "\\\\3-grams:" in write_arpa_text(["the cat sat", "the dog sat"])
        True
    """
    if order < 1:
        raise ValueError(f"order must be at least 1 (got {order})")
    counts = _counts(sentences, order)
    if not counts[0]:
        raise ValueError("no sentence to estimate from")
    probabilities, gammas = _probabilities_with_backoff(counts, discount, uniform_mix)
    lines = ["\\data\\"]
    lines += [f"ngram {size}={len(level) + (size == 1)}" for size, level in enumerate(probabilities, start=1)]
    for size, level in enumerate(probabilities, start=1):
        lines += ["", f"\\{size}-grams:"]
        if size == 1:
            lines.append(f"-99\t<s>\t{math.log10(gammas.get(('<s>',), 1.0)):.6f}")
        for gram, probability in level.items():
            weight = gammas.get(gram) if size < order else None
            text = f"{math.log10(probability):.6f}\t{' '.join(gram)}"
            lines.append(text if weight is None else f"{text}\t{math.log10(weight):.6f}")
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def _probabilities_with_backoff(
    counts: list[Counter[Gram]], discount: float, uniform_mix: float
) -> tuple[list[dict[Gram, float]], dict[Gram, float]]:
    """Probabilities per order and the back-off weight of every context, computed order by order."""
    vocabulary = sorted({gram[0] for gram in counts[0]} | {"<unk>"})
    words = [word for word in vocabulary if word != "<s>"]
    total = sum(count for gram, count in counts[0].items() if gram != ("<s>",))
    probabilities: list[dict[Gram, float]] = [
        {(w,): (1 - uniform_mix) * counts[0].get((w,), 0) / total + uniform_mix / len(words) for w in words}
    ]
    gammas: dict[Gram, float] = {}
    for size in range(2, len(counts) + 1):
        context_total: Counter[Gram] = Counter()
        followers: dict[Gram, list[Gram]] = defaultdict(list)
        for gram, count in counts[size - 1].items():
            context_total[gram[:-1]] += count
            followers[gram[:-1]].append(gram)
        level: dict[Gram, float] = {}
        for context, grams in followers.items():
            gamma = discount * len(grams) / context_total[context]
            seen_lower = 0.0
            for gram in grams:
                lower = _lookup(gram[1:], probabilities, gammas)
                seen_lower += lower
                level[gram] = max(counts[size - 1][gram] - discount, 0.0) / context_total[context] + gamma * lower
            # back-off weight: the mass left for unseen words, over their lower-order mass
            left = 1.0 - sum(level[gram] for gram in grams)
            gammas[context] = max(left, 1e-12) / max(1.0 - seen_lower, 1e-12)
        probabilities.append(level)
    return probabilities, gammas


def _lookup(gram: Gram, probabilities: list[dict[Gram, float]], gammas: dict[Gram, float]) -> float:
    """p(gram[-1] | gram[:-1]) by back-off through the listed probabilities."""
    listed = probabilities[len(gram) - 1].get(gram)
    if listed is not None:
        return listed
    return gammas.get(gram[:-1], 1.0) * _lookup(gram[1:], probabilities, gammas)


def write_arpa(
    path: str | os.PathLike[str],
    sentences: Iterable[str],
    order: int = 3,
    discount: float = 0.75,
    uniform_mix: float = 0.01,
) -> None:
    """Write the model of :func:`write_arpa_text` to ``path`` atomically.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "lm.arpa"
        >>> write_arpa(path, ["a b"], order=2)
        >>> path.read_text().startswith("\\\\data\\\\")
        True
    """
    text = write_arpa_text(sentences, order, discount, uniform_mix)
    with atomic_write(path) as handle:
        handle.write(text.encode())
