"""Tries over token sequences as tensors: the lexicon (spellings -> words) and the hotword automaton.

:class:`LexiconTrie` keeps a dense ``(nodes, tokens)`` child table when it is small enough (a batch of steps
is one gather), and otherwise each edge as a key ``node * tokens + token`` in one sorted array, so a batch
of steps is one ``torch.searchsorted``. Each node lists the words it completes and carries a look-ahead score:
the largest LM score of a word below it ("smearing", as flashlight does with ``SmearingMode.MAX``).

:class:`HotwordTrie` scores hotwords as pyctcdecode does: a word (the tokens between word boundaries) equal
to a hotword earns the hotword's weight when it ends. While a word is spelled, a prefix of hotwords earns
``weight * len(prefix) / len(shortest hotword with that prefix)``, given back when the word ends or leaves
the hotwords, so only the completed words' bonuses stay in the final score.

Example:
    >>> trie = LexiconTrie({"ab": [[1, 2]], "a": [[1]]}, ["ab", "a"], tokens=3)
    >>> node = trie.step(torch.tensor([0]), torch.tensor([1]))
    >>> trie.labels[node].tolist(), trie.step(node, torch.tensor([2])).tolist()
    ([[1]], [2])
    >>> hotwords = HotwordTrie([[1, 2]], [2.0], tokens=3, boundary=0)
    >>> state, bonus = hotwords.step(torch.tensor([0]), torch.tensor([1]))  # half of the hotword
    >>> completed, broken = hotwords.step(state, torch.tensor([2]))[1], hotwords.step(state, torch.tensor([0]))[1]
    >>> bonus.item(), completed.item(), broken.item()
    (1.0, 1.0, -1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from tympan.core.budget import check_buffer_bytes

__all__ = ["HotwordTrie", "LexiconTrie"]

#: Tries with at most this many (node, token) pairs keep a dense child table (8 bytes a pair).
DENSE_LIMIT = 1 << 22


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
        dense = (self.size + 1) * tokens <= DENSE_LIMIT
        table_bytes = (self.size + 1) * tokens * 8 if dense else 0
        check_buffer_bytes(
            "lexicon trie", {"nodes": self.size, "labels": width}, self.size * (width + 4) * 8 + table_bytes
        )
        edges = sorted((parent * tokens + token, child) for (parent, token), child in children.items())
        self.keys = torch.tensor([key for key, _ in edges] or [-1], dtype=torch.long)
        self.targets = torch.tensor([child for _, child in edges] or [-1], dtype=torch.long)
        rows = [[-1] * width for _ in range(self.size)]
        for node, found in labels.items():
            rows[node][: len(found)] = found
        self.labels = torch.tensor(rows, dtype=torch.long)
        parent_of = [0] * self.size
        depth = [0] * self.size
        for (parent, _), child in children.items():  # children are numbered after their parents
            parent_of[child] = parent
            depth[child] = depth[parent] + 1
        self.parent = torch.tensor(parent_of, dtype=torch.long)
        self.depth = torch.tensor(depth, dtype=torch.long)
        self.has_children = torch.zeros(self.size, dtype=torch.bool)
        self.has_children[self.parent[1:]] = True
        self.max_score = torch.zeros(self.size, dtype=torch.float64)
        self.table: torch.Tensor | None = None
        if dense:  # a dense child table: one gather per step
            table = torch.full((self.size + 1, tokens), -1, dtype=torch.long)
            if children:
                parents, tokens_of = zip(*children, strict=True)
                table[torch.tensor(parents) + 1, torch.tensor(tokens_of)] = torch.tensor(list(children.values()))
            self.table = table.flatten()

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
        for level in range(int(self.depth.max()), 0, -1):  # deepest first: each level raises its parents
            nodes = (self.depth == level).nonzero().flatten()
            best.scatter_reduce_(0, self.parent[nodes], best[nodes], "amax")
        self.max_score = best

    def to(self, device: torch.device | str) -> LexiconTrie:
        """Move the tensors to ``device`` (in place); returns ``self``."""
        for name in ("keys", "targets", "labels", "has_children", "parent", "max_score"):
            setattr(self, name, getattr(self, name).to(device))
        if self.table is not None:
            self.table = self.table.to(device)
        return self

    def step(self, nodes: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The child of each node along each token, or -1 where there is none (or the node is -1)."""
        if self.table is not None:
            return self.table[(nodes + 1) * self.tokens + tokens]
        nodes, tokens = torch.broadcast_tensors(nodes, tokens)
        key = nodes * self.tokens + tokens
        position = torch.searchsorted(self.keys, key).clamp(max=self.keys.numel() - 1)
        found = (self.keys[position] == key) & (nodes >= 0)
        return torch.where(found, self.targets[position], -1)


