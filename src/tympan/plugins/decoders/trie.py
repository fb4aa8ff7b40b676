"""Tries over token sequences as tensors: the lexicon (spellings -> words) and the hotword automaton.

:class:`LexiconTrie` stores each edge as a key ``node * tokens + token`` in one sorted array, so a batch of
steps is one ``torch.searchsorted``. Each node lists the words it completes and carries a look-ahead score:
the largest LM score of a word below it ("smearing", as flashlight does with ``SmearingMode.MAX``).

:class:`HotwordGraph` is an Aho-Corasick automaton over the hotwords' spellings: every token moves each
hypothesis to the longest hotword prefix it now ends with, earning the weight of each matched token; a
match that breaks gives its partial bonus back, and a completed hotword keeps it.

Example:
    >>> trie = LexiconTrie({"ab": [[1, 2]], "a": [[1]]}, ["ab", "a"], tokens=3)
    >>> node = trie.step(torch.tensor([0]), torch.tensor([1]))
    >>> trie.labels[node].tolist(), trie.step(node, torch.tensor([2])).tolist()
    ([[1]], [2])
    >>> graph = HotwordGraph([[1, 2]], [2.0], tokens=3)
    >>> state, bonus = graph.step(torch.tensor([0]), torch.tensor([1]))
    >>> bonus.item(), graph.step(state, torch.tensor([0]))[1].item()
    (2.0, -2.0)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

import torch

from tympan.core.budget import check_buffer_bytes

__all__ = ["HotwordGraph", "LexiconTrie"]


class LexiconTrie:
    """Spellings of words as a trie in tensors; see the module docstring.

    ``lexicon`` maps words to spellings (lists of token indices); ``words`` gives each word its id (the
    index in ``words``); ``tokens`` is the size of the token set. :meth:`smear` sets the look-ahead.

    Example:
        >>> LexiconTrie({"a": [[1]], "b": [[2]]}, ["a", "b"], tokens=3).size
        3
    """

    def __init__(self, lexicon: Mapping[str, Sequence[Sequence[int]]], words: Sequence[str], tokens: int) -> None:
        word_id = {word: i for i, word in enumerate(words)}
        children: dict[tuple[int, int], int] = {}
        labels: dict[int, list[int]] = {}
        for word, spellings in lexicon.items():
            for spelling in spellings:
                node = 0
                for token in spelling:
                    node = children.setdefault((node, token), len(children) + 1)
                labels.setdefault(node, []).append(word_id[word])
        self.size = len(children) + 1
        self.tokens = tokens
        width = max((len(found) for found in labels.values()), default=1)
        check_buffer_bytes("lexicon trie", {"nodes": self.size, "labels": width}, self.size * (width + 4) * 8)
        edges = sorted((parent * tokens + token, child) for (parent, token), child in children.items())
        self.keys = torch.tensor([key for key, _ in edges] or [-1], dtype=torch.long)
        self.targets = torch.tensor([child for _, child in edges] or [-1], dtype=torch.long)
        self.labels = torch.full((self.size, width), -1, dtype=torch.long)
        for node, found in labels.items():
            self.labels[node, : len(found)] = torch.tensor(found)
        self.has_children = torch.zeros(self.size, dtype=torch.bool)
        if children:
            self.has_children[torch.tensor([parent for parent, _ in children])] = True
        self.parent = torch.zeros(self.size, dtype=torch.long)
        for (parent, _), child in children.items():
            self.parent[child] = parent
        self.max_score = torch.zeros(self.size, dtype=torch.float64)

    def smear(self, word_scores: torch.Tensor) -> None:
        """Set each node's look-ahead to the largest of ``word_scores`` (one per word id) below it.

        A node's own words combine by log-add (in log10 units here, as the scores are), as flashlight does.
        """
        own = torch.full((self.size,), float("-inf"), dtype=torch.float64)
        scores = word_scores.to(torch.float64)
        for column in range(self.labels.shape[1]):
            label = self.labels[:, column]
            has = label >= 0
            value = torch.where(has, scores[label.clamp(min=0)], float("-inf"))
            own = torch.logaddexp(own, value)
        best = own.clone()
        for child in range(self.size - 1, 0, -1):  # children have larger ids than their parents
            parent = int(self.parent[child])
            if best[child] > best[parent]:
                best[parent] = best[child]
        self.max_score = best

    def to(self, device: torch.device | str) -> LexiconTrie:
        """Move the tensors to ``device`` (in place); returns ``self``."""
        for name in ("keys", "targets", "labels", "has_children", "parent", "max_score"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def step(self, nodes: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The child of each node along each token, or -1 where there is none (or the node is -1)."""
        nodes, tokens = torch.broadcast_tensors(nodes, tokens)
        key = nodes * self.tokens + tokens
        position = torch.searchsorted(self.keys, key).clamp(max=self.keys.numel() - 1)
        found = (self.keys[position] == key) & (nodes >= 0)
        return torch.where(found, self.targets[position], -1)


