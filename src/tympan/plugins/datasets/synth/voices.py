"""Synthetic speakers: espeak-ng voices (an accent and a voice variant) at a speed and pitch of their own.

A :class:`Voice` is one speaker. :func:`voice_pool` draws speakers deterministically from a seed, with
*held-out* voices for testing: the (accent, variant) pairs of the test speakers never occur among the
training speakers, although each accent and each variant alone does. :func:`speak` runs ``espeak-ng`` and
returns the waveform at the requested rate.

Example:
    >>> train, test = voice_pool(seed=0, train=4, test=2)
    >>> {(v.accent, v.variant) for v in train} & {(v.accent, v.variant) for v in test}
    set()
    >>> train[0].speaker_id, test[0].speaker_id
    (100, 900)
"""

from __future__ import annotations

import dataclasses
import functools
import random
import shutil
import subprocess

import torch

from tympan.core.errors import SynthesisError

__all__ = ["ACCENTS", "VARIANTS", "Voice", "espeak_path", "speak", "voice_pool"]

#: espeak-ng's English accents.
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")

#: espeak-ng voice variants that sound like speech (whispered and robotic ones left out).
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "croak", "edward", "steph", "belinda",
)  # fmt: skip

#: The speed (words per minute) and pitch (espeak's 0..99) ranges speakers are drawn from.
SPEED_RANGE = (125, 195)
PITCH_RANGE = (20, 80)

#: First speaker id of the training and of the held-out speakers (LibriSpeech ids are integers).
TRAIN_ID, TEST_ID = 100, 900


@dataclasses.dataclass(frozen=True)
class Voice:
    """One synthetic speaker: an espeak-ng accent and variant, a speed (words per minute) and a pitch (0..99).

    Example:
        >>> Voice(100, "en-us", "f3", 160, 55).espeak_name
        'en-us+f3'
    """

    speaker_id: int
    accent: str
    variant: str
    speed: int
    pitch: int

    @property
    def espeak_name(self) -> str:
        """The ``-v`` argument of espeak-ng."""
        return f"{self.accent}+{self.variant}"

    def take(self, generator: random.Random) -> Voice:
        """The same speaker saying something once more: speed and pitch varied a little (+-8 %, +-6).

        Example:
            >>> voice = Voice(100, "en-us", "f3", 160, 55)
            >>> again = voice.take(random.Random(1))
            >>> again.speaker_id, abs(again.speed - 160) <= 13, abs(again.pitch - 55) <= 6
            (100, True, True)
        """
        speed = round(self.speed * generator.uniform(0.92, 1.08))
        pitch = min(99, max(0, self.pitch + generator.randint(-6, 6)))
        return dataclasses.replace(self, speed=speed, pitch=pitch)


def voice_pool(seed: int, train: int, test: int) -> tuple[list[Voice], list[Voice]]:
    """``train`` training speakers and ``test`` held-out ones (accent-variant pairs unseen in training).

    Raises ``ValueError`` when more speakers are asked for than the pairs allow.

    Example:
        >>> voice_pool(0, 1, 0)[0][0] == voice_pool(0, 1, 0)[0][0]
        True
    """
    pairs = [(accent, variant) for accent in ACCENTS for variant in VARIANTS]
    if train + test > len(pairs):
        raise ValueError(f"at most {len(pairs)} speakers in all (asked for {train} + {test})")
    generator = random.Random(f"voices/{seed}")
    generator.shuffle(pairs)
    held_out, seen = pairs[:test], pairs[test : test + train]

    def make(first_id: int, chosen: list[tuple[str, str]]) -> list[Voice]:
        return [
            Voice(first_id + i, accent, variant, generator.randint(*SPEED_RANGE), generator.randint(*PITCH_RANGE))
            for i, (accent, variant) in enumerate(chosen)
        ]

    return make(TRAIN_ID, seen), make(TEST_ID, held_out)


@functools.cache
def espeak_path() -> str:
    """The ``espeak-ng`` executable; a :class:`~tympan.core.errors.SynthesisError` with the install hint if absent.

    Example:
        >>> espeak_path().endswith("espeak-ng")
        True
    """
    found = shutil.which("espeak-ng")
    if found is None:
        raise SynthesisError("espeak-ng not found; install it (Debian/Ubuntu: `apt-get install espeak-ng`)")
    return found


def speak(text: str, voice: Voice, sample_rate: int) -> torch.Tensor:
    """``text`` spoken by ``voice``: a ``(1, time)`` float waveform at ``sample_rate`` Hz.

    Example:
        >>> waveform = speak("hello", Voice(100, "en-us", "m3", 170, 50), 16000)
        >>> waveform.shape[0], 0.2 < waveform.shape[1] / 16000 < 2.0
        (1, True)
    """
    from tympan.plugins.dsp.functional import resample
    from tympan.plugins.io.api import load

    command = [espeak_path(), "-v", voice.espeak_name, "-s", str(voice.speed), "-p", str(voice.pitch), "-z"]
    try:
        done = subprocess.run([*command, "--stdout", text], capture_output=True, check=True, timeout=60)
        waveform, rate = load(done.stdout, format="wav")
    except (subprocess.SubprocessError, OSError) as err:
        raise SynthesisError(f"espeak-ng failed on {text!r} with voice {voice.espeak_name}: {err}") from None
    if rate != sample_rate:
        waveform = resample(waveform, rate, sample_rate)
    return waveform
