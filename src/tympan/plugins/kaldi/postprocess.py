"""Kaldi's feature post-processing as modules: ``kaldi:cmvn``, ``kaldi:add_deltas`` and ``kaldi:splice``.

Each takes ``(..., frames, dim)`` features (every leading dimension is batch) and, given ``lengths`` (the
valid frames of each item of a padded batch), returns ``(features, lengths)`` with the padding kept at 0.

Example:
    >>> import torch
    >>> feats = torch.randn(4, 200, 13)
    >>> pipeline = torch.nn.Sequential(Cmvn(norm_vars=True), AddDeltas(), Splice(left_context=2, right_context=2))
    >>> pipeline(feats).shape
    torch.Size([4, 200, 195])
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import numpy as np
import torch
from pydantic import BeforeValidator, Field

from tympan.core.components import Transform
from tympan.core.errors import KaldiFormatError
from tympan.core.params import validated_arguments
from tympan.plugins.kaldi.functional._cmvn import apply_cmvn, apply_cmvn_sliding, compute_cmvn_stats
from tympan.plugins.kaldi.functional._context import add_deltas, splice

__all__ = ["AddDeltas", "Cmvn", "Splice"]


def _nested_lists(value: Any) -> Any:
    """Tensors and arrays of statistics become nested lists (what configuration files hold)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).tolist()
    if isinstance(value, np.ndarray):
        return value.astype(np.float64).tolist()
    return value


CmvnStats = Annotated[
    list[list[float]] | None,
    BeforeValidator(_nested_lists),
    Field(
        description="Global statistics in Kaldi's layout, (2, dim + 1): sums and the frame count, then sums of "
        "squares (a tensor, an array or nested lists). None: each call's own statistics.",
    ),
]


def _read_stats(rxfilename: str, norm_vars: bool) -> torch.Tensor:
    """Global statistics from a Kaldi file, checked to have Kaldi's ``(1 or 2, dim + 1)`` layout."""
    from tympan.plugins.kaldi.io import read_object

    stats = read_object(rxfilename).to(torch.float64)
    if stats.dim() != 2 or stats.shape[0] not in (1, 2) or stats.shape[1] < 2 or (norm_vars and stats.shape[0] < 2):
        raise KaldiFormatError(
            rxfilename, f"CMVN statistics must be a (2, dim + 1) matrix, got shape {list(stats.shape)}"
        )
    return stats


