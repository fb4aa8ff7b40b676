"""The feature commands: each resolves its computation by name in the registry (``kaldi:fbank`` ...).

``compute-fbank-feats``, ``compute-mfcc-feats``, ``compute-plp-feats`` and ``compute-kaldi-pitch-feats``
read audio (``scp:wav.scp``, with ``--segments``), scale it to Kaldi's 16-bit range and write features;
``add-deltas``, ``splice-feats``, ``apply-cmvn-sliding`` and ``process-kaldi-pitch-feats`` turn features
into features. Options keep Kaldi's names and Kaldi's defaults (``--dither=1``, ``--energy-floor=0``); each
is passed to the component under the same name with ``_`` for ``-`` (or the name the table below maps it
to) when the component has that parameter. Setting an option the component lacks is an error.

Example:
    >>> sorted(FRAME_COMMANDS)
    ['add-deltas', 'apply-cmvn-sliding', 'process-kaldi-pitch-feats', 'splice-feats']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

from tympan.plugins.kaldi.commands.common import count_entries, device_option, fail_cleanly, progress, summary
from tympan.plugins.kaldi.commands.options import KaldiCommand, kaldi_option, option_value_given

__all__ = ["FRAME_COMMANDS", "WAVE_COMMANDS", "build_component", "make_command"]

#: Kaldi's 16-bit scale: Kaldi's programs see integer sample values, tympan loads [-1, 1].
INT16_SCALE = 32768.0

Spec = tuple[str, type, Any, str]

_TIMING = [
    ("--sample-frequency", float, 16000.0, "Waveform sampling frequency (Hz)."),
    ("--frame-length", float, 25.0, "Frame length (ms)."),
    ("--frame-shift", float, 10.0, "Frame shift (ms)."),
]
_FRAME = [
    *_TIMING,
    ("--dither", float, 1.0, "Dithering constant (0: none)."),
    ("--preemphasis-coefficient", float, 0.97, "Pre-emphasis coefficient."),
    ("--remove-dc-offset", bool, True, "Subtract the mean of each frame."),
    ("--window-type", str, "povey", "hamming, hanning, povey, rectangular or blackman."),
    ("--blackman-coeff", float, 0.42, "Constant of the generalised Blackman window."),
    ("--round-to-power-of-two", bool, True, "Round the FFT size up to a power of two."),
    ("--snip-edges", bool, True, "Only frames that fit entirely in the signal."),
]
_MEL = [
    ("--num-mel-bins", int, 23, "Number of triangular mel bins."),
    ("--low-freq", float, 20.0, "Low cutoff of the mel bins (Hz)."),
    ("--high-freq", float, 0.0, "High cutoff (Hz); <= 0 counts back from Nyquist."),
    ("--vtln-low", float, 100.0, "Low inflection point of the VTLN warp (Hz)."),
    ("--vtln-high", float, -500.0, "High inflection point of the VTLN warp (Hz); <= 0 counts from Nyquist."),
    ("--vtln-warp", float, 1.0, "VTLN warp factor."),
]
_ENERGY = [
    ("--raw-energy", bool, True, "Energy before pre-emphasis and windowing."),
    ("--energy-floor", float, 0.0, "Floor on the energy (absolute, not relative)."),
    ("--htk-compat", bool, False, "HTK's layout (energy last)."),
    ("--subtract-mean", bool, False, "Subtract the mean of each feature over the utterance."),
]
_CEPSTRA = [
    ("--num-ceps", int, 13, "Number of cepstra."),
    ("--cepstral-lifter", float, 22.0, "Constant of the cepstral liftering."),
]
_PITCH = [
    *_TIMING,
    ("--preemphasis-coefficient", float, 0.0, "Pre-emphasis coefficient."),
    ("--min-f0", float, 50.0, "Lowest F0 searched (Hz)."),
    ("--max-f0", float, 400.0, "Highest F0 searched (Hz)."),
    ("--soft-min-f0", float, 10.0, "F0 below which the search is discouraged (Hz)."),
    ("--penalty-factor", float, 0.1, "Cost of changing F0 from frame to frame."),
    ("--lowpass-cutoff", float, 1000.0, "Cutoff of the low-pass filter (Hz)."),
    ("--resample-frequency", float, 4000.0, "Frequency the signal is resampled to (Hz)."),
    ("--delta-pitch", float, 0.005, "Smallest relative change of pitch the search resolves."),
    ("--nccf-ballast", float, 7000.0, "Ballast of the NCCF, against noise."),
    ("--lowpass-filter-width", int, 1, "Width of the low-pass filter, in multiples of its cutoff."),
    ("--upsample-filter-width", int, 5, "Width of the filter upsampling the NCCF."),
    ("--max-frames-latency", int, 0, "Frames of latency allowed in online mode."),
    ("--frames-per-chunk", int, 0, "Frames per chunk in online simulation."),
    ("--simulate-first-pass-online", bool, False, "Output the first-pass (online) pitch."),
    ("--recompute-frame", int, 500, "Frame after which the NCCF is recomputed (online)."),
    ("--snip-edges", bool, True, "Only frames that fit entirely in the signal."),
]
_PROCESS_PITCH = [
    ("--pitch-scale", float, 2.0, "Scale of the normalised log pitch."),
    ("--pov-scale", float, 2.0, "Scale of the probability-of-voicing feature."),
    ("--pov-offset", float, 0.0, "Offset of the probability-of-voicing feature."),
    ("--delta-pitch-scale", float, 10.0, "Scale of the delta pitch."),
    ("--delta-pitch-noise-stddev", float, 0.005, "Noise added to the delta pitch."),
    ("--normalization-left-context", int, 75, "Frames before, for the mean of the log pitch."),
    ("--normalization-right-context", int, 75, "Frames after, for the mean of the log pitch."),
    ("--delta-window", int, 2, "Frames each side of the delta regression."),
    ("--delay", int, 0, "Frames by which the features are delayed."),
    ("--add-pov-feature", bool, True, "Output the probability-of-voicing feature."),
    ("--add-normalized-log-pitch", bool, True, "Output the normalised log pitch."),
    ("--add-delta-pitch", bool, True, "Output the delta log pitch."),
    ("--add-raw-log-pitch", bool, False, "Output the raw log pitch."),
]


@dataclass(frozen=True)
class FeatureCommand:
    """One command: the registry component it runs, its Kaldi options, and renamed or fixed parameters."""

    component: str
    options: list[Spec]
    renamed: dict[str, str] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


WAVE_COMMANDS = {
    "compute-fbank-feats": FeatureCommand(
        "kaldi:fbank",
        [
            *_FRAME,
            *_MEL,
            *_ENERGY,
            ("--use-energy", bool, False, "Add the log energy."),
            ("--use-log-fbank", bool, True, "Log of the filter bank energies."),
            ("--use-power", bool, True, "Power (not magnitude) spectrum."),
        ],
        summary="Log mel filter bank features.",
    ),
    "compute-mfcc-feats": FeatureCommand(
        "kaldi:mfcc",
        [*_FRAME, *_MEL, *_ENERGY, *_CEPSTRA, ("--use-energy", bool, True, "Replace C0 by the log energy.")],
        summary="Mel-frequency cepstral coefficients.",
    ),
    "compute-plp-feats": FeatureCommand(
        "kaldi:plp",
        [
            *_FRAME,
            *_MEL,
            *_ENERGY,
            *_CEPSTRA,
            ("--use-energy", bool, True, "Replace C0 by the log energy."),
            ("--lpc-order", int, 12, "Order of the linear prediction."),
            ("--compress-factor", float, 0.33333, "Exponent of the intensity-loudness compression."),
            ("--cepstral-scale", float, 1.0, "Scale of the cepstra."),
        ],
        summary="Perceptual linear prediction features.",
    ),
    "compute-kaldi-pitch-feats": FeatureCommand(
        "kaldi:pitch", _PITCH, summary="Kaldi pitch: NCCF and pitch in Hz per frame."
    ),
}
FRAME_COMMANDS = {
    "add-deltas": FeatureCommand(
        "kaldi:add_deltas",
        [("--delta-order", int, 2, "Highest order of deltas."), ("--delta-window", int, 2, "Frames each side.")],
        renamed={"delta_order": "order", "delta_window": "window"},
        summary="Append deltas to features.",
    ),
    "splice-feats": FeatureCommand(
        "kaldi:splice",
        [("--left-context", int, 4, "Frames before each frame."), ("--right-context", int, 4, "Frames after.")],
        summary="Splice each frame with its context.",
    ),
    "apply-cmvn-sliding": FeatureCommand(
        "kaldi:cmvn",
        [
            ("--cmn-window", int, 600, "Frames in the sliding window."),
            ("--min-cmn-window", int, 100, "Least frames the window spans at the start (not centred)."),
            ("--center", bool, False, "Centre the window on the frame."),
            ("--norm-vars", bool, False, "Also normalise the variance."),
        ],
        fixed={"sliding": True},
        summary="Sliding-window cepstral mean (and variance) normalisation.",
    ),
    "process-kaldi-pitch-feats": FeatureCommand(
        "kaldi:process_pitch", _PROCESS_PITCH, summary="Post-process Kaldi pitch (POV, delta pitch, normalisation)."
    ),
}


def build_component(command: FeatureCommand, ctx: click.Context, values: dict[str, Any]) -> Any:
    """Create the registry component with the options it has; an option it lacks may only keep its default.

    Raises :class:`click.ClickException` naming the component when it is not installed.
    """
    from tympan import registry
    from tympan.core.errors import TympanError

    try:
        accepted = set(registry.info(command.component).params_schema.get("properties", {}))
    except (TympanError, KeyError) as error:
        raise click.ClickException(f"{command.component} is not available: {error}") from None
    params = dict(command.fixed)
    for option, *_ in command.options:
        name = option[2:].replace("-", "_")
        target = command.renamed.get(name, name)
        if target in accepted:
            params[target] = values[name]
        elif option_value_given(ctx, name):
            raise click.UsageError(f"{option} is not supported by {command.component}")
    return registry.create(command.component, **params)


def _wave_run(name: str, command: FeatureCommand) -> Any:
    def run(**values: Any) -> None:
        import torch

        from tympan.plugins.kaldi import io as kaldi_io
        from tympan.plugins.kaldi.datadir import read_audio

        ctx = click.get_current_context()
        source, target = values.pop("wav_rspecifier"), values.pop("feats_wspecifier")
        allow_pipes, device = values.pop("allow_pipes"), values.pop("device")
        channel, min_duration, segments = values.pop("channel"), values.pop("min_duration"), values.pop("segments")
        spec = kaldi_io.parse_rspecifier(source)
        if spec.kind != "scp":
            raise click.UsageError(f"{name} reads audio through a script (scp:wav.scp), not {source!r}")
        module = build_component(command, ctx, values).to(device)
        count = count_entries(f"scp:{segments}") if segments else count_entries(source)
        done = skipped = 0
        with (
            kaldi_io.Writer(target, allow_pipes=allow_pipes) as writer,
            progress(read_audio(spec.path, segments or None, allow_pipes=allow_pipes), name, count) as items,
        ):
            for key, waveform, rate in items:
                expected = values.get("sample_frequency", rate)
                if rate != expected:
                    raise click.ClickException(f"{key}: audio at {rate} Hz, but --sample-frequency is {expected:g}")
                if channel >= waveform.shape[0]:
                    raise click.ClickException(f"{key}: no channel {channel} in {waveform.shape[0]} channel(s)")
                if waveform.shape[-1] < min_duration * rate:
                    click.echo(f"WARNING ({name}): {key} is shorter than --min-duration; skipped", err=True)
                    skipped += 1
                    continue
                chosen = waveform[max(channel, 0)]
                with torch.no_grad():
                    features = module(chosen.to(device) * INT16_SCALE)
                writer[key] = features.reshape(-1, features.shape[-1]).cpu()
                done += 1
        summary(f"{name}: processed {done} utterances, skipped {skipped}")

    return run


def _frame_run(name: str, command: FeatureCommand) -> Any:
    def run(**values: Any) -> None:
        import torch

        from tympan.plugins.kaldi import io as kaldi_io

        ctx = click.get_current_context()
        source, target = values.pop("feats_rspecifier"), values.pop("feats_wspecifier")
        allow_pipes, device = values.pop("allow_pipes"), values.pop("device")
        module = build_component(command, ctx, values).to(device)
        done = 0
        with (
            kaldi_io.Writer(target, allow_pipes=allow_pipes) as writer,
            progress(kaldi_io.read(source, allow_pipes=allow_pipes), name, count_entries(source)) as items,
        ):
            for key, features in items:
                with torch.no_grad():
                    writer[key] = module(features.to(device)).cpu()
                done += 1
        summary(f"{name}: processed {done} utterances")

    return run


def make_command(name: str) -> click.Command:
    """The click command ``name`` (one of :data:`WAVE_COMMANDS` or :data:`FRAME_COMMANDS`).

    Example:
        >>> make_command("add-deltas").name
        'add-deltas'
    """
    wave = name in WAVE_COMMANDS
    command = WAVE_COMMANDS[name] if wave else FRAME_COMMANDS[name]
    callback = fail_cleanly(_wave_run(name, command) if wave else _frame_run(name, command))
    params: list[click.Parameter] = []
    for option, kind, default, text in command.options:
        decorated = kaldi_option(option, kind, default, text)(lambda: None)
        params += decorated.__click_params__  # type: ignore[attr-defined]
    if wave:
        params += [
            click.Option(["--channel"], type=int, default=-1, show_default=True, help="Channel (-1: mono or first)."),
            click.Option(
                ["--min-duration"], type=float, default=0.0, show_default=True, help="Skip shorter audio (s)."
            ),
            click.Option(["--segments"], default="", help="A segments file: features per segment of wav.scp."),
        ]
    params += [
        click.Option(["--allow-pipes"], is_flag=True, help="Run the shell commands of 'cmd |' entries."),
        *device_option(lambda: None).__click_params__,  # type: ignore[attr-defined]
        click.Argument(["wav_rspecifier" if wave else "feats_rspecifier"]),
        click.Argument(["feats_wspecifier"]),
    ]
    usage = "<wav-rspecifier> <feats-wspecifier>" if wave else "<feats-rspecifier> <feats-wspecifier>"
    return KaldiCommand(
        name, params=params, callback=callback, help=f"{command.summary} Runs {command.component}: {usage}."
    )
