"""The CTC beam search, vectorised over batch x beam: one sequence of tensor operations per frame.

The search follows flashlight's (torchaudio's ``ctc_decoder``). A hypothesis is a state: its history, its
place in the lexicon, the token of the last frame and whether that frame was blank, its LM state. Each frame
proposes, for every state and every one of the ``beam_size_token`` likeliest tokens, the state it leads to:

- lexicon-free: a blank, a repeat of the last token (no new token), or a new token (a repeat after a blank
  is new). With a word LM, the tokens between word boundaries (``sil``) spell a word: each token adds the
  change in the LM look-ahead of the partial word, and the boundary adds the word's LM score, minus the
  look-ahead already given, plus ``word_score``. A word the LM does not know pays ``unk_score`` as soon as
  that is certain: when its spelling leaves the trie of known words, or when it ends at a node that completes
  none; with ``unk_score=-inf`` such a hypothesis is dropped there rather than crowding the beam until the
  next boundary. With a word LM, a boundary that follows no word (``a|-|b``) leaves the history unchanged,
  so repeated boundaries make one hypothesis, as in flashlight's lexicon search and pyctcdecode.
- with a lexicon: a token that moves down the trie (the LM look-ahead changes), a token that completes a
  word there (its LM score and ``word_score``; ``unk_score`` at a node with no word), the same node again
  (silence at the root) and a blank.

Proposals scoring below the best by more than ``beam_threshold`` are dropped; the rest are grouped by
state (a 64-bit hash of history, lexicon node, last token and blank flag), each group's score being the
log-sum (``log_add``; the acoustic part too) or the maximum of its members, with the best member's path
kept; the ``beam_size`` best groups are the next beam. Lexicon-free, with the maximum, only the score of
every proposal is computed; the 3 x ``beam_size`` best are made into states and grouped, which decides the
best groups whenever they hold ``beam_size`` groups (else every proposal is). With a word LM, the look-ahead
reached by each (node, token) step of the vocabulary trie comes from a table made with the search.

A leading ``sil`` leaves the history unchanged,
and at the end a trailing ``sil`` does too, so neither makes a separate hypothesis. The end of the
utterance adds the LM's end of sentence and completes a partial word (lexicon-free) or keeps only
hypotheses at a word boundary when any is (with a lexicon).

Example:
    >>> import torch
    >>> options = Options(beam_size=4, beam_size_token=3, beam_threshold=50.0, blank=0, sil=-1)
    >>> search = BeamSearch(options, Resources())
    >>> log_probs = torch.tensor([[[-0.1, -3.0, -3.0], [-3.0, -0.1, -3.0], [-0.1, -3.0, -3.0]]]).double()
    >>> paths = search.run(log_probs, torch.tensor([3]))
    >>> paths.frame_tokens[0, 0].tolist(), paths.events[0, 0].tolist()
    ([0, 1, 0], [False, True, False])
"""

from __future__ import annotations

import functools
from typing import ClassVar, NamedTuple

import torch

from tympan.plugins.decoders._hash import END, ROOT, extend
from tympan.plugins.decoders._merge import decides, prune, ranked_groups, select, shortlist
from tympan.plugins.decoders._search_cpu import KernelTables, compiled_search, kernel_tables, supports
from tympan.plugins.decoders._search_types import NEG_INF as _NEG_INF
from tympan.plugins.decoders._search_types import Options, Paths, Resources
from tympan.plugins.decoders.trie import LexiconTrie

__all__ = ["BeamSearch", "Options", "Paths", "Resources"]

_FIELDS = ("score", "am", "lm", "hist", "core", "token", "blank", "lex", "lm_state", "hot")
_RECORDS = ("parent", "frame_token", "event", "word")


def _where(mask: torch.Tensor, value: float) -> torch.Tensor:
    """``value`` where ``mask`` holds, else 0, in float64 (``torch.where`` of two Python floats gives float32,
    which would round a score such as ``sil_score=-0.3``)."""
    return torch.where(mask, torch.full((), value, dtype=torch.float64, device=mask.device), 0.0)