class HotwordGraph:
    """An Aho-Corasick automaton over hotword spellings with per-token bonuses; see the module docstring.

    ``spellings`` are token-index sequences, ``weights`` the bonus per matched token of each. Tokens in
    ``transparent`` (the word boundary) leave a state reached by one of them unchanged, so repeated
    boundaries do not break a phrase.

    Example:
        >>> HotwordGraph([[1, 2], [1, 3]], [1.0, 3.0], tokens=4).size
        4
    """

    def __init__(
        self, spellings: Sequence[Sequence[int]], weights: Sequence[float], tokens: int, transparent: int = -1
    ) -> None:
        children: dict[tuple[int, int], int] = {}
        cumulative = [0.0]
        complete = [False]
        parent_token: list[tuple[int, int]] = [(0, -1)]
        for spelling, weight in zip(spellings, weights, strict=True):
            node = 0
            for depth, token in enumerate(spelling, start=1):
                child = children.get((node, token))
                if child is None:
                    child = children[(node, token)] = len(cumulative)
                    cumulative.append(weight * depth)
                    complete.append(False)
                    parent_token.append((node, token))
                else:
                    cumulative[child] = max(cumulative[child], weight * depth)
                node = child
            complete[node] = True
        self.size = len(cumulative)
        check_buffer_bytes("hotword graph", {"nodes": self.size, "tokens": tokens}, self.size * tokens * 8)
        table = torch.zeros(self.size, tokens, dtype=torch.long)
        fail = [0] * self.size
        queue = deque([0])
        order: list[int] = []
        while queue:  # breadth first: a node's failure target is shallower, so already complete
            node = queue.popleft()
            order.append(node)
            for token in range(tokens):
                child = children.get((node, token))
                if child is not None:
                    fail[child] = 0 if node == 0 else int(table[fail[node], token])
                    table[node, token] = child
                    queue.append(child)
                else:
                    table[node, token] = 0 if node == 0 else table[fail[node], token]
        if 0 <= transparent < tokens:
            for node in order:
                if node == 0 or parent_token[node][1] == transparent:
                    table[node, transparent] = node
        self.table = table
        self.cumulative = torch.tensor(cumulative, dtype=torch.float64)
        self.complete = torch.tensor(complete)

    def to(self, device: torch.device | str) -> HotwordGraph:
        """Move the tensors to ``device`` (in place); returns ``self``."""
        self.table, self.cumulative, self.complete = (
            self.table.to(device),
            self.cumulative.to(device),
            self.complete.to(device),
        )
        return self

    def step(self, states: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states after ``tokens`` and the bonus earned (negative when a partial match breaks).

        A completed hotword keeps its bonus and the state returns to the start.
        """
        target = self.table[states, tokens]
        bonus = self.cumulative[target] - self.cumulative[states]
        done = self.complete[target]
        return torch.where(done, 0, target), bonus

    def finish(self, states: torch.Tensor) -> torch.Tensor:
        """The bonus given back at the end of an utterance by matches left incomplete."""
        return -self.cumulative[states]
