"""Every SoX effect as an ``nn.Module`` (kind: effect), registered as ``sox:<name>``.

:data:`EFFECTS` maps SoX's effect names to the classes.

Example:
    >>> EFFECTS["lowpass"].__name__
    'Lowpass'
"""

from __future__ import annotations

from tympan.plugins.sox.effects._analysis import Stat, Stats
from tympan.plugins.sox.effects._base import Signal, SoxEffect, build_effect
from tympan.plugins.sox.effects._biquads import (
    Allpass,
    Band,
    Bandpass,
    Bandreject,
    Bass,
    Biquad,
    Deemph,
    Equalizer,
    Highpass,
    Lowpass,
    Riaa,
    Treble,
)
from tympan.plugins.sox.effects._channels import Channels, Oops, Remix, Swap
from tympan.plugins.sox.effects._dynamics import Compand, MCompand
from tympan.plugins.sox.effects._editing import Delay, Fade, Pad, Repeat, Reverse, Trim
from tympan.plugins.sox.effects._fir import Earwax, Fir, Hilbert, Loudness, Sinc
from tympan.plugins.sox.effects._levels import Contrast, DCShift, Gain, Norm, Overdrive, Vol
from tympan.plugins.sox.effects._modulation import Chorus, Echo, Echos, Flanger, Phaser, Tremolo
from tympan.plugins.sox.effects._noise import NoiseProf, NoiseRed
from tympan.plugins.sox.effects._rate import Downsample, Rate, Speed, Upsample
from tympan.plugins.sox.effects._reverb import Reverb
from tympan.plugins.sox.effects._synth import Dither, Synth
from tympan.plugins.sox.effects._timescale import Bend, Pitch, Stretch, Tempo
from tympan.plugins.sox.effects._trimming import Silence, Splice, Vad

_CLASSES: list[type[SoxEffect]] = [
    Stats,
    Stat,
    Tempo,
    Stretch,
    Pitch,
    Bend,
    Vad,
    Splice,
    Silence,
    NoiseRed,
    NoiseProf,
    Reverb,
    MCompand,
    Compand,
    Sinc,
    Loudness,
    Hilbert,
    Fir,
    Earwax,
    Synth,
    Dither,
    Tremolo,
    Phaser,
    Flanger,
    Echos,
    Echo,
    Chorus,
    Allpass,
    Band,
    Bandpass,
    Bandreject,
    Bass,
    Biquad,
    Channels,
    Contrast,
    DCShift,
    Deemph,
    Delay,
    Downsample,
    Equalizer,
    Fade,
    Gain,
    Highpass,
    Lowpass,
    Norm,
    Oops,
    Overdrive,
    Pad,
    Rate,
    Remix,
    Repeat,
    Reverse,
    Riaa,
    Speed,
    Swap,
    Treble,
    Trim,
    Upsample,
    Vol,
]

#: SoX effect name -> class.
EFFECTS: dict[str, type[SoxEffect]] = {cls.sox_name: cls for cls in _CLASSES}

__all__ = ["EFFECTS", "Signal", "SoxEffect", "build_effect", *sorted(cls.__name__ for cls in _CLASSES)]