def _no_paths(count: int, frames: int, device: torch.device) -> Paths:
    """The paths of an empty batch: every field with no utterance."""
    scores = torch.zeros(0, count, dtype=torch.float64, device=device)
    records = torch.zeros(0, count, frames, dtype=torch.long, device=device)
    no_word = torch.zeros(0, count, dtype=torch.long, device=device)
    return Paths(scores, scores, scores, records, records.bool(), records, no_word)


class _WordEnd(NamedTuple):
    """Per state, what completing its open word gives: the word (-1 at the root), the LM state after it, the
    change of the LM part (the word's score less the look-ahead given while spelling it), the word's bonus
    (``word_score``, and ``unk_score`` for a non-word node of the trie) and the look-ahead given so far."""

    word: torch.Tensor
    lm_state: torch.Tensor
    delta: torch.Tensor
    bonus: torch.Tensor
    ahead: torch.Tensor


class _Move(NamedTuple):
    """What (state, token) pairs lead to, lexicon-free: the score, whether the token is a blank, a boundary,
    a new token; the hotword state after it; with a word LM, the change of the LM part and
    whether a word ends there."""

    score: torch.Tensor
    is_blank: torch.Tensor
    is_sil: torch.Tensor
    is_new: torch.Tensor
    hot: torch.Tensor
    delta: torch.Tensor | None
    ends_word: torch.Tensor | None


