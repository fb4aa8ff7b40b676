"""The losses as ``nn.Module`` components (``loss:rnnt``, ``loss:ctc``, ...), each validated by its ``Params``.

Every module wraps the function named by its ``functional`` attribute; constructor arguments are that
function's options, checked on construction (``InvalidParameterError`` names each bad field).

Example:
    >>> import torch
    >>> loss = RNNTLoss(blank=0, reduction="sum")
    >>> logits = torch.zeros(1, 2, 2, 3)
    >>> round(loss(logits, torch.tensor([[1]]), torch.tensor([2]), torch.tensor([1])).item(), 4)
    2.6027
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from pydantic import Field, model_validator

from tympan.core.components import Loss
from tympan.core.params import Params, validate_params
from tympan.plugins.losses.ctc import ctc_loss
from tympan.plugins.losses.rnnt import rnnt_loss
from tympan.plugins.losses.separation import pit_loss, sdr_loss, si_sdr_loss, si_snr_loss
from tympan.plugins.losses.spectral import multi_resolution_stft_loss

__all__ = [
    "CTCLoss",
    "MultiResolutionSTFTLoss",
    "PITLoss",
    "RNNTLoss",
    "SDRLoss",
    "SISDRLoss",
    "SISNRLoss",
]

ReductionField = Literal["none", "mean", "sum"]
_REDUCTION = "'none' (per item), 'mean' (over the batch) or 'sum'."
_EPS = "Added to numerator and denominator energies so silence stays finite."


class _ConfiguredLoss(Loss):
    """A loss whose options are validated by ``Params`` and kept as attributes of the same names."""

    component_name: ClassVar[str]

    def _configure(self, values: dict[str, Any]) -> None:
        params = validate_params(type(self), values, name=self.component_name)
        self._options = params.kwargs()
        for key, value in self._options.items():
            setattr(self, key, value)

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self._options.items())


class RNNTLoss(_ConfiguredLoss):
    """RNN transducer loss over ``(B, T, U + 1, V)`` logits; see :func:`~tympan.functional.rnnt_loss`.

    Example:
        >>> RNNTLoss(clamp=1.0).clamp
        1.0
    """

    class Params(Params):
        blank: int = Field(-1, description="Index of the blank label; negative counts from the end.")
        clamp: float = Field(-1.0, description="Clip each gradient element to [-clamp, clamp] when positive.")
        reduction: ReductionField = Field("mean", description=_REDUCTION)
        fused_log_softmax: bool = Field(True, description="Apply log_softmax over the vocabulary inside the loss.")
        inplace_gradient: bool = Field(False, description="Write the gradient into the logits' storage.")
        implementation: Literal["auto", "torch", "triton"] = Field(
            "auto", description="'torch' (wavefront, any device), 'triton' (fused kernels) or 'auto'."
        )

    component_name = "loss:rnnt"
    functional = staticmethod(rnnt_loss)
    if TYPE_CHECKING:  # set by _configure; TorchScript infers their types from the values
        blank: int
        clamp: float
        reduction: ReductionField
        fused_log_softmax: bool
        inplace_gradient: bool
        implementation: Literal["auto", "torch", "triton"]

    def __init__(
        self,
        blank: int = -1,
        clamp: float = -1.0,
        reduction: ReductionField = "mean",
        fused_log_softmax: bool = True,
        inplace_gradient: bool = False,
        implementation: Literal["auto", "torch", "triton"] = "auto",
    ) -> None:
        super().__init__()
        self._configure(
            dict(
                blank=blank,
                clamp=clamp,
                reduction=reduction,
                fused_log_softmax=fused_log_softmax,
                inplace_gradient=inplace_gradient,
                implementation=implementation,
            )
        )

    def forward(
        self, logits: torch.Tensor, targets: torch.Tensor, logit_lengths: torch.Tensor, target_lengths: torch.Tensor
    ) -> torch.Tensor:
        """The loss of one batch of joint-network logits."""
        return rnnt_loss(
            logits,
            targets,
            logit_lengths,
            target_lengths,
            blank=self.blank,
            clamp=self.clamp,
            reduction=self.reduction,
            fused_log_softmax=self.fused_log_softmax,
            inplace_gradient=self.inplace_gradient,
            implementation=self.implementation,
        )


class CTCLoss(_ConfiguredLoss):
    """CTC loss over batch-first ``(B, T, C)`` logits; see :func:`~tympan.functional.ctc_loss`.

    Example:
        >>> import torch
        >>> CTCLoss(reduction="none")(torch.zeros(2, 3, 4), torch.ones(2, 1, dtype=torch.long), torch.tensor([3, 2]),
        ...                          torch.tensor([1, 1])).shape
        torch.Size([2])
    """

    class Params(Params):
        blank: int = Field(0, description="Index of the blank class; negative counts from the end.")
        reduction: ReductionField = Field("mean", description=_REDUCTION)
        fused_log_softmax: bool = Field(True, description="Apply log_softmax over the classes inside the loss.")
        zero_infinity: bool = Field(False, description="Zero the costs and gradients of infeasible samples.")

    component_name = "loss:ctc"
    functional = staticmethod(ctc_loss)

    def __init__(
        self,
        blank: int = 0,
        reduction: ReductionField = "mean",
        fused_log_softmax: bool = True,
        zero_infinity: bool = False,
    ) -> None:
        super().__init__()
        self._configure(
            dict(blank=blank, reduction=reduction, fused_log_softmax=fused_log_softmax, zero_infinity=zero_infinity)
        )

    def forward(
        self, logits: torch.Tensor, targets: torch.Tensor, logit_lengths: torch.Tensor, target_lengths: torch.Tensor
    ) -> torch.Tensor:
        """The loss of one batch."""
        return ctc_loss(logits, targets, logit_lengths, target_lengths, **self._options)


class SISNRLoss(_ConfiguredLoss):
    """Negative scale-invariant SNR in dB; see :func:`~tympan.functional.si_snr`.

    Example:
        >>> import torch
        >>> x = torch.randn(2, 100)
        >>> SISNRLoss(reduction="none")(x, x).shape
        torch.Size([2])
    """

    class Params(Params):
        eps: float = Field(1e-8, gt=0, description=_EPS)
        reduction: ReductionField = Field("mean", description=_REDUCTION)

    component_name = "loss:si_snr"
    functional = staticmethod(si_snr_loss)

    def __init__(self, eps: float = 1e-8, reduction: ReductionField = "mean") -> None:
        super().__init__()
        self._configure(dict(eps=eps, reduction=reduction))

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of estimates against references, over the last dimension."""
        return si_snr_loss(preds, target, **self._options)


