"""Transforms over two signals: ``Convolve``, ``FFTConvolve`` and ``AddNoise``, as torchaudio's.

Example:
    >>> import torch
    >>> Convolve(mode="same")(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 1.0, 0.5])).tolist()
    [1.0, 2.5, 4.0]
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import torch
from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.dsp.functional._amplitude import add_noise
from tympan.plugins.dsp.functional._convolution import convolve, fftconvolve
from tympan.plugins.dsp.transforms._base import DspTransform

__all__ = ["Convolve", "FFTConvolve", "AddNoise"]

ConvolutionMode = Annotated[
    Literal["full", "valid", "same"],
    Field(
        description="Samples kept: 'full' all N + M - 1, 'valid' the max(N, M) - min(N, M) + 1 where the signals "
        "overlap completely, 'same' the N centred on the full result."
    ),
]


def _two_signals(batch: int, first: int, second: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return torch.randn(batch, first, generator=generator), torch.randn(batch, second, generator=generator)


class _Convolution(DspTransform):
    """A convolution of two signals, cropped by ``mode``; the contract checks convolve a ``(batch, 400)``
    signal with a ``(batch, example_kernel)`` kernel."""

    produces_waveform: ClassVar[bool] = True
    example_kernel: ClassVar[int]

    def __init__(self, mode: ConvolutionMode = "full") -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.mode = params.mode

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A signal ``(batch, 400)`` and a kernel ``(batch, example_kernel)``, for the contract checks."""
        return _two_signals(batch, 400, self.example_kernel)


class Convolve(_Convolution):
    """Direct linear convolution of ``x`` ``(..., N)`` and ``y`` ``(..., M)``, as ``torchaudio.transforms.Convolve``.

    The operands have the same number of dimensions, their leading dimensions broadcast; see
    :func:`~tympan.plugins.dsp.functional.convolve`.

    Example:
        >>> import torch
        >>> Convolve()(torch.ones(2, 3), torch.ones(2, 2)).tolist()
        [[1.0, 2.0, 2.0, 1.0], [1.0, 2.0, 2.0, 1.0]]
    """

    qualified_name = "dsp:convolve"
    example_kernel = 30

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The convolution of ``x`` and ``y``, cropped by ``mode``."""
        return convolve(x, y, self.mode)


class FFTConvolve(_Convolution):
    """Linear convolution of ``x`` ``(..., N)`` and ``y`` ``(..., M)`` by FFT, as
    ``torchaudio.transforms.FFTConvolve``; see :func:`~tympan.plugins.dsp.functional.fftconvolve`.

    Example:
        >>> import torch
        >>> FFTConvolve(mode="valid")(torch.ones(1, 5), torch.ones(1, 2)).round().tolist()
        [[2.0, 2.0, 2.0, 2.0]]
    """

    qualified_name = "dsp:fftconvolve"
    example_kernel = 120

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The convolution of ``x`` and ``y``, cropped by ``mode``."""
        return fftconvolve(x, y, self.mode)


class AddNoise(DspTransform):
    """``waveform + k * noise`` at a signal-to-noise ratio of ``snr`` dB, as ``torchaudio.transforms.AddNoise``.

    ``forward(waveform, noise, snr, lengths=None)``: ``waveform`` and ``noise`` are ``(..., time)``, ``snr``
    and ``lengths`` (valid samples of each signal) ``(...)``; see
    :func:`~tympan.plugins.dsp.functional.add_noise`.

    Example:
        >>> import torch
        >>> x, noise = torch.ones(1, 1000), torch.randn(1, 1000)
        >>> y = AddNoise()(x, noise, torch.tensor([20.0]))
        >>> round((10 * torch.log10(x.square().sum() / (y - x).square().sum())).item())
        20
    """

    qualified_name = "dsp:add_noise"
    produces_waveform: ClassVar[bool] = True

    def __init__(self) -> None:
        validated_arguments(type(self), locals())
        super().__init__()

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Signal, noise, SNRs and valid lengths for ``batch`` items, for the contract checks."""
        waveform, noise = _two_signals(batch, 800, 800)
        return waveform, noise, torch.linspace(0.0, 20.0, batch), 800 - 100 * (torch.arange(batch) % 3)

    def forward(
        self, waveform: torch.Tensor, noise: torch.Tensor, snr: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``waveform`` with ``noise`` added at ``snr`` dB (energies measured over ``lengths`` samples)."""
        return add_noise(waveform, noise, snr, lengths)
