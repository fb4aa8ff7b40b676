"""The lexicon-free CTC beam search of :mod:`._search` with max merging, one utterance at a time, compiled with
numba (without the GIL, so that threads decode utterances at once).

Each frame scores every (state, token) pair as the tensor search does, float for float; drops those below
the best by more than the threshold; then walks the rest best first (ties: the first pair, as the tensor
search's grouping picks it), keeping the first pair of each new state (its hash, as in the tensor search) as
that state's best member, until ``beam_size`` states are kept. A group's score being its best member's, these
are the tensor search's groups; only ties between different states at the edge of the beam may be broken
otherwise. What completing a state's open word gives (an LM lookup) is carried with the state, and looked up
again only when its vocabulary node or LM state changes.

The settings travel in two arrays, indexed by the constants below; the tables in two tuples: the vocabulary
trie's (child table, look-ahead and ``unk_score`` of each step, first word of each node, look-ahead of each
node, word ids to the LM's) and the n-gram LM's (:class:`~.ngram.NGramLM`'s keys, probabilities, states after,
back-off weights, suffixes).

Example:
    >>> import torch
    >>> from tympan.plugins.decoders._hash import extend
    >>> with np.errstate(over="ignore"):  # unsigned arithmetic wraps, as in the compiled code
    ...     hashed = int(extend_hash(ROOT64, 3))
    >>> hashed == extend(torch.tensor(ROOT), 3).item() % 2**64
    True
"""

from __future__ import annotations

import math

import numpy as np

from tympan.core.compiled_loops import compiled_lazily
from tympan.core.hashing import MIX1, MIX2
from tympan.plugins.decoders._hash import ROOT, STEP

__all__ = ["FLOAT_SETTINGS", "INT_SETTINGS", "ROOT64", "Arrays", "Tables", "decode_kernel", "extend_hash"]

#: The kernels' bundles of tables and buffers.
Arrays = tuple[np.ndarray, ...]
#: The vocabulary's tables, the LM's, the integer and the float settings.
Tables = tuple[Arrays, Arrays, np.ndarray, np.ndarray]

_U64 = (1 << 64) - 1
#: :data:`~._hash.ROOT` as an unsigned 64-bit number.
ROOT64 = np.uint64(ROOT & _U64)
_STEP64 = np.uint64(STEP & _U64)
_MIX1 = np.uint64(MIX1 & _U64)
_MIX2 = np.uint64(MIX2 & _U64)
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))

#: The order of the integer settings.
INT_SETTINGS = (
    "beam",
    "blank",
    "sil",
    "width",
    "vocabulary_tokens",
    "unk_word",
    "word_lm",
    "end_word",
    "lm_width",
    "lm_order",
    "lm_begin",
)
_BEAM, _BLANK, _SIL, _WIDTH, _VOCAB_TOKENS, _UNK_WORD, _WORD_LM, _END_WORD, _LM_WIDTH, _LM_ORDER, _LM_BEGIN = range(
    len(INT_SETTINGS)
)
#: The order of the float settings.
FLOAT_SETTINGS = ("threshold", "sil_score", "lm_weight", "word_score", "unk_score", "unk_unigram")
_THRESHOLD, _SIL_SCORE, _LM_WEIGHT, _WORD_SCORE, _UNK_SCORE, _UNK_UNIGRAM = range(len(FLOAT_SETTINGS))

# the rows of a beam's float, integer and hash fields
_SCORE, _AM, _LM, _END_DELTA, _END_BONUS = range(5)
_TOKEN, _IS_BLANK, _LEX, _LM_STATE, _END_WORD_ROW, _END_AFTER = range(6)
_HIST, _CORE = range(2)
# the kinds of a (state, token) pair: a new token, the end of a word, a token spelling one (bits)
_NEW, _ENDS, _SPELLS = 1, 2, 4
#: Pairs per kept state in the first tier of the walk (see :func:`_frame`), and the bins that place its edge.
_TIER, _BINS = 2, 64