class SISDRLoss(_ConfiguredLoss):
    """Negative scale-invariant SDR in dB; see :func:`~tympan.functional.si_sdr`.

    Example:
        >>> SISDRLoss(zero_mean=True).zero_mean
        True
    """

    class Params(Params):
        zero_mean: bool = Field(False, description="Remove the mean of both signals first (then SI-SDR = SI-SNR).")
        eps: float = Field(1e-8, gt=0, description=_EPS)
        reduction: ReductionField = Field("mean", description=_REDUCTION)

    component_name = "loss:si_sdr"
    functional = staticmethod(si_sdr_loss)

    def __init__(self, zero_mean: bool = False, eps: float = 1e-8, reduction: ReductionField = "mean") -> None:
        super().__init__()
        self._configure(dict(zero_mean=zero_mean, eps=eps, reduction=reduction))

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of estimates against references, over the last dimension."""
        return si_sdr_loss(preds, target, **self._options)


class SDRLoss(_ConfiguredLoss):
    """Negative signal-to-distortion ratio in dB; see :func:`~tympan.functional.sdr`.

    Example:
        >>> SDRLoss(reduction="sum").reduction
        'sum'
    """

    class Params(Params):
        eps: float = Field(1e-8, gt=0, description=_EPS)
        reduction: ReductionField = Field("mean", description=_REDUCTION)

    component_name = "loss:sdr"
    functional = staticmethod(sdr_loss)

    def __init__(self, eps: float = 1e-8, reduction: ReductionField = "mean") -> None:
        super().__init__()
        self._configure(dict(eps=eps, reduction=reduction))

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of estimates against references, over the last dimension."""
        return sdr_loss(preds, target, **self._options)