class _FramePostprocess(Transform):
    """A module on ``(..., frames, dim)`` features that also takes ``lengths``."""

    qualified_name: ClassVar[str]
    scriptable: ClassVar[bool] = False
    #: The frames axis is the dynamic time dimension of an exported program.
    export_time_dim: ClassVar[int] = -2

    def example_input(self, batch: int) -> torch.Tensor:
        """Features ``(batch, 120, 13)`` with an offset, for the contract checks."""
        return 3.0 + torch.randn(batch, 120, 13, generator=torch.Generator().manual_seed(0))

    def _result(
        self, features: torch.Tensor, lengths: torch.Tensor | None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return features if lengths is None else (features, lengths)


class Cmvn(_FramePostprocess):
    """Cepstral mean (and variance) normalisation, as Kaldi's ``apply-cmvn`` and ``apply-cmvn-sliding``.

    Statistics come, in this order, from the ``stats`` argument of ``forward`` (per utterance or per
    speaker, ``(..., 2, dim + 1)``, broadcast against the features' leading dimensions), from the module's
    global ``stats`` (given as a matrix, or read once from the Kaldi file ``stats_rxfilename``: a
    whole-object file such as ``global_cmvn.stats``, or ``cmvn.ark:1234``), or from the features themselves
    (per-utterance CMVN, over the ``lengths`` valid frames). With ``sliding`` each frame is normalised over
    a window around it instead.

    Example:
        >>> import torch
        >>> from tympan.plugins.kaldi.functional import compute_cmvn_stats
        >>> feats = torch.randn(3, 50, 13) + 5.0
        >>> speaker = compute_cmvn_stats(feats).sum(0)  # three utterances of one speaker
        >>> bool(Cmvn(stats=speaker)(feats).mean(dim=(0, 1)).abs().max() < 1e-5)
        True
    """

    qualified_name: ClassVar[str] = "kaldi:cmvn"

    def __init__(
        self,
        stats: CmvnStats = None,
        stats_rxfilename: Annotated[
            str | None,
            Field(
                max_length=4096,
                description="Kaldi file of global statistics (a whole-object file or ark:offset); pipes refused.",
            ),
        ] = None,
        norm_means: Annotated[bool, Field(description="Subtract the mean.")] = True,
        norm_vars: Annotated[bool, Field(description="Also divide by the standard deviation.")] = False,
        reverse: Annotated[bool, Field(description="Undo the normalisation instead (apply-cmvn --reverse).")] = False,
        sliding: Annotated[
            bool, Field(description="Normalise over a sliding window of frames (apply-cmvn-sliding).")
        ] = False,
        cmn_window: Annotated[
            int, Field(ge=1, le=10_000_000, description="Frames in the sliding window (sliding only).")
        ] = 600,
        min_cmn_window: Annotated[
            int,
            Field(ge=0, le=10_000_000, description="Least frames the window spans at the start (sliding, not center)."),
        ] = 100,
        center: Annotated[bool, Field(description="Centre the sliding window on the frame (sliding only).")] = False,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.norm_means, self.norm_vars, self.reverse = params.norm_means, params.norm_vars, params.reverse
        self.sliding, self.cmn_window = params.sliding, params.cmn_window
        self.min_cmn_window, self.center = params.min_cmn_window, params.center
        global_stats = None if params.stats is None else torch.tensor(params.stats, dtype=torch.float64)
        if params.stats_rxfilename is not None:
            global_stats = _read_stats(params.stats_rxfilename, params.norm_vars)
        self.register_buffer("stats", global_stats, persistent=False)

    @staticmethod
    def check_params(params: Any) -> None:
        """Variance needs mean normalisation; statistics are (1 or 2, dim + 1); sliding takes none."""
        if params.norm_vars and not params.norm_means:
            raise ValueError("norm_vars needs norm_means (Kaldi cannot normalise the variance but not the mean)")
        if params.stats is not None:
            rows = len(params.stats)
            widths = {len(row) for row in params.stats}
            if rows not in (1, 2) or len(widths) != 1 or min(widths) < 2:
                raise ValueError("stats must be a (2, dim + 1) matrix (or 1 row without norm_vars)")
            if params.norm_vars and rows < 2:
                raise ValueError("norm_vars needs the sums of squares, the second row of stats")
        if params.stats is not None and params.stats_rxfilename is not None:
            raise ValueError("give the global statistics either as stats or as stats_rxfilename, not both")
        if params.sliding and (params.stats is not None or params.stats_rxfilename is not None or params.reverse):
            raise ValueError("sliding CMVN computes its own statistics and cannot be reversed")

    def forward(
        self, features: torch.Tensor, stats: torch.Tensor | None = None, lengths: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Normalised ``(..., frames, dim)`` features; with ``lengths``, ``(features, lengths)``."""
        if self.sliding:
            normalised = apply_cmvn_sliding(
                features, self.cmn_window, self.min_cmn_window, self.center, self.norm_vars, lengths
            )
            return self._result(normalised, lengths)
        if stats is None:
            stats = self.stats if self.stats is not None else compute_cmvn_stats(features, lengths)
        normalised = apply_cmvn(features, stats, self.norm_means, self.norm_vars, self.reverse)
        if lengths is not None:
            valid = torch.arange(features.shape[-2], device=features.device) < lengths.to(features.device)[..., None]
            normalised = torch.where(valid.unsqueeze(-1), normalised, torch.zeros_like(normalised))
        return self._result(normalised, lengths)


class AddDeltas(_FramePostprocess):
    """Kaldi's ``add-deltas``: ``[x, delta, delta-delta, ...]``, ``(..., frames, dim * (order + 1))``.

    Example:
        >>> import torch
        >>> AddDeltas(order=1, window=3)(torch.randn(100, 40)).shape
        torch.Size([100, 80])
    """

    qualified_name: ClassVar[str] = "kaldi:add_deltas"

    def __init__(
        self,
        order: Annotated[int, Field(ge=0, le=16, description="Highest order of deltas (delta-order).")] = 2,
        window: Annotated[
            int, Field(ge=1, le=999, description="Frames each side of the delta regression (delta-window).")
        ] = 2,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.order, self.window = params.order, params.window

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Features with their deltas appended; with ``lengths``, ``(features, lengths)``."""
        return self._result(add_deltas(features, self.order, self.window, lengths), lengths)


class Splice(_FramePostprocess):
    """Kaldi's ``splice-feats``: each frame with ``left_context`` before and ``right_context`` after it.

    Example:
        >>> import torch
        >>> Splice()(torch.randn(2, 100, 13)).shape
        torch.Size([2, 100, 117])
    """

    qualified_name: ClassVar[str] = "kaldi:splice"

    def __init__(
        self,
        left_context: Annotated[int, Field(ge=0, le=1000, description="Frames of context before each frame.")] = 4,
        right_context: Annotated[int, Field(ge=0, le=1000, description="Frames of context after each frame.")] = 4,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.left_context, self.right_context = params.left_context, params.right_context

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Spliced features; with ``lengths``, ``(features, lengths)``."""
        return self._result(splice(features, self.left_context, self.right_context, lengths), lengths)
