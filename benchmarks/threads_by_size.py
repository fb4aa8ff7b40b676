"""What a second intra-op thread saves, by input size, for the features, resampling and filter calls.

``python -m benchmarks.threads_by_size [--busy] [--rounds N]`` times each call with torch's configured
thread count against one thread, interleaved in one process, and prints the ratio ``one-thread time /
configured time`` (above 1: the threads pay). ``--busy`` runs it all beside a process spinning on one core.
The per-call choice (:mod:`tympan.core.threads`) is switched off while this runs, so both
sides run on the threads they say; its size threshold, ``ONE_THREAD_BELOW``, comes from this table.

Example:
    >>> [samples for _, samples, _ in cases()][:3]
    [1600, 16000, 65536]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence

import torch

from benchmarks.harness import Result, compare, format_table
from benchmarks.thread_settings import busy_core

Call = Callable[[], torch.Tensor]


def _features(channels: int, samples: int) -> Call:
    import tympan.transforms as T

    mel = T.MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=80)
    audio = torch.randn(channels, samples)
    return lambda: mel(audio)


def _resample(channels: int, samples: int) -> Call:
    from tympan.plugins.dsp.functional import HIGH_QUALITY_RESAMPLING, resample

    audio = torch.randn(channels, samples)
    return lambda: resample(audio, 44100, 16000, **HIGH_QUALITY_RESAMPLING)


def _filter(channels: int, samples: int) -> Call:
    from tympan.plugins.dsp.functional import lowpass_biquad

    audio = 0.1 * torch.randn(channels, samples)
    return lambda: lowpass_biquad(audio, 44100, 1000.0)


#: ``(channels, samples per channel)`` timed for every family: 0.1 s to 64 x 10 s of 16 kHz audio.
SIZES = ((1, 1600), (1, 16000), (1, 65536), (1, 160000), (4, 160000), (16, 160000), (64, 160000))
FAMILIES = {"mel_spectrogram": _features, "resample 44100->16000 HQ": _resample, "biquad float32": _filter}


def cases() -> Iterator[tuple[str, int, Callable[[], Call]]]:
    """``(name, input samples, builder of the call)`` of every timed case, smallest first within each family."""
    for family, build in FAMILIES.items():
        for channels, samples in SIZES:
            name = f"{family} channels={channels} samples={samples}"
            yield name, channels * samples, lambda b=build, c=channels, n=samples: b(c, n)  # type: ignore[misc]


def _on_threads(call: Call, threads: int) -> Call:
    def timed() -> torch.Tensor:
        torch.set_num_threads(threads)
        return call()

    return timed


def run(rounds: int) -> list[Result]:
    """Every case, configured threads against one; the per-call choice is off meanwhile."""
    from tympan.core import threads as _threads

    configured, choose = torch.get_num_threads(), _threads.call_threads
    _threads.call_threads = lambda work: torch.get_num_threads()
    results = []
    try:
        for name, samples, build in cases():
            call = build()
            with torch.inference_mode():
                result = compare(
                    name,
                    _on_threads(call, configured),
                    _on_threads(call, 1),
                    rounds=rounds,
                    warmup=2,
                    params={"samples": samples, "threads": configured},
                )
            results.append(result)
    finally:
        _threads.call_threads = choose
        torch.set_num_threads(configured)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table (``peer`` is one thread, ``ours`` the configured count)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.threads_by_size", description=__doc__.splitlines()[0])
    parser.add_argument("--busy", action="store_true", help="beside a process spinning on one core")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds per case")
    args = parser.parse_args(argv)
    if args.busy:
        with busy_core():
            results = run(args.rounds)
    else:
        results = run(args.rounds)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