class PITLoss(_ConfiguredLoss):
    """Permutation-invariant training over ``(B, S, time)`` sources; see :func:`~tympan.functional.pit_loss`.

    ``forward`` returns the loss under each item's best permutation; the function also returns the
    permutations.

    Example:
        >>> import torch
        >>> x = torch.randn(1, 3, 200)
        >>> PITLoss()(x.flip(1), x).item() < -60
        True
    """

    class Params(Params):
        loss: Literal["si_snr", "si_sdr", "sdr"] = Field("si_snr", description="The pairwise loss (a negated metric).")
        reduction: ReductionField = Field("mean", description=_REDUCTION)

    component_name = "loss:pit"
    functional = staticmethod(pit_loss)

    def __init__(self, loss: Literal["si_snr", "si_sdr", "sdr"] = "si_snr", reduction: ReductionField = "mean") -> None:
        super().__init__()
        self._configure(dict(loss=loss, reduction=reduction))

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss under the best permutation of the estimated sources."""
        return pit_loss(preds, target, **self._options)[0]


class MultiResolutionSTFTLoss(_ConfiguredLoss):
    """Spectral convergence plus log-magnitude distance over several STFT resolutions.

    See :func:`~tympan.functional.multi_resolution_stft_loss`.

    Example:
        >>> MultiResolutionSTFTLoss(fft_sizes=(512,), hop_sizes=(128,), win_lengths=(512,)).fft_sizes
        (512,)
    """

    class Params(Params):
        fft_sizes: tuple[int, ...] = Field((1024, 2048, 512), min_length=1, description="FFT size per resolution.")
        hop_sizes: tuple[int, ...] = Field((120, 240, 50), min_length=1, description="Hop length per resolution.")
        win_lengths: tuple[int, ...] = Field(
            (600, 1200, 240), min_length=1, description="Hann window length per resolution (at most its FFT size)."
        )
        factor_sc: float = Field(1.0, ge=0, description="Weight of the spectral-convergence term.")
        factor_mag: float = Field(1.0, ge=0, description="Weight of the log-magnitude term.")
        eps: float = Field(1e-7, gt=0, description="Floor of the squared magnitudes.")
        reduction: ReductionField = Field("mean", description=_REDUCTION)

        @model_validator(mode="after")
        def _resolutions_line_up(self) -> MultiResolutionSTFTLoss.Params:
            sizes = (self.fft_sizes, self.hop_sizes, self.win_lengths)
            if len({len(s) for s in sizes}) != 1:
                raise ValueError("fft_sizes, hop_sizes and win_lengths need the same length")
            if not all(0 < w <= n and h > 0 for n, h, w in zip(*sizes, strict=True)):
                raise ValueError("each resolution needs 0 < win_length <= fft_size and hop_size > 0")
            return self

    component_name = "loss:multi_resolution_stft"
    functional = staticmethod(multi_resolution_stft_loss)

    def __init__(
        self,
        fft_sizes: tuple[int, ...] = (1024, 2048, 512),
        hop_sizes: tuple[int, ...] = (120, 240, 50),
        win_lengths: tuple[int, ...] = (600, 1200, 240),
        factor_sc: float = 1.0,
        factor_mag: float = 1.0,
        eps: float = 1e-7,
        reduction: ReductionField = "mean",
    ) -> None:
        super().__init__()
        self._configure(
            dict(
                fft_sizes=fft_sizes,
                hop_sizes=hop_sizes,
                win_lengths=win_lengths,
                factor_sc=factor_sc,
                factor_mag=factor_mag,
                eps=eps,
                reduction=reduction,
            )
        )

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The loss of estimated waveforms against references."""
        return multi_resolution_stft_loss(preds, target, **self._options)
