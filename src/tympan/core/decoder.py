"""The interface of decoders: scores over tokens in, an n-best list of hypotheses per utterance out.

A decoder is called as ``decoder(emissions, lengths=None)`` on emissions ``(batch, frames, tokens)``
(log-probabilities, or logits when it was built with ``log_softmax=True``) and returns, for each utterance,
its hypotheses best first. A :class:`Hypothesis` carries the fields of torchaudio's ``CTCHypothesis``
(``tokens``, ``words``, ``score``, ``timesteps``) plus the parts of the score, word spans in frames and
confidences, so code written for torchaudio's decoder reads ours unchanged.

Example:
    >>> import torch
    >>> class Argmax(Decoder):
    ...     def forward(self, emissions, lengths=None):
    ...         emissions, lengths = self.check_inputs(emissions, lengths)
    ...         best = emissions.max(-1)
    ...         return [[Hypothesis.from_tokens(best.indices[b, : int(n)], best.values[b, : int(n)].sum().item())]
    ...                 for b, n in enumerate(lengths)]
    >>> Argmax()(torch.tensor([[[0.0, -9.0], [-9.0, 0.0]]]))[0][0].tokens.tolist()
    [0, 1]
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
from torch import nn

from tympan.core.errors import InvalidParameterError
from tympan.core.params import Params

__all__ = ["Decoder", "Hypothesis"]

_FLOATING = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class Hypothesis(NamedTuple):
    """One decoding of one utterance.

    - ``tokens``: ``(L,)`` int64 token indices, blanks and repeats removed.
    - ``words``: the words (from the lexicon, or the tokens between word boundaries).
    - ``score``: the total score the search ranked by: ``am_score`` plus ``lm_weight * lm_score`` plus the
      word, unknown-word, silence and hotword bonuses.
    - ``timesteps``: ``(L,)`` int32, the frame at which each token starts.
    - ``am_score``: the acoustic part, the sum of the emissions along the best path (with ``log_add``, the
      log-sum over the paths merged into the hypothesis).
    - ``lm_score``: the language-model part, unweighted (log10, as ARPA and KenLM give it).
    - ``word_starts`` / ``word_ends``: ``(W,)`` int32 frames of each word, ``[start, end)``.
    - ``confidence``: in ``[0, 1]``, the geometric mean of the tokens' probabilities.
    - ``word_confidence``: ``(W,)`` float32, the smallest token probability in each word.

    Example:
        >>> h = Hypothesis.from_tokens(torch.tensor([3, 4]), score=-1.5)
        >>> h.tokens.tolist(), h.score, h.words, h.timesteps.tolist()
        ([3, 4], -1.5, [], [0, 1])
    """

    tokens: torch.Tensor
    words: list[str]
    score: float
    timesteps: torch.Tensor
    am_score: float
    lm_score: float
    word_starts: torch.Tensor
    word_ends: torch.Tensor
    confidence: float
    word_confidence: torch.Tensor

    @staticmethod
    def from_tokens(tokens: torch.Tensor, score: float = 0.0, timesteps: torch.Tensor | None = None) -> Hypothesis:
        """A hypothesis with only tokens and a score (timesteps default to ``0, 1, ...``), no words.

        Example:
            >>> Hypothesis.from_tokens(torch.tensor([7])).am_score
            0.0
        """
        tokens = tokens.detach().to(torch.long).cpu()
        steps = torch.arange(len(tokens), dtype=torch.int32) if timesteps is None else timesteps.to(torch.int32)
        none = torch.zeros(0, dtype=torch.int32)
        return Hypothesis(tokens, [], float(score), steps, float(score), 0.0, none, none, 1.0, none.float())


class Decoder(nn.Module):
    """Base of decoders: ``decoder(emissions, lengths=None)`` -> per utterance, hypotheses best first.

    Subclasses implement ``forward``; :meth:`check_inputs` validates the arguments the common way
    (rank, dtype, lengths within the tensor), raising
    :class:`~tympan.core.errors.InvalidParameterError` before any search starts.

    Example:
        >>> class First(Decoder):
        ...     def forward(self, emissions, lengths=None):
        ...         emissions, lengths = self.check_inputs(emissions, lengths)
        ...         return [[Hypothesis.from_tokens(emissions[b, :1].argmax(-1))] for b in range(len(lengths))]
        >>> First()(torch.zeros(2, 3, 4))[1][0].tokens.tolist()
        [0]
    """

    Params: ClassVar[type[Params]]
    scriptable: ClassVar[bool] = False
    log_softmax: bool = False

    def forward(self, emissions: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        """Decode ``emissions`` ``(batch, frames, tokens)``; ``lengths`` ``(batch,)`` frames per utterance."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def check_inputs(
        self, emissions: object, lengths: object = None, tokens: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Validate ``emissions`` and ``lengths``; return log-probabilities and int64 lengths on the same device.

        ``tokens``, when given, is the number of tokens the last dimension must have. Log-softmax is applied
        when the decoder was built with ``log_softmax=True``.

        Example:
            >>> log_probs, lengths = Decoder().check_inputs(torch.zeros(2, 5, 3), torch.tensor([5, 2]))
            >>> lengths.tolist()
            [5, 2]
            >>> Decoder().check_inputs(torch.zeros(5, 3))
            Traceback (most recent call last):
            ...
            tympan.core.errors.InvalidParameterError: invalid parameters for Decoder:
              emissions: expected (batch, frames, tokens), got shape (5, 3)
        """
        name = type(self).__name__
        if not isinstance(emissions, torch.Tensor):
            raise InvalidParameterError(name, [f"emissions: expected a torch.Tensor (got {type(emissions).__name__})"])
        if emissions.ndim != 3:
            raise InvalidParameterError(
                name, [f"emissions: expected (batch, frames, tokens), got shape {tuple(emissions.shape)}"]
            )
        if emissions.dtype not in _FLOATING:
            raise InvalidParameterError(name, [f"emissions: expected a floating-point tensor (got {emissions.dtype})"])
        batch, frames, width = emissions.shape
        if tokens is not None and width != tokens:
            raise InvalidParameterError(
                name, [f"emissions: expected {tokens} tokens in the last dimension (got {width})"]
            )
        if lengths is None:
            lengths = torch.full((batch,), frames, dtype=torch.long, device=emissions.device)
        if not isinstance(lengths, torch.Tensor) or lengths.ndim != 1 or lengths.shape[0] != batch:
            shape = tuple(lengths.shape) if isinstance(lengths, torch.Tensor) else type(lengths).__name__
            raise InvalidParameterError(name, [f"lengths: expected a ({batch},) tensor (got {shape})"])
        if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
            raise InvalidParameterError(name, [f"lengths: expected an integer tensor (got {lengths.dtype})"])
        if batch and (int(lengths.min()) < 0 or int(lengths.max()) > frames):
            raise InvalidParameterError(name, [f"lengths: expected values in [0, {frames}] (got {lengths.tolist()})"])
        work = emissions.detach()
        if work.dtype not in (torch.float32, torch.float64):
            work = work.float()
        if self.log_softmax:
            work = work.log_softmax(-1)
        return work, lengths.to(device=emissions.device, dtype=torch.long)