class HotwordTrie:
    """Hotwords as a trie of their spellings, scored per word as pyctcdecode scores them; see the module docstring.

    ``spellings`` are token-index sequences, ``weights`` the bonus of each hotword. ``boundary`` is the
    word-boundary token (``sil``); -1 when words end only at the end of the utterance. A state is a node of
    the trie (0: the start of a word) or :attr:`off`, a word that no hotword begins with.

    Example:
        >>> trie = HotwordTrie([[1, 2], [1, 3, 3]], [4.0, 6.0], tokens=4, boundary=0)
        >>> trie.size, trie.partial.tolist()  # "1" is a third of the way to its shortest hotword, [1, 2]
        (6, [0.0, 2.0, 4.0, 4.0, 6.0, 0.0])
    """

    def __init__(
        self, spellings: Sequence[Sequence[int]], weights: Sequence[float], tokens: int, boundary: int = -1
    ) -> None:
        children: dict[tuple[int, int], int] = {}
        parents = [0]
        depth = [0]
        word_weight: dict[int, float] = {}
        for spelling, weight in zip(spellings, weights, strict=True):
            node = 0
            for token in spelling:
                child = children.get((node, token))
                if child is None:
                    child = children[(node, token)] = len(parents)
                    parents.append(node)
                    depth.append(depth[node] + 1)
                node = child
            if node:
                word_weight[node] = max(weight, word_weight.get(node, weight))
        self.off = len(parents)
        self.size = self.off + 1
        check_buffer_bytes("hotword trie", {"nodes": self.size, "tokens": tokens}, self.size * tokens * 16)
        # the shortest hotword below each node (the heaviest among equally short ones); children have larger ids
        shortest: list[tuple[int, float] | None] = [None] * self.off
        for node, weight in word_weight.items():
            shortest[node] = (depth[node], weight)
        for node in range(self.off - 1, 0, -1):
            mine, parent = shortest[node], shortest[parents[node]]
            if mine is not None and (parent is None or (mine[0], -mine[1]) < (parent[0], -parent[1])):
                shortest[parents[node]] = mine
        partial = [0.0] * self.size
        for node in range(1, self.off):
            length, weight = shortest[node]  # type: ignore[misc]  # every node has a hotword below it
            partial[node] = weight * depth[node] / length
        complete = [0.0] * self.size
        for node, weight in word_weight.items():
            complete[node] = weight
        self.partial = torch.tensor(partial, dtype=torch.float64)
        self.complete = torch.tensor(complete, dtype=torch.float64)
        table = torch.full((self.size, tokens), self.off, dtype=torch.long)
        for (node, token), child in children.items():
            table[node, token] = child
        bonus = self.partial[table] - self.partial[:, None]
        if 0 <= boundary < tokens:
            table[:, boundary] = 0
            bonus[:, boundary] = self.complete - self.partial
        self.table, self.bonus = table, bonus

    def to(self, device: torch.device | str) -> HotwordTrie:
        """Move the tensors to ``device`` (in place); returns ``self``."""
        self.table, self.bonus, self.partial, self.complete = (
            self.table.to(device),
            self.bonus.to(device),
            self.partial.to(device),
            self.complete.to(device),
        )
        return self

    def step(self, states: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states after ``tokens`` (new tokens of a hypothesis) and the bonus each earns."""
        return self.table[states, tokens], self.bonus[states, tokens]

    def finish(self, states: torch.Tensor) -> torch.Tensor:
        """The bonus of ending the utterance: the open word's, less its partial bonus."""
        return self.complete[states] - self.partial[states]
