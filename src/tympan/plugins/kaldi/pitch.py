"""Kaldi's pitch as modules: ``kaldi:pitch`` (``compute-kaldi-pitch-feats``) and ``kaldi:process_pitch``.

``Pitch`` maps ``(..., time)`` waveforms (every leading dimension is batch; Kaldi's int16 scale or any other,
the NCCF does not depend on it) to ``(..., frames, 2)`` = (NCCF, pitch in Hz); ``ProcessPitch`` maps that
to Kaldi's post-processed features. The parameters keep Kaldi's option names.

Example:
    >>> import math, torch
    >>> t = torch.arange(16000) / 16000
    >>> raw = Pitch()(torch.sin(2 * math.pi * 220 * t))
    >>> raw.shape, round(float(raw[40, 1]))
    (torch.Size([98, 2]), 220)
    >>> ProcessPitch(delta_pitch_noise_stddev=0.0)(raw).shape
    torch.Size([98, 3])
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field

from tympan.core.components import Transform
from tympan.core.params import validated_arguments
from tympan.plugins.kaldi._base import as_batch
from tympan.plugins.kaldi._params import FrameLength, FrameShift, SampleFrequency, SnipEdges
from tympan.plugins.kaldi.functional._pitch import PitchOptions, kaldi_pitch, steady_length
from tympan.plugins.kaldi.functional._process_pitch import process_pitch

__all__ = ["Pitch", "ProcessPitch", "pitch_options"]

Hz = Annotated[float, Field(gt=0, le=500_000)]


def pitch_options(params: Any) -> PitchOptions:
    """The :class:`PitchOptions` of validated ``Params`` of :class:`Pitch`.

    Example:
        >>> from tympan.core.params import params_of
        >>> pitch_options(params_of(Pitch)(min_f0=60.0)).min_f0
        60.0
    """
    return PitchOptions(**params.kwargs())


class Pitch(Transform):
    """Kaldi's pitch tracker: ``(..., time)`` to ``(..., frames, 2)`` = (NCCF, pitch in Hz).

    Given ``lengths`` (valid samples per item), ``forward`` returns ``(pitch, frame_counts)`` and zeros past
    each item's frames. See :mod:`tympan.plugins.kaldi.functional._pitch` for the algorithm.

    Example:
        >>> import torch
        >>> Pitch(sample_frequency=8000.0)(torch.randn(2, 8000)).shape
        torch.Size([2, 98, 2])
    """

    qualified_name: ClassVar[str] = "kaldi:pitch"
    sample_rate_param: ClassVar[str | None] = "sample_frequency"
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        sample_frequency: SampleFrequency = 16000.0,
        frame_length: FrameLength = 25.0,
        frame_shift: FrameShift = 10.0,
        preemphasis_coefficient: Annotated[
            float, Field(ge=0, le=1, description="Pre-emphasis of each resampled frame.")
        ] = 0.0,
        min_f0: Annotated[float, Field(gt=0, le=100_000, description="Lowest pitch searched, in Hz.")] = 50.0,
        max_f0: Annotated[float, Field(gt=0, le=100_000, description="Highest pitch searched, in Hz.")] = 400.0,
        soft_min_f0: Annotated[
            float, Field(ge=0, le=1e6, description="Weight of the cost that discourages pitches near min_f0.")
        ] = 10.0,
        penalty_factor: Annotated[
            float, Field(ge=0, le=1e6, description="Weight of the penalty on pitch changes between frames.")
        ] = 0.1,
        lowpass_cutoff: Annotated[
            float, Field(gt=0, le=500_000, description="Low-pass cutoff before resampling, Hz.")
        ] = 1000.0,
        resample_frequency: Annotated[
            float, Field(gt=0, le=100_000, description="Rate the signal is resampled to for the NCCF, Hz.")
        ] = 4000.0,
        delta_pitch: Annotated[
            float, Field(gt=0, le=1, description="Ratio - 1 between consecutive candidate lags.")
        ] = 0.005,
        nccf_ballast: Annotated[
            float, Field(ge=0, le=1e12, description="Weight of the energy term that pulls weak frames' NCCF down.")
        ] = 7000.0,
        nccf_ballast_online: Annotated[
            bool, Field(description="Take the ballast's energy up to each frame, as an online decoder would.")
        ] = False,
        lowpass_filter_width: Annotated[
            int, Field(ge=1, le=1000, description="Zero crossings each side of the resampling filter.")
        ] = 1,
        upsample_filter_width: Annotated[
            int, Field(ge=1, le=1000, description="Zero crossings each side of the NCCF interpolation filter.")
        ] = 5,
        frames_per_chunk: Annotated[
            int, Field(ge=0, le=10_000_000, description="Feed the signal in chunks of this many frames (0: whole).")
        ] = 0,
        recompute_frame: Annotated[
            int, Field(ge=0, le=10_000_000, description="Frame after which the ballast is no longer revisited.")
        ] = 500,
        snip_edges: SnipEdges = True,
        simulate_first_pass_online: Annotated[
            bool,
            Field(
                description="Output each frame as the online tracker first output it, fed frames_per_chunk frames "
                "at a time (before later input revised its best path)."
            ),
        ] = False,
        max_frames_latency: Annotated[
            int,
            Field(
                ge=0,
                le=10_000_000,
                description="With simulate_first_pass_online: newest frames held back while their paths differ.",
            ),
        ] = 0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self.options = pitch_options(params)

    @staticmethod
    def check_params(params: Any) -> None:
        """The pitch range, rates and frame sizes fit together (see :meth:`PitchOptions.check`)."""
        pitch_options(params).check()

    @property
    def export_min_frames(self) -> int:
        """The shortest input an exported program takes: from there on, the computation takes the same steps
        for every length (see :func:`~tympan.plugins.kaldi.functional._pitch.steady_length`)."""
        return steady_length(self.options)

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """(NCCF, pitch) frames of ``(..., time)``; with ``lengths``, ``(pitch, frame_counts)``."""
        flat, flat_lengths, leading = as_batch(waveform, lengths)
        output, counts = kaldi_pitch(flat, flat_lengths, self.options)
        output = output.reshape(*leading, *output.shape[1:])
        return output if lengths is None else (output, counts.reshape(leading))


class ProcessPitch(Transform):
    """Kaldi's ``process-kaldi-pitch-feats``: ``(..., frames, 2)`` raw pitch to ``(..., frames + delay, dim)``.

    The features are, in order, those switched on by the ``add_*`` flags. ``noise_seed`` fixes the delta
    noise of each frame, so a call's output depends only on its input, as a fresh Kaldi process's.

    Example:
        >>> import torch
        >>> raw = torch.stack([torch.rand(50), 100 + 100 * torch.rand(50)], dim=-1)
        >>> ProcessPitch(add_raw_log_pitch=True, noise_seed=0)(raw).shape
        torch.Size([50, 4])
    """

    qualified_name: ClassVar[str] = "kaldi:process_pitch"
    #: The frames axis is the dynamic time dimension of an exported program (the last holds NCCF and pitch).
    export_time_dim: ClassVar[int] = -2
    scriptable: ClassVar[bool] = False

    def __init__(
        self,
        pitch_scale: Annotated[float, Field(ge=0, le=1e6, description="Scale of the normalised log pitch.")] = 2.0,
        pov_scale: Annotated[
            float, Field(ge=0, le=1e6, description="Scale of the probability-of-voicing feature.")
        ] = 2.0,
        pov_offset: Annotated[float, Field(ge=-1e6, le=1e6, description="Offset added to the POV feature.")] = 0.0,
        delta_pitch_scale: Annotated[float, Field(ge=0, le=1e6, description="Scale of the delta log pitch.")] = 10.0,
        delta_pitch_noise_stddev: Annotated[
            float, Field(ge=0, le=1e3, description="Standard deviation of the noise added to the delta log pitch.")
        ] = 0.005,
        normalization_left_context: Annotated[
            int, Field(ge=0, le=1_000_000, description="Frames before each frame in the log-pitch normalisation.")
        ] = 75,
        normalization_right_context: Annotated[
            int, Field(ge=0, le=1_000_000, description="Frames after each frame in the log-pitch normalisation.")
        ] = 75,
        delta_window: Annotated[int, Field(ge=1, le=999, description="Frames each side of the delta regression.")] = 2,
        delay: Annotated[int, Field(ge=0, le=1_000_000, description="Frames of delay (the first frame repeated).")] = 0,
        add_pov_feature: Annotated[bool, Field(description="Output the POV feature.")] = True,
        add_normalized_log_pitch: Annotated[bool, Field(description="Output the normalised log pitch.")] = True,
        add_delta_pitch: Annotated[bool, Field(description="Output the delta log pitch.")] = True,
        add_raw_log_pitch: Annotated[bool, Field(description="Output the raw log pitch.")] = False,
        noise_seed: Annotated[
            int, Field(ge=0, le=2**63 - 1, description="Seed of the delta noise, the same on every call.")
        ] = 0,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        values = params.kwargs()
        self.noise_seed: int = values.pop("noise_seed")
        self.settings = values

    @staticmethod
    def check_params(params: Any) -> None:
        """At least one feature is switched on."""
        if not (
            params.add_pov_feature
            or params.add_normalized_log_pitch
            or params.add_delta_pitch
            or params.add_raw_log_pitch
        ):
            raise ValueError("at least one of the add_* features must be switched on")

    def example_input(self, batch: int) -> torch.Tensor:
        """Raw pitch ``(batch, 60, 2)``: NCCFs in [0, 1) and pitches of 100-200 Hz, for the contract checks."""
        generator = torch.Generator().manual_seed(0)
        return torch.stack(
            [torch.rand(batch, 60, generator=generator), 100 + 100 * torch.rand(batch, 60, generator=generator)], -1
        )

    def forward(self, pitch: torch.Tensor) -> torch.Tensor:
        """Post-processed features of ``(..., frames, 2)`` raw pitch."""
        return process_pitch(pitch, **self.settings, noise_seed=self.noise_seed)
