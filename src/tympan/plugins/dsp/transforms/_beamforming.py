"""Multi-channel beamforming transforms: PSD matrices and MVDR beamformers on complex spectrograms.

Example:
    >>> import torch
    >>> x = torch.randn(2, 4, 65, 50, dtype=torch.cfloat)  # (batch, channel, freq, time)
    >>> mask = torch.rand(2, 65, 50)
    >>> MVDR(ref_channel=0)(x, mask).shape
    torch.Size([2, 65, 50])
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from tympan.core.params import Params
from tympan.plugins.dsp.functional._beamforming import (
    apply_beamforming,
    mvdr_weights_rtf,
    mvdr_weights_souden,
    psd,
    rtf_evd,
    rtf_power,
)
from tympan.plugins.dsp.transforms._base import DspTransform

__all__ = ["MVDR", "PSD", "RTFMVDR", "SoudenMVDR"]


def _example_spectrogram(batch: int, generator: torch.Generator) -> torch.Tensor:
    """A random complex spectrogram ``(batch, 4, 33, 30)``."""
    parts = torch.randn(2, batch, 4, 33, 30, generator=generator)
    return torch.complex(parts[0], parts[1])


def _average_mask(mask: torch.Tensor, multi_mask: bool) -> torch.Tensor:
    """A ``(..., channel, freq, time)`` mask averaged over channels when ``multi_mask``, else ``mask``."""
    return mask.mean(dim=-3) if multi_mask else mask


class PSD(DspTransform):
    """Power spectral density matrices of ``(..., channel, freq, time)``, as ``torchaudio.transforms.PSD``.

    ``R[f] = sum_t m[f, t] x[f, t] x[f, t]^H`` with the optional ``(..., freq, time)`` mask (``(...,
    channel, freq, time)`` averaged over channels when ``multi_mask``), normalised to sum to 1 over time
    when ``normalize``. Returns ``(..., freq, channel, channel)``.

    Example:
        >>> import torch
        >>> x = torch.randn(4, 65, 50, dtype=torch.cfloat)
        >>> PSD()(x, torch.rand(65, 50)).shape
        torch.Size([65, 4, 4])
    """

    qualified_name = "dsp:psd"

    class Params(Params):
        """Parameters of :class:`PSD`."""

        multi_mask: bool = Field(False, description="The mask has a channel axis; it is averaged over channels.")
        normalize: bool = Field(True, description="Divide the mask by its sum over time.")
        eps: float = Field(1e-15, ge=0.0, le=1.0, description="Added to the mask's sum before dividing.")

    def __init__(self, multi_mask: bool = False, normalize: bool = True, eps: float = 1e-15) -> None:
        params = self.validated(locals())
        super().__init__()
        self.multi_mask = params.multi_mask
        self.normalize = params.normalize
        self.eps = params.eps

    def example_input(self, batch: int) -> torch.Tensor:
        """A random complex spectrogram ``(batch, 4, 33, 30)``, for the contract checks."""
        return _example_spectrogram(batch, torch.Generator().manual_seed(0))

    def forward(self, specgram: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(..., channel, freq, time)`` (and mask) to ``(..., freq, channel, channel)``."""
        if mask is not None:
            mask = _average_mask(mask, self.multi_mask)
        return psd(specgram, mask, self.normalize, self.eps)


