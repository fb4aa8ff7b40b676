"""The host-side bookkeeping of greedy RNN-T label looping (:class:`~tympan.plugins.decoders.rnnt.RNNTGreedyDecoder`).

Each label step joins a window of frames per utterance on the model's device; what happens between joins
(which utterances still search, where each stands, its score) is a handful of numbers per utterance, kept in
NumPy arrays and updated by one compiled loop per window, so that no tensor operation is spent on it.
"""

from __future__ import annotations

import numpy as np

from tympan.core.compiled_loops import compiled_lazily

__all__ = ["Loop", "Step"]

#: One label step: which utterances emitted, their tokens, frames and log-probabilities.
Step = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _scan_windows(
    best: np.ndarray,
    token: np.ndarray,
    lengths: np.ndarray,
    blank: int,
    t: np.ndarray,
    searching: np.ndarray,
    emit: np.ndarray,
    emitted_token: np.ndarray,
    emitted_best: np.ndarray,
    scores: np.ndarray,
    emitted_here: np.ndarray,
) -> None:
    """For each searching row, take the first non-blank ``token`` in its window of frames ``t``, ``t + 1``, ...
    (``best``: the likeliest token's log-probability at each) before its length: add the blanks' and the token's
    log-probabilities to its score, record the token and move ``t`` to its frame; without one, move ``t`` past
    the window. A row that moves forgets the tokens it emitted on its old frame; a row found or ended stops
    searching."""
    width = best.shape[1]
    for row in range(t.shape[0]):
        if not searching[row]:
            continue
        step = 0
        while step < width and t[row] + step < lengths[row] and token[row, step] == blank:
            scores[row] += best[row, step]
            step += 1
        if step < width and t[row] + step < lengths[row]:
            scores[row] += best[row, step]
            emitted_token[row] = token[row, step]
            emitted_best[row] = best[row, step]
            emit[row] = True
            searching[row] = False
        else:
            step = width
        t[row] += step
        if step > 0:
            emitted_here[row] = 0
        if t[row] >= lengths[row]:
            searching[row] = False


_scan_kernel = compiled_lazily(_scan_windows)


class Loop:
    """Greedy label looping's bookkeeping for a batch, in NumPy arrays on the host: each utterance's frame
    ``t``, the tokens it emitted on that frame and its score; within a label step, which utterances emitted
    (``emit``), their tokens and log-probabilities, and which still search.

    Example:
        >>> import numpy as np
        >>> loop = Loop(lengths=np.array([3]), scores=np.zeros(1), blank=0)
        >>> loop.scan(best=np.log(np.array([[0.9, 0.6, 0.5]], dtype=np.float32)), token=np.array([[0, 2, 1]]))
        >>> loop.emit.tolist(), loop.token.tolist(), loop.t.tolist(), round(float(loop.scores[0]), 4)
        ([True], [2], [1], -0.6162)
    """

    def __init__(self, lengths: np.ndarray, scores: np.ndarray, blank: int) -> None:
        self.lengths, self.blank = lengths.astype(np.int64), blank
        self.scores = scores.astype(np.float64)
        self.t = np.zeros(len(lengths), dtype=np.int64)
        self.emitted_here = np.zeros_like(self.t)
        self._scan = _scan_kernel()
        self.start_step()

    def active(self) -> np.ndarray:
        """Which utterances have frames left."""
        return self.t < self.lengths

    def start_step(self) -> None:
        """Begin a label step: no utterance has emitted (``token`` the blank, which is what the ones that do not
        emit feed their predictor); the active ones search. The arrays are new ones each step, so that a
        step's can be kept after it."""
        count = len(self.t)
        self.emit = np.zeros(count, dtype=bool)
        self.token = np.full(count, self.blank, dtype=np.int64)
        self.best = np.zeros(count, dtype=np.float32)
        self.searching = self.active()

    def scan(self, best: np.ndarray, token: np.ndarray) -> None:
        """Take each searching utterance's first token in its window of frames from ``t`` on (``best``: the
        ``(N, W)`` log-probabilities of the likeliest ``token`` at each); see :func:`_scan_windows`."""
        self._scan(
            best, token, self.lengths, self.blank, self.t, self.searching,
            self.emit, self.token, self.best, self.scores, self.emitted_here,
        )  # fmt: skip

    def end_step(self, max_symbols: int) -> None:
        """Count the step's tokens on each frame; an utterance with ``max_symbols`` of them moves on a frame."""
        self.emitted_here += self.emit
        full = self.emitted_here >= max_symbols
        self.t += full
        self.emitted_here[full] = 0
