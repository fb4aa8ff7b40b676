"""The parameters of the Kaldi feature components, each declared once with its bounds and description.

Every Kaldi extractor (offline module, streaming extractor, functional form) names its options as
torchaudio.compliance.kaldi does; the types below carry the bound and the description that the derived
``Params`` models, the JSON Schema and the docs show.

Example:
    >>> import typing
    >>> typing.get_args(NumMelBins)[1].description
    'Number of triangular mel filters.'
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

__all__ = [
    "BlackmanCoeff",
    "CepstralLifter",
    "CepstralScale",
    "CompressFactor",
    "Dither",
    "DitherSeed",
    "EnergyFloor",
    "FrameLength",
    "FrameShift",
    "HighFreq",
    "HtkCompat",
    "LowFreq",
    "LpcOrder",
    "NumCeps",
    "NumMelBins",
    "PreemphasisCoefficient",
    "RawEnergy",
    "RemoveDcOffset",
    "RoundToPowerOfTwo",
    "SampleFrequency",
    "SnipEdges",
    "SubtractMean",
    "UseEnergy",
    "UseLogFbank",
    "UsePower",
    "VtlnHigh",
    "VtlnLow",
    "VtlnWarp",
    "WindowTypeName",
]

SampleFrequency = Annotated[
    float, Field(gt=0, le=1_000_000, description="Sample rate of the input, in Hz (Kaldi's --sample-frequency).")
]
FrameLength = Annotated[float, Field(gt=0, le=10_000, description="Frame length in milliseconds.")]
FrameShift = Annotated[float, Field(gt=0, le=10_000, description="Frame shift in milliseconds.")]
Dither = Annotated[
    float, Field(ge=0, le=1e6, description="Standard deviation of the Gaussian noise added to every frame (0: none).")
]
DitherSeed = Annotated[
    int | None,
    Field(
        ge=0,
        le=2**63 - 1,
        description="Seed of the dither noise: each call draws the same noise (None: torch's global generator).",
    ),
]
PreemphasisCoefficient = Annotated[
    float, Field(ge=0, le=1, description="Pre-emphasis: x[i] -= coefficient * x[i - 1] within each frame.")
]
RemoveDcOffset = Annotated[bool, Field(description="Subtract each frame's mean before anything else.")]
WindowTypeName = Annotated[
    Literal["povey", "hamming", "hanning", "rectangular", "blackman", "sine"],
    Field(
        description="Analysis window: povey (Hann to the power 0.85), hamming, hanning, rectangular, blackman, sine."
    ),
]
BlackmanCoeff = Annotated[float, Field(ge=0, le=1, description="Constant term of the generalised Blackman window.")]
RoundToPowerOfTwo = Annotated[bool, Field(description="Zero-pad each frame to the next power of two for the FFT.")]
SnipEdges = Annotated[
    bool,
    Field(
        description="Keep only frames that fit inside the signal (True), or centre frames on multiples of the "
        "shift and reflect the signal at its edges (False)."
    ),
]
EnergyFloor = Annotated[
    float, Field(ge=0, le=1e30, description="Floor on the energy (not its log) of use_energy/raw_energy; 0: none.")
]
RawEnergy = Annotated[
    bool, Field(description="Take the energy before pre-emphasis and windowing (True) or after windowing (False).")
]
UseEnergy = Annotated[bool, Field(description="Add the frame's log energy (fbank) or put it in place of C0.")]
LowFreq = Annotated[float, Field(ge=0, le=500_000, description="Low edge of the mel filter bank, in Hz.")]
HighFreq = Annotated[
    float,
    Field(ge=-500_000, le=500_000, description="High edge of the mel filter bank, in Hz; <= 0 counts from Nyquist."),
]
NumMelBins = Annotated[int, Field(ge=3, le=4096, description="Number of triangular mel filters.")]
UseLogFbank = Annotated[bool, Field(description="Return log mel energies (floored at float32 epsilon).")]
UsePower = Annotated[bool, Field(description="Use the power spectrum (True) or the magnitude spectrum (False).")]
HtkCompat = Annotated[
    bool, Field(description="HTK order: the energy (or C0) last instead of first, C0 scaled by sqrt(2) in MFCC.")
]
VtlnWarp = Annotated[float, Field(gt=0, le=10, description="VTLN warp factor of the mel filters (1: no warping).")]
VtlnLow = Annotated[float, Field(ge=0, le=500_000, description="Lower VTLN inflection frequency, in Hz.")]
VtlnHigh = Annotated[
    float,
    Field(ge=-500_000, le=500_000, description="Upper VTLN inflection frequency, in Hz; < 0 counts from Nyquist."),
]
NumCeps = Annotated[int, Field(ge=1, le=4096, description="Number of cepstra kept, C0 included.")]
CepstralLifter = Annotated[
    float, Field(ge=0, le=1e6, description="Cepstral liftering coefficient Q: 1 + Q/2 sin(pi i / Q) (0: none).")
]
SubtractMean = Annotated[bool, Field(description="Subtract each utterance's mean feature vector.")]
LpcOrder = Annotated[int, Field(ge=1, le=1024, description="Order of the PLP linear prediction.")]
CompressFactor = Annotated[
    float, Field(gt=0, le=1, description="Exponent of PLP's intensity-to-loudness compression (cube root: 0.33333).")
]
CepstralScale = Annotated[float, Field(gt=0, le=1e6, description="Scale of the PLP cepstra.")]
