"""The CPU's CTC beam search: the compiled search of :mod:`._search_kernels`, the utterances of a batch spread
over ``torch.get_num_threads()`` threads (fewer on a busy machine), for the settings it supports (:func:`supports`).

Example:
    >>> import torch
    >>> from tympan.plugins.decoders._search_types import Options, Resources
    >>> options = Options(beam_size=4, beam_size_token=3, beam_threshold=50.0, blank=0, sil=-1)
    >>> log_probs = torch.tensor([[[-0.1, -3.0, -3.0], [-3.0, -0.1, -3.0], [-0.1, -3.0, -3.0]]]).double()
    >>> candidates = (torch.arange(3).expand(1, 3, 3), log_probs)  # every token of each frame
    >>> tables = kernel_tables(Resources(), None)
    >>> paths = compiled_search(options, Resources(), tables, candidates, torch.tensor([3]), 3)
    >>> paths.frame_tokens[0, 0].tolist(), paths.events[0, 0].tolist()
    ([0, 1, 0], [False, True, False])
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from tympan.core.threads import free_cores
from tympan.plugins.decoders._search_kernels import FLOAT_SETTINGS, INT_SETTINGS, decode_kernel
from tympan.plugins.decoders._search_types import Options, Paths, Resources
from tympan.plugins.decoders.ngram import NGramLM

__all__ = ["KernelTables", "compiled_search", "kernel_tables", "supports"]


def supports(options: Options, resources: Resources, spellings: tuple[torch.Tensor, torch.Tensor] | None) -> bool:
    """Whether :func:`compiled_search` runs these settings: lexicon-free, max merging, no hotwords, and no LM
    or an n-gram word LM with a dense spelling table (``spellings``, the tensor search's).

    Example:
        >>> supports(Options(4, 4, 10.0, blank=0, sil=1), Resources(), None)
        True
        >>> supports(Options(4, 4, 10.0, blank=0, sil=1, log_add=True), Resources(), None)
        False
    """
    if options.log_add or resources.lexicon is not None or resources.hotwords is not None:
        return False
    if resources.lm is None:
        return resources.vocabulary is None
    word_lm = resources.vocabulary is not None and spellings is not None and resources.word_map is not None
    return word_lm and isinstance(resources.lm, NGramLM)


KernelTables = tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]


def kernel_tables(resources: Resources, spellings: tuple[torch.Tensor, torch.Tensor] | None) -> KernelTables:
    """The vocabulary's and the LM's tables as the compiled search reads them (placeholders without an LM), for
    settings that :func:`supports` accepts; made once per search (:class:`~._search.BeamSearch`).

    Example:
        >>> [len(part) for part in kernel_tables(Resources(), None)]
        [6, 5]
    """
    vocabulary, lm = resources.vocabulary, resources.lm
    if lm is None:
        ints, floats = np.zeros(1, dtype=np.int64), np.zeros(1)
        return (ints, floats, floats, ints, floats, ints), (ints, floats, ints, floats, ints)
    # what supports() accepted: an n-gram word LM over a vocabulary with its dense spelling table
    assert isinstance(lm, NGramLM) and vocabulary is not None and vocabulary.table is not None
    assert spellings is not None and resources.word_map is not None
    trie = (
        vocabulary.table,
        spellings[0].flatten(),
        spellings[1].flatten(),
        vocabulary.labels[:, 0],
        vocabulary.max_score,
        resources.word_map,
    )
    ngram = (lm.keys, lm.logp, lm.after, lm.backoff, lm.suffix)
    return tuple(t.contiguous().numpy() for t in trie), tuple(t.contiguous().numpy() for t in ngram)


def _settings(options: Options, resources: Resources, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's integer and float settings (see :data:`~._search_kernels.INT_SETTINGS`)."""
    lm, vocabulary = resources.lm, resources.vocabulary
    ngram = lm if isinstance(lm, NGramLM) else None
    ints = {
        "beam": options.beam_size,
        "blank": options.blank,
        "sil": options.sil,
        "width": width,
        "vocabulary_tokens": vocabulary.tokens if vocabulary is not None else width,
        "unk_word": resources.unk_word,
        "word_lm": int(vocabulary is not None),
        "end_word": ngram.end_word if ngram is not None else 0,
        "lm_width": ngram.width if ngram is not None else 1,
        "lm_order": ngram.order if ngram is not None else 0,
        "lm_begin": ngram.begin if ngram is not None else 0,
    }
    floats = {
        "threshold": options.beam_threshold,
        "sil_score": options.sil_score,
        "lm_weight": options.lm_weight,
        "word_score": options.word_score,
        "unk_score": options.unk_score,
        "unk_unigram": float(resources.extra.get("unk_unigram", 0.0)),  # type: ignore[arg-type]
    }
    return (
        np.array([ints[name] for name in INT_SETTINGS], dtype=np.int64),
        np.array([floats[name] for name in FLOAT_SETTINGS], dtype=np.float64),
    )


def compiled_search(
    options: Options,
    resources: Resources,
    tables: KernelTables,
    candidates: tuple[torch.Tensor, torch.Tensor],
    lengths: torch.Tensor,
    width: int,
) -> Paths:
    """The n-best paths of ``(B, T, K)`` CPU ``candidates`` (each frame's likeliest token indices and their
    log-probabilities among ``width`` tokens, as :meth:`~._search.BeamSearch.run` picks them) with ``(B,)``
    lengths, for settings that :func:`supports` accepts, with their :func:`kernel_tables`. One compiled call an
    utterance, each taken by the next free one of ``torch.get_num_threads()`` threads, fewer where other
    processes hold cores (:func:`~tympan.core.threads.free_cores`)."""
    tokens = candidates[0].contiguous().numpy()
    emitted = candidates[1].detach().double().contiguous().numpy()
    batch, frames, _ = emitted.shape
    count = options.hypotheses
    ints, floats = _settings(options, resources, width)
    scores = np.zeros((batch, count, 3))  # score, AM and LM parts: a slot left empty scores -inf, parts 0
    scores[..., 0] = -np.inf
    outputs = (
        scores,
        np.full((batch, count), -1, dtype=np.int64),
        np.full((batch, count, frames), -2, dtype=np.int64),
        np.zeros((batch, count, frames), dtype=np.bool_),
        np.full((batch, count, frames), -1, dtype=np.int64),
    )
    inputs = (emitted, tokens, lengths.to(torch.int64).contiguous().numpy())
    kernel, settings = decode_kernel(), (*tables, ints, floats)

    def decode(utterance: int) -> None:
        kernel(utterance, inputs, settings, outputs)

    workers = free_cores(min(torch.get_num_threads(), batch))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(decode, range(batch)))
    else:
        list(map(decode, range(batch)))
    scored, final_word, frame_tokens, events, words = (torch.from_numpy(part) for part in outputs)
    return Paths(scored[..., 0], scored[..., 1], scored[..., 2], frame_tokens, events, words, final_word)
