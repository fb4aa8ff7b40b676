"""``decoder:ctc_beam``: CTC beam search, lexicon-free or with a lexicon, an n-gram or custom LM, hotwords.

Parameters follow torchaudio's ``ctc_decoder``. The search (:mod:`._search`) runs on the emissions' device,
vectorised over the batch and the beam; on the CPU, lexicon-free with max merging, no hotwords and no LM or
an ARPA one, it runs compiled instead, one utterance per thread (:mod:`._search_cpu`), with the same results,
where the LM's vocabulary spells into a dense table (at most 2**22 trie nodes times tokens: 131,072 nodes at
32 tokens, where the benchmark's 10,000 words make about 31,000), and with the tensor search beyond.
``lm`` is an ARPA file (read by tympan's own scorer, on any device), a KenLM binary (through ``kenlm`` or
flashlight-text, on the CPU side) or a :class:`~.lm.CustomLM`. Scores are log10 as KenLM gives them, so
``lm_weight`` means what it means in torchaudio.

Without a lexicon, an LM scores words: the tokens between ``sil_token`` boundaries, as pyctcdecode does
(torchaudio's lexicon-free decoder instead scores each token as a word). Hotwords are scored as pyctcdecode
scores them: each word of a hypothesis equal to a word of a hotword phrase adds the phrase's weight (see
:class:`~.trie.HotwordTrie` for the partial bonus that guides the search while a word is spelled).

Example:
    >>> import torch
    >>> decoder = CTCBeamDecoder(tokens=["-", "|", "a", "b"], beam_size=8)
    >>> emissions = torch.tensor([[[0.1, 0.0, 0.9, 0.0], [0.9, 0.0, 0.1, 0.0], [0.1, 0.0, 0.0, 0.9]]]).log()
    >>> best = decoder(emissions)[0][0]
    >>> best.tokens.tolist(), best.words, best.timesteps.tolist()
    ([2, 3], ['ab'], [0, 2])
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import torch
from pydantic import Field

from tympan.core.decoder import Decoder, Hypothesis
from tympan.core.errors import DecoderResourceError, InvalidParameterError
from tympan.core.params import validated_arguments
from tympan.plugins.decoders._hypotheses import make_hypothesis, path_tokens
from tympan.plugins.decoders._search import BeamSearch, Options, Resources
from tympan.plugins.decoders.lm import CustomLM, KenLM, PythonLM
from tympan.plugins.decoders.ngram import NGramLM
from tympan.plugins.decoders.resources import load_lexicon, load_tokens, spell
from tympan.plugins.decoders.trie import HotwordTrie, LexiconTrie

__all__ = ["CTCBeamDecoder", "ctc_beam_decoder"]

_SPECIAL = ("<s>", "</s>")


def _is_arpa(path: str) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip()
    return head.startswith(b"\\data\\") or b"\n\\data\\" in head


def _read_words(path: str | os.PathLike[str]) -> list[str]:
    try:
        words = [line.split()[0] for line in Path(path).read_text(encoding="utf-8").splitlines() if line.split()]
    except (OSError, UnicodeDecodeError) as err:
        raise DecoderResourceError(path, f"cannot read the word list: {err}") from None
    if not words:
        raise DecoderResourceError(path, "the word list is empty")
    return words


class CTCBeamDecoder(Decoder):
    """CTC beam search over ``(batch, frames, tokens)`` emissions; see the module docstring.

    Example:
        >>> CTCBeamDecoder(tokens=["-", "|", "a"], beam_size=0)
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for CTCBeamDecoder:
          beam_size: Input should be greater than or equal to 1 (got 0)
    """

    def __init__(
        self,
        tokens: Annotated[
            list[str] | str, Field(description="The token set: a list, or a file with one token per line.")
        ],
        lexicon: Annotated[
            str | None, Field(description="Lexicon file (word, then its spelling); None: lexicon-free.")
        ] = None,
        lm: Annotated[Any, Field(description="ARPA file, KenLM binary, CustomLM instance, or None (no LM).")] = None,
        lm_dict: Annotated[str | None, Field(description="File of the LM's words, one per line.")] = None,
        nbest: Annotated[int, Field(ge=1, le=10000, description="Hypotheses returned per utterance.")] = 1,
        beam_size: Annotated[int, Field(ge=1, le=10000, description="Hypotheses kept after each frame.")] = 50,
        beam_size_token: Annotated[
            int | None, Field(ge=1, le=1_000_000, description="Tokens tried per frame (None: all).")
        ] = None,
        beam_threshold: Annotated[
            float, Field(ge=0, description="Drop hypotheses scoring this far below the best.")
        ] = 50.0,
        lm_weight: Annotated[float, Field(description="Weight of the LM's log10 scores.")] = 2.0,
        word_score: Annotated[float, Field(description="Score added per word.")] = 0.0,
        unk_score: Annotated[
            float, Field(allow_inf_nan=True, description="Score added per unknown word (-inf: none).")
        ] = float("-inf"),
        sil_score: Annotated[float, Field(description="Score added per silence frame.")] = 0.0,
        log_add: Annotated[bool, Field(description="Merge hypotheses by log-add (else max).")] = False,
        blank_token: Annotated[str, Field(description="The blank token.")] = "-",
        sil_token: Annotated[str | None, Field(description="The silence / word-boundary token.")] = "|",
        unk_word: Annotated[str, Field(description="The unknown word.")] = "<unk>",
        hotwords: Annotated[
            Mapping[str, float] | Sequence[str] | None,
            Field(description="Phrases to boost: a list, or phrase -> bonus per matching word."),
        ] = None,
        hotword_weight: Annotated[
            float, Field(ge=-1000, le=1000, description="Bonus per word matching a listed hotword.")
        ] = 10.0,
        log_softmax: Annotated[bool, Field(description="Apply log-softmax to the emissions first.")] = False,
    ) -> None:
        super().__init__()
        params: Any = validated_arguments(type(self), locals())  # fields: the signature above
        self.params = params
        self.token_set = load_tokens(params.tokens)
        self.tokens = self.token_set.names
        self.log_softmax = params.log_softmax
        blank = self.token_set.find(params.blank_token)
        if blank < 0:
            raise InvalidParameterError(type(self).__name__, [f"blank_token: {params.blank_token!r} is not a token"])
        sil = self.token_set.find(params.sil_token)
        if params.lexicon is not None and sil < 0:
            raise InvalidParameterError(
                type(self).__name__, [f"sil_token: {params.sil_token!r} is not a token (a lexicon needs one)"]
            )
        self.blank, self.sil = blank, sil
        self.options = Options(
            beam_size=params.beam_size,
            beam_size_token=params.beam_size_token or len(self.token_set),
            beam_threshold=params.beam_threshold,
            blank=blank,
            sil=sil,
            lm_weight=params.lm_weight,
            word_score=params.word_score,
            unk_score=params.unk_score,
            sil_score=params.sil_score,
            log_add=params.log_add,
            nbest=params.nbest,
        )
        self.resources, self.words = self._resources(params)
        self._device: torch.device | None = None  # the search is made on the first call's device

    def _resources(self, params: Any) -> tuple[Resources, list[str]]:
        tokens = self.token_set
        lexicon = load_lexicon(params.lexicon, tokens) if params.lexicon is not None else None
        ngram = None
        if isinstance(params.lm, (str, os.PathLike)):
            path = os.fspath(params.lm)
            if not os.path.isfile(path):
                raise DecoderResourceError(path, "no such language model file")
            ngram = NGramLM.from_arpa(path) if _is_arpa(path) else None
        elif params.lm is not None and not isinstance(params.lm, (CustomLM, NGramLM)):
            raise InvalidParameterError(
                type(self).__name__, ["lm: expected an ARPA or KenLM file path, a CustomLM, or None"]
            )
        if isinstance(params.lm, NGramLM):
            ngram = params.lm
        if params.lm_dict is not None:
            words = _read_words(params.lm_dict)
        elif lexicon is not None:
            words = list(lexicon)
        elif ngram is not None:
            words = [w for w in ngram.vocabulary if w not in _SPECIAL]
        elif params.lm is not None:
            raise InvalidParameterError(
                type(self).__name__, ["lm_dict: a lexicon-free decoder with this LM needs its word list"]
            )
        else:
            words = []
        if params.lm is not None and params.unk_word not in words:
            words.append(params.unk_word)
        resources = Resources()
        word_index = {word: i for i, word in enumerate(words)}
        resources.unk_word = word_index.get(params.unk_word, -1)
        if ngram is not None:
            resources.lm = ngram
            resources.word_map = ngram.word_ids(words)
        elif isinstance(params.lm, CustomLM):
            resources.lm = PythonLM(params.lm, words)
        elif isinstance(params.lm, (str, os.PathLike)):
            resources.lm = PythonLM(KenLM(params.lm, words), words)
        if lexicon is not None:
            resources.lexicon = LexiconTrie(lexicon, words, len(tokens))
            trie = resources.lexicon
        elif resources.lm is not None:
            spellings: dict[str, list[list[int]]] = {}
            for word in words:
                if word == params.unk_word:
                    continue
                try:
                    spellings[word] = [spell(word, tokens)]
                except ValueError:
                    continue  # a word the tokens cannot spell is never decoded without a lexicon
            resources.vocabulary = trie = LexiconTrie(spellings, words, len(tokens))
        else:
            trie = None
        if trie is not None and resources.lm is not None:
            scores = self._unigrams(resources, len(words))
            trie.smear(scores)
            resources.extra["unk_unigram"] = float(scores[resources.unk_word]) if resources.unk_word >= 0 else 0.0
        if params.hotwords:
            resources.hotwords = self._hotwords(params, lexicon)
        return resources, words

    @staticmethod
    def _unigrams(resources: Resources, count: int) -> torch.Tensor:
        lm = resources.lm
        assert lm is not None  # the caller checked
        ids = torch.arange(count)
        mapped = resources.word_map[ids] if resources.word_map is not None else ids
        return lm.unigram(mapped)

    def _hotwords(self, params: Any, lexicon: dict[str, list[list[int]]] | None) -> HotwordTrie:
        phrases = params.hotwords
        weighted = dict(phrases) if isinstance(phrases, Mapping) else dict.fromkeys(phrases, params.hotword_weight)
        weights: dict[str, float] = {}
        for phrase, weight in weighted.items():  # a phrase boosts each of its words, as pyctcdecode does
            for word in phrase.split():
                weights[word] = max(float(weight), weights.get(word, float(weight)))
        spellings, spelling_weights = [], []
        for word, weight in weights.items():
            try:
                found = lexicon[word] if lexicon and word in lexicon else [spell(word, self.token_set)]
            except ValueError as err:
                raise InvalidParameterError(type(self).__name__, [f"hotwords: {word!r}: {err}"]) from None
            for spelling in found:
                spellings.append([token for token in spelling if token != self.sil])
                spelling_weights.append(weight)
        return HotwordTrie(spellings, spelling_weights, len(self.token_set), boundary=self.sil)

    def _on(self, device: torch.device) -> None:
        if device == self._device:
            return
        resources = self.resources
        for part in (resources.lexicon, resources.vocabulary, resources.hotwords):
            if part is not None:
                part.to(device)
        if isinstance(resources.lm, NGramLM):
            resources.lm.to(device)
        if resources.word_map is not None:
            resources.word_map = resources.word_map.to(device)
        self._device = device
        self._search = BeamSearch(self.options, resources)  # its tables are made once per device

    def forward(self, emissions: torch.Tensor, lengths: torch.Tensor | None = None) -> list[list[Hypothesis]]:
        """Decode; per utterance, up to ``nbest`` hypotheses, best first."""
        log_probs, lengths = self.check_inputs(emissions, lengths, tokens=len(self.token_set))
        self._on(log_probs.device)
        with torch.no_grad():
            paths = self._search.run(log_probs, lengths)
        return self._hypotheses(paths, log_probs, lengths)

    def _hypotheses(self, paths: Any, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]:
        score, am, lm = paths.score.cpu(), paths.am.cpu(), paths.lm.cpu()
        frame_tokens, events, words = paths.frame_tokens.cpu(), paths.events.cpu(), paths.words.cpu()
        final_word = paths.final_word.cpu()
        results: list[list[Hypothesis]] = []
        lexicon = self.resources.lexicon is not None
        for b in range(score.shape[0]):
            length = int(lengths[b])
            found: list[Hypothesis] = []
            for n in range(score.shape[1]):
                if not math.isfinite(float(score[b, n])):
                    continue
                tokens, starts, ends, kept = path_tokens(
                    frame_tokens[b, n, :length], events[b, n, :length], self.blank, self.sil, strip_sil=True
                )
                completed = None
                if lexicon:
                    at = words[b, n, :length]
                    marks = (at >= 0).nonzero().flatten()
                    count = events[b, n, :length].long().cumsum(0)
                    offset = int(kept[0]) if len(kept) else 0
                    completed = [(self.words[int(at[f])], int(count[f]) - offset) for f in marks]
                    if int(final_word[b, n]) >= 0:
                        completed.append((self.words[int(final_word[b, n])], len(tokens)))
                found.append(
                    make_hypothesis(
                        tokens,
                        starts,
                        ends,
                        log_probs[b, :length],
                        self.tokens,
                        self.sil,
                        float(score[b, n]),
                        float(am[b, n]),
                        float(lm[b, n]),
                        completed,
                    )
                )
            results.append(found)
        return results


def ctc_beam_decoder(**kwargs: Any) -> CTCBeamDecoder:
    """Build a :class:`CTCBeamDecoder` (the function form of torchaudio's ``ctc_decoder``).

    Example:
        >>> ctc_beam_decoder(tokens=["-", "|", "a"], beam_size=4).options.beam_size
        4
    """
    return CTCBeamDecoder(**kwargs)