def extend_hash(history: np.uint64, symbol: int) -> np.uint64:
    """:func:`~._hash.extend` of one unsigned history (the same bits)."""
    z = history * _STEP64 + np.uint64(symbol + 11)
    z = (z ^ (z >> _SHIFTS[0])) * _MIX1
    z = (z ^ (z >> _SHIFTS[1])) * _MIX2
    return z ^ (z >> _SHIFTS[2])  # type: ignore[no-any-return]


# The functions below run compiled: numba types them from their arguments, and the coverage tool does not see them.


def _lm_score(
    lm: Arrays, ints: np.ndarray, state: int, word: int
) -> tuple[np.int64, float]:  # pragma: no cover - compiled
    """:meth:`~.ngram.NGramLM.score` of one (state, LM word) pair."""
    keys, logp, after, backoff, suffix = lm
    last = keys.shape[0] - 1
    context = state
    total = 0.0
    for _ in range(ints[_LM_ORDER]):
        key = context * ints[_LM_WIDTH] + word
        position = min(np.searchsorted(keys, key), last)
        if keys[position] == key:
            return after[position], total + logp[position]
        total = total + backoff[context]
        context = suffix[context]
    return np.int64(0), total


def _look_ahead(node_ahead: np.ndarray, unk_unigram: float, node: int) -> float:  # pragma: no cover - compiled
    """A vocabulary node's look-ahead: 0 at the root, the unknown word's unigram off the trie (-1)."""
    if node == 0:
        return 0.0
    if node < 0:
        return unk_unigram
    return node_ahead[node]  # type: ignore[no-any-return]