class MVDR(DspTransform):
    """Mask-based MVDR beamformer, as ``torchaudio.transforms.MVDR``: ``(..., channel, freq, time)`` complex
    spectrogram and time-frequency masks of speech and noise to the enhanced ``(..., freq, time)``.

    The speech and noise PSD matrices are the mask-weighted averages of ``x x^H`` (``mask_n`` defaults to
    ``1 - mask_s``; ``multi_mask`` masks have a channel axis, averaged). ``solution`` picks the weights:
    ``"ref_channel"`` (Souden's, no steering vector), ``"stv_evd"`` (steering vector: principal eigenvector
    of the speech PSD) or ``"stv_power"`` (steering vector by power iteration); the reference channel's
    image of the speech is kept. ``diag_loading`` adds ``diag_eps * tr(R_n)`` to the noise PSD's diagonal.
    With ``online`` the PSD matrices are running averages over every call since construction (or
    :meth:`reset`), weighted by the masks, so a stream cut into chunks gives what the whole would give at
    its last chunk. Complex64 input is computed in complex128 and returned in its own dtype.

    Example:
        >>> import torch
        >>> x = torch.randn(4, 65, 50, dtype=torch.cfloat)
        >>> mvdr = MVDR(ref_channel=1, solution="stv_power")
        >>> mvdr(x, torch.rand(65, 50)).shape
        torch.Size([65, 50])
    """

    qualified_name = "dsp:mvdr"

    class Params(Params):
        """Parameters of :class:`MVDR`."""

        ref_channel: int = Field(0, ge=0, le=4096, description="Index of the reference microphone.")
        solution: Literal["ref_channel", "stv_evd", "stv_power"] = Field(
            "ref_channel",
            description="Weights: Souden's without steering vector (ref_channel), or with a steering vector "
            "from the speech PSD's principal eigenvector (stv_evd) or power iteration (stv_power).",
        )
        multi_mask: bool = Field(False, description="Masks have a channel axis; they are averaged over channels.")
        diag_loading: bool = Field(True, description="Load the diagonal of the noise PSD matrix.")
        diag_eps: float = Field(1e-7, ge=0.0, le=1.0, description="Diagonal loading, relative to tr(R_n).")
        online: bool = Field(False, description="Average the PSD matrices over every call (streaming).")

    def __init__(
        self,
        ref_channel: int = 0,
        solution: str = "ref_channel",
        multi_mask: bool = False,
        diag_loading: bool = True,
        diag_eps: float = 1e-7,
        online: bool = False,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.ref_channel = params.ref_channel
        self.solution = params.solution
        self.multi_mask = params.multi_mask
        self.diag_loading = params.diag_loading
        self.diag_eps = params.diag_eps
        self.online = params.online
        self.mask_eps = 1e-15  # guards the division by the mask sums
        # Online state: mask-weighted sums of x x^H and the mask sums; one element until the first call.
        self.register_buffer("psd_s", torch.zeros(1))
        self.register_buffer("psd_n", torch.zeros(1))
        self.register_buffer("mask_sum_s", torch.zeros(1))
        self.register_buffer("mask_sum_n", torch.zeros(1))

    @torch.jit.export
    def reset(self) -> None:
        """Forget the PSD matrices accumulated by ``online`` calls."""
        self.psd_s = torch.zeros(1, device=self.psd_s.device)
        self.psd_n = torch.zeros(1, device=self.psd_n.device)
        self.mask_sum_s = torch.zeros(1, device=self.mask_sum_s.device)
        self.mask_sum_n = torch.zeros(1, device=self.mask_sum_n.device)

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(specgram, mask_s)``: a random complex ``(batch, 4, 33, 30)`` and a mask ``(batch, 33, 30)``."""
        generator = torch.Generator().manual_seed(0)
        specgram = _example_spectrogram(batch, generator)
        shape = (batch, 4, 33, 30) if self.multi_mask else (batch, 33, 30)
        return specgram, torch.rand(shape, generator=generator)

    def _accumulate(
        self, specgram: torch.Tensor, mask_s: torch.Tensor, mask_n: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The running PSD matrices of speech and noise after adding this call's frames."""
        sum_s = psd(specgram, mask_s, False)
        sum_n = psd(specgram, mask_n, False)
        weight_s = mask_s.to(torch.float64).sum(dim=-1)
        weight_n = mask_n.to(torch.float64).sum(dim=-1)
        if self.psd_s.dim() > 1:
            sum_s = sum_s + self.psd_s
            sum_n = sum_n + self.psd_n
            weight_s = weight_s + self.mask_sum_s
            weight_n = weight_n + self.mask_sum_n
        self.psd_s = sum_s.detach()
        self.psd_n = sum_n.detach()
        self.mask_sum_s = weight_s.detach()
        self.mask_sum_n = weight_n.detach()
        return sum_s / (weight_s[..., None, None] + self.mask_eps), sum_n / (weight_n[..., None, None] + self.mask_eps)

    def _weights(self, psd_s: torch.Tensor, psd_n: torch.Tensor) -> torch.Tensor:
        if self.solution == "ref_channel":
            return mvdr_weights_souden(psd_s, psd_n, self.ref_channel, self.diag_loading, self.diag_eps)
        if self.solution == "stv_evd":
            rtf = rtf_evd(psd_s)
        else:
            rtf = rtf_power(psd_s, psd_n, self.ref_channel, diagonal_loading=self.diag_loading, diag_eps=self.diag_eps)
        return mvdr_weights_rtf(rtf, psd_n, self.ref_channel, self.diag_loading, self.diag_eps)

    def forward(self, specgram: torch.Tensor, mask_s: torch.Tensor, mask_n: torch.Tensor | None = None) -> torch.Tensor:
        """``(..., channel, freq, time)`` with masks ``(..., freq, time)`` (``(..., channel, freq, time)``
        when ``multi_mask``) to the enhanced ``(..., freq, time)``."""
        if specgram.dim() < 3 or not specgram.is_complex():
            raise ValueError(
                f"specgram must be complex (..., channel, freq, time), got {specgram.dtype} {list(specgram.shape)}"
            )
        x = specgram.to(torch.complex128)
        if mask_n is None:
            mask_n = 1 - mask_s
        mask_s = _average_mask(mask_s, self.multi_mask)
        mask_n = _average_mask(mask_n, self.multi_mask)
        if self.online:
            psd_s, psd_n = self._accumulate(x, mask_s, mask_n)
        else:
            psd_s = psd(x, mask_s, True, self.mask_eps)
            psd_n = psd(x, mask_n, True, self.mask_eps)
        return apply_beamforming(self._weights(psd_s, psd_n), x).to(specgram.dtype)


class _GivenMatricesBeamformer(DspTransform):
    """An MVDR beamformer without parameters, whose ``forward`` takes the matrices that set its weights."""

    class Params(Params):
        """No parameters."""

    def __init__(self) -> None:
        self.validated(locals())
        super().__init__()

    def _example_parts(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A random ``specgram``, a speech mask and a one-hot reference channel, for ``batch`` items."""
        generator = torch.Generator().manual_seed(0)
        specgram = _example_spectrogram(batch, generator)
        mask = torch.rand(batch, 33, 30, generator=generator)
        reference = torch.zeros(batch, 4)
        reference[:, 0] = 1.0
        return specgram, mask, reference


class SoudenMVDR(_GivenMatricesBeamformer):
    """MVDR beamforming with Souden's weights from given speech and noise PSD matrices, as
    ``torchaudio.transforms.SoudenMVDR``.

    ``forward(specgram, psd_s, psd_n, reference_channel)`` filters ``(..., channel, freq, time)`` with
    :func:`~tympan.plugins.dsp.functional.mvdr_weights_souden` and returns ``(..., freq, time)``.

    Example:
        >>> import torch
        >>> from tympan.plugins.dsp.functional._beamforming import psd
        >>> x = torch.randn(4, 65, 50, dtype=torch.cdouble)
        >>> mask = torch.rand(65, 50, dtype=torch.float64)
        >>> SoudenMVDR()(x, psd(x, mask), psd(x, 1 - mask), reference_channel=0).shape
        torch.Size([65, 50])
    """

    qualified_name = "dsp:souden_mvdr"

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(specgram, psd_s, psd_n, reference_channel)`` for ``batch`` items; the reference is one-hot."""
        specgram, mask, reference = self._example_parts(batch)
        return specgram, psd(specgram, mask), psd(specgram, 1 - mask), reference

    def forward(
        self,
        specgram: torch.Tensor,
        psd_s: torch.Tensor,
        psd_n: torch.Tensor,
        reference_channel: int | torch.Tensor,
        diagonal_loading: bool = True,
        diag_eps: float = 1e-7,
        eps: float = 1e-8,
    ) -> torch.Tensor:
        """``(..., channel, freq, time)`` and PSD matrices ``(..., freq, channel, channel)`` to ``(..., freq,
        time)``."""
        weights = mvdr_weights_souden(psd_s, psd_n, reference_channel, diagonal_loading, diag_eps, eps)
        return apply_beamforming(weights, specgram)


class RTFMVDR(_GivenMatricesBeamformer):
    """MVDR beamforming from a relative transfer function and the noise PSD matrix, as
    ``torchaudio.transforms.RTFMVDR``.

    ``forward(specgram, rtf, psd_n, reference_channel)`` filters ``(..., channel, freq, time)`` with
    :func:`~tympan.plugins.dsp.functional.mvdr_weights_rtf` and returns ``(..., freq, time)``.

    Example:
        >>> import torch
        >>> from tympan.plugins.dsp.functional._beamforming import psd, rtf_evd
        >>> x = torch.randn(4, 65, 50, dtype=torch.cdouble)
        >>> mask = torch.rand(65, 50, dtype=torch.float64)
        >>> RTFMVDR()(x, rtf_evd(psd(x, mask)), psd(x, 1 - mask), reference_channel=0).shape
        torch.Size([65, 50])
    """

    qualified_name = "dsp:rtf_mvdr"

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(specgram, rtf, psd_n, reference_channel)`` for ``batch`` items; the reference is one-hot."""
        specgram, mask, reference = self._example_parts(batch)
        return specgram, rtf_evd(psd(specgram, mask)), psd(specgram, 1 - mask), reference

    def forward(
        self,
        specgram: torch.Tensor,
        rtf: torch.Tensor,
        psd_n: torch.Tensor,
        reference_channel: int | torch.Tensor,
        diagonal_loading: bool = True,
        diag_eps: float = 1e-7,
        eps: float = 1e-8,
    ) -> torch.Tensor:
        """``(..., channel, freq, time)``, RTF ``(..., freq, channel)`` and noise PSD to ``(..., freq, time)``."""
        weights = mvdr_weights_rtf(rtf, psd_n, reference_channel, diagonal_loading, diag_eps, eps)
        return apply_beamforming(weights, specgram)