class BeamSearch:
    """The search with given options and resources; :meth:`run` decodes one batch, as often as called (the
    table of vocabulary-trie steps is made once, here). See the module docstring.

    Example:
        >>> search = BeamSearch(Options(2, 2, 10.0, blank=0, sil=-1), Resources())
        >>> search.run(torch.zeros(1, 1, 2).log_softmax(-1), torch.tensor([1])).score.shape
        torch.Size([1, 1])
    """

    #: Whether :meth:`run` takes the compiled search (:mod:`._search_cpu`) on the CPU where it supports the
    #: settings; ``False``: the tensor search everywhere. Both give the same hypotheses and scores.
    compiled_on_cpu: ClassVar[bool] = True

    def __init__(self, options: Options, resources: Resources) -> None:
        self.options = options
        self.resources = resources
        self._spellings = self._spelling_table()

    @functools.cached_property
    def _compiled_applies(self) -> bool:
        """Whether the compiled search supports this search's settings (fixed for its lifetime)."""
        return supports(self.options, self.resources, self._spellings)

    @functools.cached_property
    def _kernel_tables(self) -> KernelTables:
        """The compiled search's view of the vocabulary and LM tables, made at its first use."""
        return kernel_tables(self.resources, self._spellings)

    # -- helpers over the LM, mapping word ids to its own --------------------------------------------------
    def _lm_score(self, states: torch.Tensor, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lm = self.resources.lm
        if lm is None:
            return states, torch.zeros(states.shape, dtype=torch.float64, device=states.device)
        mapped = self.resources.word_map[words.clamp(min=0)] if self.resources.word_map is not None else words
        return lm.score(states, mapped)

    def _look_ahead(self, trie: LexiconTrie, nodes: torch.Tensor) -> torch.Tensor:
        """A node's look-ahead: 0 at the root, the unknown word's unigram off the trie (-1)."""
        value = trie.max_score[nodes.clamp(min=0)]
        value = torch.where(nodes == 0, 0.0, value)
        unk_unigram = float(self.resources.extra.get("unk_unigram", 0.0))  # type: ignore[arg-type]
        return torch.where(nodes < 0, unk_unigram, value)

    @staticmethod
    def _child(trie: LexiconTrie, nodes: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The node reached from ``nodes`` along ``tokens``; -1 off the trie (from -1, or where no edge goes)."""
        return torch.where(nodes >= 0, trie.step(nodes, tokens), -1)

    def _spelling(self, nodes: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Lexicon-free, a word's next token from vocabulary nodes ``nodes`` (-1: off the trie): the
        look-ahead of the node reached, and the ``unk_score`` paid where the spelling leaves the trie (0 else).
        With a dense trie, a lookup in the table of every (node, token) pair made at the start: for every pair of
        :meth:`_transition`, a copy of each state's row."""
        vocabulary = self.resources.vocabulary
        assert vocabulary is not None  # the callers checked
        if self._spellings is None:
            return self._spelled(vocabulary, nodes, tokens)
        ahead, bonus = self._spellings
        if nodes.dim() == 2:  # chosen pairs
            index = (nodes + 1) * vocabulary.tokens + tokens
            return ahead.view(-1).take(index), bonus.view(-1).take(index)
        # every pair: (B, S, 1) nodes, (B, 1, K) tokens
        rows = nodes.flatten() + 1
        shape = (nodes.shape[0], nodes.shape[1], vocabulary.tokens)
        ahead, bonus = ahead.index_select(0, rows).view(shape), bonus.index_select(0, rows).view(shape)
        if tokens.shape[-1] == vocabulary.tokens:  # every token, in order (see _top_tokens)
            return ahead, bonus
        columns = tokens.expand(shape[0], shape[1], -1)
        return ahead.gather(2, columns), bonus.gather(2, columns)

    def _spelled(
        self, vocabulary: LexiconTrie, nodes: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`_spelling`, computed."""
        child = self._child(vocabulary, nodes, tokens)
        leaves = (nodes >= 0) & (child < 0)
        return self._look_ahead(vocabulary, child), _where(leaves, self.options.unk_score)

    def _spelling_table(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """:meth:`_spelling` of every (node, token) pair of a dense vocabulary trie, at ``[node + 1, token]``;
        ``None`` without one."""
        vocabulary = self.resources.vocabulary
        if vocabulary is None or vocabulary.table is None:
            return None
        device = vocabulary.max_score.device
        nodes = torch.arange(-1, vocabulary.size, device=device)[:, None]
        tokens = torch.arange(vocabulary.tokens, device=device)[None, :]
        return self._spelled(vocabulary, nodes, tokens)

    def _word_end(self, vocabulary: LexiconTrie, lex: torch.Tensor, lm_state: torch.Tensor) -> _WordEnd:
        """Completing the open word of each state (lexicon-free, with a word LM): see :class:`_WordEnd`."""
        label = vocabulary.labels[lex.clamp(min=0), 0]
        known = (lex > 0) & (label >= 0)
        word = torch.where(lex != 0, torch.where(known, label, self.resources.unk_word), -1)
        after, value = self._lm_score(lm_state, word.clamp(min=0))
        ahead = self._look_ahead(vocabulary, lex)
        unknown_end = (lex > 0) & (label < 0)  # off the trie (-1), ``unk_score`` was paid on leaving it
        bonus = self.options.word_score + _where(unknown_end, self.options.unk_score)
        return _WordEnd(word, after, value - ahead, bonus, ahead)

    def _initial(self, batch: int, device: torch.device) -> dict[str, torch.Tensor]:
        size = self.options.beam_size
        shape = (batch, size)
        lm = self.resources.lm
        lm_state = lm.start(batch, device) if lm is not None else torch.zeros(batch, dtype=torch.long, device=device)
        score = torch.full(shape, _NEG_INF, dtype=torch.float64, device=device)
        score[:, 0] = 0.0
        return {
            "score": score,
            "am": torch.zeros(shape, dtype=torch.float64, device=device),
            "lm": torch.zeros(shape, dtype=torch.float64, device=device),
            "hist": torch.full(shape, ROOT, dtype=torch.long, device=device),
            "core": torch.full(shape, ROOT, dtype=torch.long, device=device),
            "token": torch.full(shape, self.options.sil, dtype=torch.long, device=device),
            "blank": torch.zeros(shape, dtype=torch.bool, device=device),
            "lex": torch.zeros(shape, dtype=torch.long, device=device),
            "lm_state": lm_state[:, None].expand(shape).clone(),
            "hot": torch.zeros(shape, dtype=torch.long, device=device),
        }

    # -- one frame -----------------------------------------------------------------------------------------
    def _step(self, beam: dict[str, torch.Tensor], emissions: torch.Tensor, width: int) -> dict[str, torch.Tensor]:
        """The beam after one frame: its ``(B, S)`` fields and the records of the frame."""
        if self.resources.lexicon is None:
            return self._free_step(beam, emissions, width)
        opt = self.options
        proposals = self._lexicon_proposals(beam, emissions)
        return select(proposals, self._key(proposals, width), opt.beam_size, opt.beam_threshold, opt.log_add)

    def _top_tokens(self, emissions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``beam_size_token`` likeliest tokens of each frame of ``(..., V)`` emissions (all, in order, when
        that is every token) and their log-probabilities."""
        width = emissions.shape[-1]
        if self.options.beam_size_token >= width:
            index = torch.arange(width, device=emissions.device).expand_as(emissions)
            return index, emissions
        values, index = emissions.topk(self.options.beam_size_token, -1)
        return index, values

    def _hotword_step(self, hot: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        graph = self.resources.hotwords
        if graph is None:
            return hot, torch.zeros(hot.shape, dtype=torch.float64, device=hot.device)
        return graph.step(hot, tokens)

    def _per_state(self, beam: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The beam's ``(B, S)`` fields, each state's index (``parent``) and, with a word LM, what completing
        its open word gives (``end_*``, :class:`_WordEnd`): what the lexicon-free proposals read per state."""
        batch, size = beam["score"].shape
        fields = dict(beam)
        fields["parent"] = torch.arange(size, device=beam["score"].device).expand(batch, size)
        vocabulary = self.resources.vocabulary
        if vocabulary is not None:
            end = self._word_end(vocabulary, beam["lex"], beam["lm_state"])
            fields.update({f"end_{name}": value for name, value in end._asdict().items()})
        return fields

    def _transition(self, state: dict[str, torch.Tensor], tokens: torch.Tensor, emitted: torch.Tensor) -> _Move:
        """Lexicon-free: what each (state, token) pair leads to, ``state`` and ``tokens`` broadcast together
        (``(B, S, 1)`` against ``(B, 1, K)`` for every pair, or ``(B, C)`` each for chosen pairs)."""
        opt = self.options
        is_blank = tokens == opt.blank
        is_sil = tokens == opt.sil
        # a token is new unless it is a blank or repeats the last one (a repeat after a blank is new: -5 is no token)
        is_new = (tokens != torch.where(state["blank"], -5, state["token"])) & ~is_blank
        score = state["score"] + emitted + _where(is_sil, opt.sil_score)
        lex = state["lex"]
        delta = ends_word = None
        vocabulary = self.resources.vocabulary
        if vocabulary is not None:
            ends_word = is_new & is_sil & (lex != 0)
            spelling = is_new & ~is_sil
            # a partial word moves down the vocabulary trie (off it: -1, the unknown word's look-ahead); an
            # unknown word pays ``unk_score`` when its spelling leaves the trie (or ends off a word: end.bonus)
            ahead, leaves = self._spelling(lex, tokens)
            delta = torch.where(ends_word, state["end_delta"], torch.where(spelling, ahead - state["end_ahead"], 0.0))
            bonus = torch.where(ends_word, state["end_bonus"], torch.where(spelling, leaves, 0.0))
            score = score + opt.lm_weight * delta + bonus
        hot = state["hot"]
        if self.resources.hotwords is not None:
            hot_after, hot_bonus = self._hotword_step(hot, tokens)
            score = score + torch.where(is_new, hot_bonus, 0.0)
            hot = torch.where(is_new, hot_after, hot)
        return _Move(score, is_blank, is_sil, is_new, hot, delta, ends_word)

    def _free_proposals(
        self, state: dict[str, torch.Tensor], tokens: torch.Tensor, emitted: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """The (state, token) pairs of :meth:`_transition` as ``(B, C)`` fields of the states they lead to."""
        move = self._transition(state, tokens, emitted)
        lm_raw, lm_state, word, lex = state["lm"], state["lm_state"], torch.full_like(tokens, -1), state["lex"]
        if self.resources.vocabulary is not None and move.delta is not None and move.ends_word is not None:
            spelling = move.is_new & ~move.is_sil
            lex = torch.where(spelling, self._child(self.resources.vocabulary, lex, tokens), lex)
            lex = torch.where(move.ends_word, 0, lex)
            lm_raw = lm_raw + move.delta
            word = torch.where(move.ends_word, state["end_word"], -1)
            lm_state = torch.where(move.ends_word, state["end_lm_state"], lm_state)
        hist = state["hist"]
        idle_sil = move.is_sil & (hist == ROOT)
        if self.resources.vocabulary is not None:  # with a word LM, a boundary with no word before it changes nothing
            idle_sil = idle_sil | (move.is_sil & (state["lex"] == 0))
        new_hist = torch.where(move.is_new & ~idle_sil, extend(hist, tokens), hist)
        proposals = {
            "score": move.score,
            "am": state["am"] + emitted,
            "lm": lm_raw,
            "hist": new_hist,
            "core": torch.where(move.is_new & ~move.is_sil, new_hist, state["core"]),
            "token": tokens,
            "blank": move.is_blank,
            "lex": lex,
            "lm_state": lm_state,
            "hot": move.hot,
            "parent": state["parent"],
            "event": move.is_new,
            "word": word,
        }
        shape = move.score.shape
        flat = {name: value.expand(shape).reshape(shape[0], -1) for name, value in proposals.items()}
        flat["frame_token"] = flat["token"]  # one copy serves both fields
        return flat

    @staticmethod
    def _every_pair(
        state: dict[str, torch.Tensor], index: torch.Tensor, values: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """Every state with every one of the frame's tokens: ``(B, S, 1)`` states, ``(B, 1, K)`` tokens and
        their emissions."""
        per_state = {name: value[:, :, None] for name, value in state.items()}
        return per_state, index[:, None, :], values[:, None, :].double()

    @staticmethod
    def _pairs_at(
        state: dict[str, torch.Tensor], index: torch.Tensor, values: torch.Tensor, position: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
        """The pairs at ``(B, C)`` positions of the flattened ``(B, S, K)`` pairs of :meth:`_every_pair`."""
        width = index.shape[1]
        states, column = position.div(width, rounding_mode="floor"), position % width
        chosen = {name: value.gather(1, states) for name, value in state.items()}
        return chosen, index.gather(1, column), values.gather(1, column).double()

    def _free_step(self, beam: dict[str, torch.Tensor], emissions: torch.Tensor, width: int) -> dict[str, torch.Tensor]:
        """The next beam, lexicon-free. In max mode every pair is scored, and only the shortlist of the best
        (:func:`~._merge.shortlist`) is made into states, when it decides the result (it nearly always does)."""
        opt = self.options
        state = self._per_state(beam)
        index, values = self._top_tokens(emissions)
        if not opt.log_add:
            score = self._transition(*self._every_pair(state, index, values)).score
            short = shortlist(score.reshape(score.shape[0], -1), opt.beam_size)
            if short is not None:  # pruned after the shortlist, which holds each row's best
                short_score, position, outside = prune(short[0], opt.beam_threshold), short[1], short[2]
                fields = self._free_proposals(*self._pairs_at(state, index, values, position))
                chosen, kept, _, groups = ranked_groups(
                    short_score, self._key(fields, width), opt.beam_size, False, None
                )
                if decides(short_score, outside, groups, opt.beam_size):
                    out = {name: value.gather(1, chosen) for name, value in fields.items()}
                    out["score"] = kept
                    return out
        proposals = self._free_proposals(*self._every_pair(state, index, values))
        return select(proposals, self._key(proposals, width), opt.beam_size, opt.beam_threshold, opt.log_add)

    def _lexicon_proposals(self, beam: dict[str, torch.Tensor], emissions: torch.Tensor) -> dict[str, torch.Tensor]:
        opt = self.options
        trie = self.resources.lexicon
        assert trie is not None  # the caller checked
        index, values = self._top_tokens(emissions)
        batch, size = beam["score"].shape
        tokens = index[:, None, :].expand(batch, size, -1)
        emitted = values[:, None, :].double().expand(batch, size, -1)

        def per_state(name: str, like: torch.Tensor = tokens) -> torch.Tensor:
            return beam[name][:, :, None].expand_as(like)

        lex, last, was_blank = per_state("lex"), per_state("token"), per_state("blank")
        child = trie.step(lex, tokens)
        base = per_state("score") + emitted + _where(tokens == opt.sil, opt.sil_score)
        ahead_before = torch.where(lex == 0, 0.0, trie.max_score[lex])
        hot_after, hot_bonus = self._hotword_step(per_state("hot"), tokens)
        families: list[dict[str, torch.Tensor]] = []
        parent = torch.arange(size, device=tokens.device)[None, :, None].expand_as(tokens)

        def family(valid: torch.Tensor, **fields: torch.Tensor) -> None:
            entry = {name: per_state(name) for name in _FIELDS}
            entry.update({"parent": parent, "frame_token": tokens, "event": valid, "word": torch.full_like(tokens, -1)})
            entry.update(fields)
            entry["score"] = torch.where(valid, entry["score"], _NEG_INF)
            families.append(entry)

        # (1) down the trie, then the words the node completes (or the unknown word)
        eat = (child >= 0) & trie.has_children[child.clamp(min=0)] & (was_blank | (tokens != last))
        ahead = trie.max_score[child.clamp(min=0)] - ahead_before
        family(
            eat,
            score=base + opt.lm_weight * ahead + hot_bonus,
            am=per_state("am") + emitted,
            lm=per_state("lm") + ahead,
            token=tokens,
            blank=torch.zeros_like(eat),
            lex=child,
            hot=hot_after,
        )
        boundary_hot, boundary_bonus = self._hotword_step(hot_after, torch.full_like(tokens, opt.sil))
        labels = trie.labels[child.clamp(min=0)]  # (B, K, V, L)
        for column in range(labels.shape[-1] + 1):
            if column < labels.shape[-1]:
                word = labels[..., column]
                valid = (child >= 0) & (word >= 0) & ~((lex == 0) & (last == tokens))
                bonus = opt.word_score
            else:  # the unknown word, at a node that completes none
                word = torch.full_like(tokens, self.resources.unk_word)
                valid = (child >= 0) & (labels[..., 0] < 0) & (opt.unk_score > _NEG_INF)
                bonus = opt.unk_score
            if not bool(valid.any()):
                continue
            after, value = self._lm_score(per_state("lm_state"), word.clamp(min=0))
            delta = value - ahead_before
            family(
                valid,
                score=base + opt.lm_weight * delta + bonus + hot_bonus + boundary_bonus,
                am=per_state("am") + emitted,
                lm=per_state("lm") + delta,
                hist=extend(per_state("hist"), word),
                core=extend(per_state("hist"), word),
                token=tokens,
                blank=torch.zeros_like(valid),
                lex=torch.zeros_like(child),
                lm_state=after,
                hot=boundary_hot,
                word=torch.where(valid, word, -1),
            )
        proposals = {name: torch.cat([f[name].reshape(batch, -1) for f in families], 1) for name in families[0]}
        # (2) the same node again (silence at the root) and (3) a blank, one of each per state
        at_root = beam["lex"] == 0
        same_token = torch.where(at_root, opt.sil, beam["token"]).clamp(min=0)
        same_emitted = emissions.double().gather(1, same_token)
        same = {name: beam[name] for name in _FIELDS}
        same.update(
            score=torch.where(
                ~beam["blank"] | at_root,
                beam["score"] + same_emitted + _where(same_token == opt.sil, opt.sil_score),
                _NEG_INF,
            ),
            am=beam["am"] + same_emitted,
            token=same_token,
            blank=torch.zeros_like(at_root),
        )
        blank_emitted = emissions[:, opt.blank].double()[:, None]
        blank = {name: beam[name] for name in _FIELDS}
        blank.update(
            score=beam["score"] + blank_emitted,
            am=beam["am"] + blank_emitted,
            token=torch.full_like(beam["token"], opt.blank),
            blank=torch.ones_like(at_root),
        )
        states = torch.arange(size, device=tokens.device).expand(batch, size)
        for extra, frame_token in ((same, same_token), (blank, torch.full_like(same_token, opt.blank))):
            extra.update(parent=states, frame_token=frame_token, event=torch.zeros_like(at_root))
            extra["word"] = torch.full_like(states, -1)
            for name in proposals:
                proposals[name] = torch.cat([proposals[name], extra[name]], 1)
        return proposals

    @staticmethod
    def _key(fields: dict[str, torch.Tensor], tokens: int) -> torch.Tensor:
        """The hash of each state: its history extended by one symbol that packs its lexicon node (-1 and
        up), last token (-2 and up, below ``tokens``) and blank flag."""
        packed = ((fields["lex"] + 1) * (tokens + 2) + fields["token"] + 2) * 2 + fields["blank"].long()
        return extend(fields["hist"], packed)

    # -- the end -------------------------------------------------------------------------------------------
    def _finish(self, beam: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        opt = self.options
        fields = dict(beam)
        score, lm_raw, lm_state, lex = beam["score"], beam["lm"], beam["lm_state"], beam["lex"]
        word = torch.full_like(lex, -1)
        vocabulary = self.resources.vocabulary
        if vocabulary is not None:  # complete the partial word
            closing = self._word_end(vocabulary, lex, lm_state)
            open_word = lex != 0
            word = closing.word
            score = score + torch.where(open_word, opt.lm_weight * closing.delta + closing.bonus, 0.0)
            lm_raw = lm_raw + torch.where(open_word, closing.delta, 0.0)
            lm_state = torch.where(open_word, closing.lm_state, lm_state)
            lex = torch.zeros_like(lex)
        if self.resources.lexicon is not None:
            at_root = (lex == 0) & (score > _NEG_INF)
            nice = at_root.any(1, keepdim=True)
            score = torch.where(~nice | at_root, score, _NEG_INF)
        if self.resources.lm is not None:
            lm_state, end = self.resources.lm.finish(lm_state)
            score = score + opt.lm_weight * end
            lm_raw = lm_raw + end
        if self.resources.hotwords is not None:
            score = score + self.resources.hotwords.finish(beam["hot"])
        size = score.shape[1]
        fields.update(
            score=score,
            lm=lm_raw,
            lm_state=lm_state,
            lex=lex,
            hist=extend(beam["core"], END),
            token=torch.full_like(lex, opt.sil),
            blank=torch.zeros_like(beam["blank"]),
            parent=torch.arange(size, device=score.device).expand_as(lex),
            frame_token=torch.full_like(lex, -2),
            event=torch.zeros_like(beam["blank"]),
            word=word,
        )
        return fields

    # -- the whole utterance -------------------------------------------------------------------------------
    def run(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> Paths:
        """Search ``(B, T, V)`` log-probabilities with ``(B,)`` lengths; return the n-best paths."""
        opt = self.options
        batch, frames, width = log_probs.shape
        if batch == 0:  # every search path below assumes utterances to rank
            return _no_paths(opt.hypotheses, frames, log_probs.device)
        if self.compiled_on_cpu and log_probs.device.type == "cpu" and self._compiled_applies:
            candidates = self._top_tokens(log_probs)
            return compiled_search(opt, self.resources, self._kernel_tables, candidates, lengths, width)
        device = log_probs.device
        beam = self._initial(batch, device)
        history: list[dict[str, torch.Tensor]] = []
        identity = torch.arange(opt.beam_size, device=device).expand(batch, -1)
        for t in range(frames):
            chosen = self._step(beam, log_probs[:, t], width)
            running = (lengths > t)[:, None]
            if bool(running.all()):
                beam = {name: chosen[name] for name in _FIELDS}
                history.append({name: chosen[name] for name in _RECORDS})
                continue
            beam = {name: torch.where(running, chosen[name], beam[name]) for name in _FIELDS}
            history.append(
                {
                    "parent": torch.where(running, chosen["parent"], identity),
                    "frame_token": torch.where(running, chosen["frame_token"], -2),
                    "event": chosen["event"] & running,
                    "word": torch.where(running, chosen["word"], -1),
                }
            )
        finished = self._finish(beam)
        key = extend(extend(finished["hist"], finished["lex"]), 0)
        nbest = opt.hypotheses
        last = select(finished, key, nbest, float("inf"), opt.log_add)
        order = last["score"].argsort(1, descending=True)
        last = {name: value.gather(1, order) for name, value in last.items()}
        return self._backtrack(last, history, frames)

    @staticmethod
    def _backtrack(last: dict[str, torch.Tensor], history: list[dict[str, torch.Tensor]], frames: int) -> Paths:
        pointer = last["parent"]
        batch, count = pointer.shape
        tokens = torch.full((batch, count, frames), -2, dtype=torch.long, device=pointer.device)
        events = torch.zeros((batch, count, frames), dtype=torch.bool, device=pointer.device)
        words = torch.full((batch, count, frames), -1, dtype=torch.long, device=pointer.device)
        for t in range(frames - 1, -1, -1):
            record = history[t]
            tokens[:, :, t] = record["frame_token"].gather(1, pointer)
            events[:, :, t] = record["event"].gather(1, pointer)
            words[:, :, t] = record["word"].gather(1, pointer)
            pointer = record["parent"].gather(1, pointer)
        return Paths(last["score"], last["am"], last["lm"], tokens, events, words, last["word"])
