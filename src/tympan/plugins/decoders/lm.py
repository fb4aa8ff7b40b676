"""Language models for the beam search: the protocol the search calls, custom models in Python, KenLM.

The search scores batches of (state, word) pairs held as tensors (:class:`~.ngram.NGramLM` does so with
tensor operations). A model written in Python implements :class:`CustomLM`, torchaudio's ``CTCDecoderLM``
interface (``start``, ``score(state, word_index)``, ``finish``); :class:`PythonLM` serves it to the search,
asking it once per distinct (state, word) pair. :class:`KenLM` reads a KenLM binary (or ARPA) file through
the ``kenlm`` module, or flashlight-text's KenLM when ``kenlm`` is not installed.

Scores are log10, as KenLM gives them; ``lm_weight`` multiplies them.

Example:
    >>> class Favourite(CustomLM):
    ...     '''Every word costs 1, except word 0.'''
    ...     def start(self, start_with_nothing=False):
    ...         return ()
    ...     def score(self, state, word):
    ...         return state + (word,), (0.0 if word == 0 else -1.0)
    ...     def finish(self, state):
    ...         return state, 0.0
    >>> lm = PythonLM(Favourite(), ["yes", "no"])
    >>> states, scores = lm.score(lm.start(2), torch.tensor([0, 1]))
    >>> scores.tolist()
    [0.0, -1.0]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

import torch

from tympan.core.errors import DecoderResourceError, PluginLoadError

__all__ = ["CustomLM", "KenLM", "LanguageModel", "PythonLM"]


class LanguageModel(Protocol):
    """What the search calls: batched, on tensors of state ids and word ids."""

    def start(self, batch: int, device: torch.device | str | None = None) -> torch.Tensor: ...

    def score(self, states: torch.Tensor, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def finish(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def unigram(self, words: torch.Tensor) -> torch.Tensor: ...


class CustomLM:
    """A language model in Python over the decoder's word indices (torchaudio's ``CTCDecoderLM`` interface).

    ``start`` returns the state at the start of a sentence; ``score(state, word)`` the state after ``word``
    and its log10 probability; ``finish(state)`` the state and score of the end of the sentence. States
    may be any Python objects; equal states (by ``==`` and ``hash``) are shared.

    Example:
        >>> CustomLM().start(False)
        Traceback (most recent call last):
        ...
        NotImplementedError: CustomLM does not define start()
    """

    def start(self, start_with_nothing: bool = False) -> Any:
        """The state at the start of a sentence."""
        raise NotImplementedError(f"{type(self).__name__} does not define start()")

    def score(self, state: Any, word: int) -> tuple[Any, float]:
        """The state after ``word`` and its log10 probability."""
        raise NotImplementedError(f"{type(self).__name__} does not define score()")

    def finish(self, state: Any) -> tuple[Any, float]:
        """The state after the end of the sentence and its log10 probability."""
        raise NotImplementedError(f"{type(self).__name__} does not define finish()")


class PythonLM:
    """Serves a :class:`CustomLM` to the batched search: states become ids, each pair is asked once.

    Example:
        >>> class Flat(CustomLM):
        ...     def start(self, start_with_nothing=False): return 0
        ...     def score(self, state, word): return state + 1, -0.5
        ...     def finish(self, state): return state, 0.0
        >>> lm = PythonLM(Flat(), ["a"])
        >>> lm.score(lm.start(3), torch.tensor([0, 0, 0]))[0].tolist()
        [1, 1, 1]
    """

    def __init__(self, model: CustomLM, words: Sequence[str]) -> None:
        self.model = model
        self.words = list(words)
        self._states: list[Any] = []
        self._ids: dict[Any, int] = {}
        self._cache: dict[tuple[int, int], tuple[int, float]] = {}
        self._start = self._id(model.start(False))

    def _id(self, state: Any) -> int:
        try:
            found = self._ids.get(state)
        except TypeError:  # an unhashable state is its own identity
            state = _Identity(state)
            found = self._ids.get(state)
        if found is None:
            found = self._ids[state] = len(self._states)
            self._states.append(state.value if isinstance(state, _Identity) else state)
        return found

    def start(self, batch: int, device: torch.device | str | None = None) -> torch.Tensor:
        """``(batch,)`` start states."""
        return torch.full((batch,), self._start, dtype=torch.long, device=device)

    def _apply(self, states: torch.Tensor, words: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        flat_states = states.reshape(-1).cpu()
        flat_words = torch.full_like(flat_states, -1) if words is None else words.reshape(-1).cpu()
        pairs = torch.stack([flat_states, flat_words], 1)
        unique, inverse = torch.unique(pairs, dim=0, return_inverse=True) if len(pairs) else (pairs, flat_states)
        new_ids, scores = [], []
        for state_id, word in unique.tolist():
            hit = self._cache.get((state_id, word))
            if hit is None:
                state = self._states[state_id]
                result = self.model.finish(state) if word < 0 else self.model.score(state, word)
                hit = self._cache[(state_id, word)] = (self._id(result[0]), float(result[1]))
            new_ids.append(hit[0])
            scores.append(hit[1])
        ids = torch.tensor(new_ids, dtype=torch.long)[inverse] if new_ids else flat_states
        values = torch.tensor(scores, dtype=torch.float64)[inverse] if scores else flat_states.double()
        return ids.reshape(states.shape).to(states.device), values.reshape(states.shape).to(states.device)

    def score(self, states: torch.Tensor, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states after ``words`` and their log10 probabilities."""
        states, words = torch.broadcast_tensors(states, words)
        return self._apply(states, words)

    def finish(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The states and scores of the end of the sentence."""
        return self._apply(states, None)

    def unigram(self, words: torch.Tensor) -> torch.Tensor:
        """log10 p(word | start) for each word id."""
        return self.score(self.start(1, words.device).expand_as(words), words)[1]


class _Identity:
    """Wraps an unhashable state so that it is compared by identity."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.value is self.value


class KenLM(CustomLM):
    """A KenLM model file (binary or ARPA) over the decoder's words, through ``kenlm`` or flashlight-text.

    Words the model does not know score as its ``<unk>``.

    Example:
        >>> import tempfile, pathlib
        >>> from tympan.plugins.decoders.ngram_train import write_arpa
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "lm.arpa"
        >>> write_arpa(path, ["a b", "a"], order=2)
        >>> lm = KenLM(path, ["a", "b"])
        >>> -1.0 < lm.score(lm.start(), 0)[1] < 0.0
        True
    """

    def __init__(self, path: str | os.PathLike[str], words: Sequence[str]) -> None:
        self.path = os.fspath(path)
        self.words = list(words)
        if not os.path.isfile(self.path):
            raise DecoderResourceError(self.path, "no such language model file")
        try:
            import kenlm
        except ImportError:
            kenlm = None
        if kenlm is not None:
            try:
                self._model = kenlm.Model(self.path)
            except (OSError, RuntimeError) as err:
                raise DecoderResourceError(self.path, f"KenLM cannot read it: {err}") from None
            self._kenlm = kenlm
            return
        self._kenlm = None
        try:
            from flashlight.lib.text.decoder import KenLM as FlashlightKenLM
            from flashlight.lib.text.dictionary import Dictionary
        except ImportError as err:
            raise PluginLoadError(
                "decoder:ctc_beam", None, None, err, "pip install kenlm  # or: pip install flashlight-text"
            ) from None
        dictionary = Dictionary(self.words)
        try:
            self._model = FlashlightKenLM(self.path, dictionary)
        except RuntimeError as err:
            raise DecoderResourceError(self.path, f"KenLM cannot read it: {err}") from None

    def start(self, start_with_nothing: bool = False) -> Any:
        """The state after ``<s>`` (or the null context)."""
        if self._kenlm is None:
            return self._model.start(start_with_nothing)
        state = self._kenlm.State()
        if start_with_nothing:
            self._model.NullContextWrite(state)
        else:
            self._model.BeginSentenceWrite(state)
        return state

    def score(self, state: Any, word: int) -> tuple[Any, float]:
        """The state after word ``word`` (an index into ``words``) and its log10 probability."""
        if self._kenlm is None:
            after_word, log10 = self._model.score(state, word)
            return after_word, float(log10)
        after = self._kenlm.State()
        value = self._model.BaseScore(state, self.words[word], after)
        return after, value

    def finish(self, state: Any) -> tuple[Any, float]:
        """The state after ``</s>`` and its log10 probability."""
        if self._kenlm is None:
            ended, log10 = self._model.finish(state)
            return ended, float(log10)
        after = self._kenlm.State()
        return after, self._model.BaseScore(state, "</s>", after)