def _set_word_end(
    fields: np.ndarray,
    integers: np.ndarray,
    slot: int,
    vocabulary: Arrays,
    lm: Arrays,
    ints: np.ndarray,
    floats: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """What completing the open word of the state at ``slot`` gives (the tensor search's ``_word_end``)."""
    lex = integers[_LEX, slot]
    if lex == 0:
        integers[_END_WORD_ROW, slot] = -1
        integers[_END_AFTER, slot] = integers[_LM_STATE, slot]
        fields[_END_DELTA, slot] = 0.0
        fields[_END_BONUS, slot] = 0.0
        return
    label = vocabulary[3][max(lex, 0)]
    word = label if lex > 0 and label >= 0 else ints[_UNK_WORD]
    after, value = _lm_score(lm, ints, integers[_LM_STATE, slot], vocabulary[5][max(word, 0)])
    integers[_END_WORD_ROW, slot] = word
    integers[_END_AFTER, slot] = after
    fields[_END_DELTA, slot] = value - _look_ahead(vocabulary[4], floats[_UNK_UNIGRAM], lex)
    fields[_END_BONUS, slot] = floats[_WORD_SCORE] + (floats[_UNK_SCORE] if lex > 0 and label < 0 else 0.0)


def _scores(
    fields: np.ndarray,
    integers: np.ndarray,
    count: int,
    tokens: np.ndarray,
    emitted: np.ndarray,
    word_lm: bool,
    vocabulary: Arrays,
    ints: np.ndarray,
    floats: np.ndarray,
    scratch: Arrays,
) -> float:  # pragma: no cover - compiled
    """The tensor search's ``_transition`` of every pair of the ``count`` states and the frame's tokens: into
    ``scratch``, each pair's score, change of the LM part and kind (:data:`_NEW`, :data:`_ENDS`, :data:`_SPELLS`);
    the best score."""
    scores, deltas, kinds = scratch[0], scratch[1], scratch[2]
    step_ahead, step_leaves = vocabulary[1], vocabulary[2]
    blank, sil, sil_score, lm_weight = ints[_BLANK], ints[_SIL], floats[_SIL_SCORE], floats[_LM_WEIGHT]
    width = tokens.shape[0]
    best = -math.inf
    for state in range(count):
        base = fields[_SCORE, state]
        last = -5 if integers[_IS_BLANK, state] != 0 else integers[_TOKEN, state]
        lex = integers[_LEX, state]
        row = (lex + 1) * ints[_VOCAB_TOKENS]
        ahead = _look_ahead(vocabulary[4], floats[_UNK_UNIGRAM], lex)
        for j in range(width):
            token = tokens[j]
            is_sil = token == sil
            is_new = token != last and token != blank
            score = base + emitted[j] + (sil_score if is_sil else 0.0)
            delta = 0.0
            kind = _NEW if is_new else 0
            if word_lm and is_new and (lex != 0 or not is_sil):  # a word ends, or one is spelled
                if is_sil:
                    delta, bonus, kind = fields[_END_DELTA, state], fields[_END_BONUS, state], kind | _ENDS
                else:
                    delta, bonus, kind = step_ahead[row + token] - ahead, step_leaves[row + token], kind | _SPELLS
                score = score + lm_weight * delta + bonus
            pair = state * width + j
            scores[pair], deltas[pair], kinds[pair] = score, delta, kind
            best = max(best, score)
    return best


def _ranked(
    scores: np.ndarray, count: int, low: float, high: float, scratch: Arrays
) -> np.ndarray:  # pragma: no cover - compiled
    """The positions of the first ``count`` scores in ``[low, high)``, best first (ties: the first)."""
    position, keyed = scratch[3], scratch[4]
    kept = 0
    for n in range(count):
        if low <= scores[n] < high:
            position[kept] = n
            keyed[kept] = -scores[n]
            kept += 1
    return position[np.argsort(keyed[:kept], kind="mergesort")]


def _edge(
    scores: np.ndarray, count: int, best: float, cut: float, size: int, scratch: Arrays
) -> float:  # pragma: no cover - compiled
    """A score that about ``size`` of the first ``count`` scores reach, at least ``size`` but for rounding
    (``cut`` when fewer reach ``cut``, or ``cut`` is not finite): the scores from ``cut`` to ``best`` counted in
    :data:`_BINS` equal bins."""
    if not -math.inf < cut < best:
        return cut
    bins = scratch[7]
    bins[:] = 0
    scale = _BINS / (best - cut)
    for n in range(count):
        if scores[n] >= cut:
            bins[min(int((best - scores[n]) * scale), _BINS - 1)] += 1
    total = 0
    for k in range(_BINS - 1):
        total += bins[k]
        if total >= size:
            return best - (k + 1) / scale
    return cut


def _insert(seen: np.ndarray, stamps: np.ndarray, stamp: int, key: np.uint64) -> bool:  # pragma: no cover - compiled
    """Add ``key`` to the open-addressing set of ``seen`` (a slot is taken when its stamp is ``stamp``);
    whether it was absent."""
    mask = np.uint64(seen.shape[0] - 1)
    slot = int(key & mask)
    while stamps[slot] == stamp:
        if seen[slot] == key:
            return False
        slot = int((np.uint64(slot) + np.uint64(1)) & mask)
    stamps[slot] = stamp
    seen[slot] = key
    return True


def _frame(
    t: int,
    beam: Arrays,
    count: int,
    tokens: np.ndarray,
    emitted: np.ndarray,
    records: Arrays,
    scratch: Arrays,
    word_lm: bool,
    vocabulary: Arrays,
    lm: Arrays,
    ints: np.ndarray,
    floats: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Advance the ``count`` states of ``beam``'s first half by one frame into its second half; the number kept.

    The pairs are walked best first in two tiers, those reaching about the ``_TIER * beam_size``-th best score
    (:func:`_edge`) and then the rest, so that only the first tier is sorted unless it holds fewer than
    ``beam_size`` states."""
    fields, integers, hashes, new_fields, new_integers, new_hashes = beam
    parent, frame_token, event, word = records
    scores, deltas, kinds, seen, stamps = scratch[0], scratch[1], scratch[2], scratch[5], scratch[6]
    width, size = tokens.shape[0], ints[_BEAM]
    pairs = count * width
    best = _scores(fields, integers, count, tokens, emitted, word_lm, vocabulary, ints, floats, scratch)
    if best == -math.inf:
        return 0
    cut = best - floats[_THRESHOLD]
    edge = _edge(scores, pairs, best, cut, _TIER * size, scratch)
    kept = 0
    for low, high in ((edge, math.inf), (cut, edge)):
        for pair in _ranked(scores, pairs, low, high, scratch):
            state, token = pair // width, tokens[pair % width]
            kind, is_sil, is_blank = kinds[pair], token == ints[_SIL], token == ints[_BLANK]
            is_new, ends = kind & _NEW != 0, kind & _ENDS != 0
            hist, lex = hashes[_HIST, state], integers[_LEX, state]
            idle = is_sil and (hist == ROOT64 or (word_lm and lex == 0))
            new_hist = extend_hash(hist, token) if is_new and not idle else hist
            new_lex = vocabulary[0][(lex + 1) * ints[_VOCAB_TOKENS] + token] if kind & _SPELLS else lex
            new_lex = 0 if ends else new_lex
            packed = ((new_lex + 1) * (ints[_WIDTH] + 2) + token + 2) * 2 + (1 if is_blank else 0)
            if not _insert(seen, stamps, t + 1, extend_hash(new_hist, packed)):
                continue  # a better pair leads to the same state
            new_fields[_SCORE, kept] = scores[pair]
            new_fields[_AM, kept] = fields[_AM, state] + emitted[pair % width]
            new_fields[_LM, kept] = fields[_LM, state] + deltas[pair]
            new_hashes[_HIST, kept] = new_hist
            new_hashes[_CORE, kept] = new_hist if is_new and not is_sil else hashes[_CORE, state]
            lm_state = integers[_END_AFTER, state] if ends else integers[_LM_STATE, state]
            new_integers[_TOKEN, kept] = token
            new_integers[_IS_BLANK, kept] = 1 if is_blank else 0
            new_integers[_LEX, kept] = new_lex
            new_integers[_LM_STATE, kept] = lm_state
            if new_lex == lex and lm_state == integers[_LM_STATE, state]:  # the same open word: the same ending
                new_integers[_END_WORD_ROW, kept] = integers[_END_WORD_ROW, state]
                new_integers[_END_AFTER, kept] = integers[_END_AFTER, state]
                new_fields[_END_DELTA, kept] = fields[_END_DELTA, state]
                new_fields[_END_BONUS, kept] = fields[_END_BONUS, state]
            else:
                _set_word_end(new_fields, new_integers, kept, vocabulary, lm, ints, floats)
            parent[t, kept] = state
            frame_token[t, kept] = token
            event[t, kept] = is_new
            word[t, kept] = integers[_END_WORD_ROW, state] if ends else -1
            kept += 1
            if kept == size:
                return kept
    return kept


def _finish(
    fields: np.ndarray,
    integers: np.ndarray,
    hashes: np.ndarray,
    count: int,
    word_lm: bool,
    lm: Arrays,
    ints: np.ndarray,
    floats: np.ndarray,
    final: np.ndarray,
    final_word: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """The end of the utterance (the tensor search's ``_finish``): each state's ``(score, am, lm)`` into
    ``final`` and its last word into ``final_word``; the states that lead each history (``core``), best first."""
    for state in range(count):
        score, lm_part = fields[_SCORE, state], fields[_LM, state]
        final_word[state] = integers[_END_WORD_ROW, state] if word_lm else -1
        if word_lm:
            lm_state = integers[_LM_STATE, state]
            if integers[_LEX, state] != 0:
                delta = fields[_END_DELTA, state]
                score = score + (floats[_LM_WEIGHT] * delta + fields[_END_BONUS, state])
                lm_part = lm_part + delta
                lm_state = integers[_END_AFTER, state]
            end = _lm_score(lm, ints, lm_state, ints[_END_WORD])[1]
            score = score + floats[_LM_WEIGHT] * end
            lm_part = lm_part + end
        final[state, 0], final[state, 1], final[state, 2] = score, fields[_AM, state], lm_part
    order = np.argsort(-final[:, 0], kind="mergesort")
    leaders = np.empty(count, dtype=np.int64)
    kept = 0
    for state in order:
        if not np.any(hashes[_CORE, leaders[:kept]] == hashes[_CORE, state]):
            leaders[kept] = state
            kept += 1
    return leaders[:kept]


def _decode(b: int, inputs: Arrays, tables: Tables, outputs: Arrays) -> None:  # pragma: no cover - compiled
    """Decode utterance ``b`` (its ``lengths[b]`` frames) into row ``b`` of ``outputs`` (see :data:`decode_kernel`)."""
    emitted, tokens, length = inputs[0][b], inputs[1][b], inputs[2][b]
    vocabulary, lm, ints, floats = tables
    word_lm = ints[_WORD_LM] != 0
    scored, out_final_word, out_tokens, out_events, out_words = outputs
    size, frames, width = ints[_BEAM], emitted.shape[0], emitted.shape[1]
    fields = np.zeros((2, 5, size))
    integers = np.zeros((2, 6, size), dtype=np.int64)
    hashes = np.zeros((2, 2, size), dtype=np.uint64)
    records = (
        np.zeros((frames, size), dtype=np.int64),
        np.zeros((frames, size), dtype=np.int64),
        np.zeros((frames, size), dtype=np.bool_),
        np.zeros((frames, size), dtype=np.int64),
    )
    capacity = 2
    while capacity <= 2 * size * width:  # a power of two, at most half full
        capacity *= 2
    scratch = (  # per pair: score, LM change, kind; positions and sort keys; the set of states kept; bins
        np.empty(size * width),
        np.empty(size * width),
        np.empty(size * width, dtype=np.int64),
        np.empty(size * width, dtype=np.int64),
        np.empty(size * width),
        np.zeros(capacity, dtype=np.uint64),
        np.zeros(capacity, dtype=np.int64),
        np.zeros(_BINS, dtype=np.int64),
    )
    hashes[0, _HIST, 0] = hashes[0, _CORE, 0] = ROOT64
    integers[0, _TOKEN, 0] = ints[_SIL]
    integers[0, _LM_STATE, 0] = integers[0, _END_AFTER, 0] = ints[_LM_BEGIN]
    integers[0, _END_WORD_ROW, 0] = -1
    count, now = 1, 0
    for t in range(length):
        beam = (fields[now], integers[now], hashes[now], fields[1 - now], integers[1 - now], hashes[1 - now])
        count = _frame(t, beam, count, tokens[t], emitted[t], records, scratch, word_lm, vocabulary, lm, ints, floats)
        now = 1 - now
        if count == 0:
            return
    final = np.empty((count, 3))
    final_word = np.empty(count, dtype=np.int64)
    leaders = _finish(fields[now], integers[now], hashes[now], count, word_lm, lm, ints, floats, final, final_word)
    parent, frame_token, event, word = records
    for rank in range(min(leaders.shape[0], scored.shape[1])):
        state = leaders[rank]
        scored[b, rank] = final[state]
        out_final_word[b, rank] = final_word[state]
        for t in range(length - 1, -1, -1):
            out_tokens[b, rank, t] = frame_token[t, state]
            out_events[b, rank, t] = event[t, state]
            out_words[b, rank, t] = word[t, state]
            state = parent[t, state]


#: The compiled :func:`_decode`, made at its first use: ``decode_kernel()(b, inputs, tables, outputs)`` decodes
#: utterance ``b``: ``inputs`` are the ``(B, T, K)`` float64 log-probabilities and int64 indices of each frame's
#: tokens and the ``(B,)`` lengths; ``tables`` the vocabulary's and LM's tables and the settings (see the
#: module); ``outputs`` the ``(B, N, 3)`` score, acoustic and LM parts, the ``(B, N)`` last words and the
#: ``(B, N, T)`` tokens, new-token flags and words of each frame of the ``N`` best paths (``-inf`` scores where
#: there are fewer).
decode_kernel = compiled_lazily(
    _decode,
    (extend_hash, _lm_score, _look_ahead, _set_word_end, _scores, _ranked, _edge, _insert, _frame, _finish),
    nogil=True,
)
