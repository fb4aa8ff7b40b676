"""Crafted component parameters: values at or past the edges of every declared bound, wrong scalar types,
and the combinations that, inside the bounds, imply gigabytes of buffers or hours of work.

Each goes through the registry (``registry.create`` validates with the component's ``Params``) and, when
the component builds, runs on a short input (:func:`tympan.testing.fuzz.exercise`). It must be refused with
a typed error, or build within the buffer budget and run within the time budget.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from _harness import Attack

FAMILY = "parameters"
SECONDS = 10.0

#: Reported cases: the component, its parameters, and whether they must be refused (True) or may also
#: build and run (False).
NAMED: list[tuple[str, str, dict[str, Any], bool]] = [
    ("mel-17GB", "dsp:mel_spectrogram", {"n_fft": 2**20, "n_mels": 4096}, False),
    ("mel-scale-huge-stft", "dsp:mel_scale", {"n_stft": 524288, "n_mels": 4096}, False),
    ("inverse-mel-huge", "dsp:inverse_mel_scale", {"n_stft": 524288, "n_mels": 4096}, False),
    (
        "resample-width-1024",
        "dsp:resample",
        {"orig_freq": 44100, "new_freq": 16001, "lowpass_filter_width": 1024},
        False,
    ),
    ("resample-coprime-huge", "dsp:resample", {"orig_freq": 9999991, "new_freq": 16000}, False),
    ("resample-coprime-up", "dsp:resample", {"orig_freq": 16000, "new_freq": 9999991}, False),
    (
        "resample-kaiser-fft-coprime",
        "dsp:resample",
        {
            "orig_freq": 9999991,
            "new_freq": 16000,
            "resampling_method": "sinc_interp_kaiser_fft",
            "lowpass_filter_width": 96,
            "rolloff": 0.955,
        },
        False,
    ),
    ("resample-rolloff-tiny", "dsp:resample", {"orig_freq": 44100, "new_freq": 16000, "rolloff": 1e-300}, False),
    ("resample-rolloff-small", "dsp:resample", {"orig_freq": 44100, "new_freq": 16000, "rolloff": 1e-9}, False),
    ("fade-2**31", "dsp:fade", {"fade_in_len": 2**31}, False),
    ("fade-out-2**31", "dsp:fade", {"fade_out_len": 2**31, "fade_shape": "logarithmic"}, False),
    ("spectrogram-pad-1e9", "dsp:spectrogram", {"pad": 10**9}, False),
    ("spectrogram-pad-hop-1", "dsp:spectrogram", {"pad": 2**20, "hop_length": 1, "n_fft": 4096}, False),
    ("spectrogram-hop-1e30", "dsp:spectrogram", {"hop_length": 10**30}, False),
    ("spectrogram-win-1e30", "dsp:spectrogram", {"win_length": 10**30}, False),
    ("mfcc-hop-1e30", "dsp:mfcc", {"melkwargs": {"hop_length": 10**30}}, False),
    ("mfcc-melkwargs-huge", "dsp:mfcc", {"melkwargs": {"n_fft": 2**20, "n_mels": 4096}}, False),
    ("lfcc-speckwargs-huge", "dsp:lfcc", {"speckwargs": {"n_fft": 2**20}, "n_filter": 4096}, False),
    ("time-stretch-1e-9", "dsp:time_stretch", {"fixed_rate": 1e-9}, False),
    ("random-time-stretch-1e-9", "dsp:random_time_stretch", {"min_rate": 1e-9, "max_rate": 1e-9}, False),
    ("pyin-resolution-1e-12", "dsp:pyin", {"resolution": 1e-12}, False),
    ("pyin-transition-1e308", "dsp:pyin", {"max_transition_rate": 1e308}, False),
    ("pyin-boltzmann-1e308", "dsp:pyin", {"boltzmann_parameter": 1e308}, False),
    ("pyin-thresholds-fmin", "dsp:pyin", {"n_thresholds": 10000, "f_min": 1e-6, "resolution": 0.01}, False),
    ("inverse-cqt-fmin-1e-6", "dsp:inverse_cqt", {"f_min": 1e-6}, False),
    ("cqt-fmin-1e-300", "dsp:cqt", {"f_min": 1e-300}, False),
    ("cqt-fmin-1e-6", "dsp:cqt", {"f_min": 1e-6}, False),
    ("vqt-fmin-1e-6-gamma", "dsp:vqt", {"f_min": 1e-6, "gamma": 1e5}, False),
    ("cqt-4096-bins", "dsp:cqt", {"n_bins": 4096, "bins_per_octave": 1024, "f_min": 1.0}, False),
    ("chroma-fft-huge", "dsp:chroma_spectrogram", {"n_fft": 2**20, "n_chroma": 1024}, False),
    ("griffin-lim-huge", "dsp:griffin_lim", {"n_fft": 2**20, "n_iter": 100000}, False),
    ("griffin-lim-iter", "dsp:griffin_lim", {"n_fft": 64, "n_iter": 100000}, False),
    ("pitch-shift-1e6", "dsp:pitch_shift", {"n_steps": 1e6}, False),
    ("pitch-shift-minus-1e6", "dsp:pitch_shift", {"n_steps": -1e6}, False),
    ("pitch-shift-bins", "dsp:pitch_shift", {"n_steps": 1000, "bins_per_octave": 1}, False),
    ("speed-tiny", "dsp:speed", {"factor": 1e-300}, False),
    ("speed-perturbation-tiny", "dsp:speed_perturbation", {"factors": [1e-300]}, False),
    ("speed-perturbation-huge", "dsp:speed_perturbation", {"factors": [1e300]}, False),
    ("speed-perturbation-many", "dsp:speed_perturbation", {"factors": [1.0 + i / 1e4 for i in range(3000)]}, False),
    ("mu-law-2**24", "dsp:mu_law_encoding", {"quantization_channels": 2**24}, False),
    ("deltas-4097", "dsp:compute_deltas", {"win_length": 4097}, False),
    ("masking-huge", "dsp:time_masking", {"time_mask_param": 2**30, "p": 1.0}, False),
    (
        "spec-augment-many",
        "dsp:spec_augment",
        {"n_time_masks": 1000, "time_mask_param": 2**30, "n_freq_masks": 1000, "freq_mask_param": 2**20},
        False,
    ),
    ("cmn-window-huge", "dsp:sliding_window_cmn", {"cmn_window": 10**7, "min_cmn_window": 10**7}, False),
    ("vad-huge-rate", "dsp:vad", {"sample_rate": 10**7}, False),
    ("vad-tiny-rate", "dsp:vad", {"sample_rate": 1}, False),
    ("loudness-huge-rate", "dsp:loudness", {"sample_rate": 10**7}, False),
    ("flanger-huge-rate", "dsp:flanger", {"sample_rate": 10**7, "delay": 30.0, "depth": 10.0}, False),
    ("phaser-huge-rate", "dsp:phaser", {"sample_rate": 10**7, "delay_ms": 5.0}, False),
    ("lowpass-cutoff-huge", "dsp:lowpass_biquad", {"sample_rate": 16000, "cutoff_freq": 1e308}, False),
    ("equalizer-center-huge", "dsp:equalizer_biquad", {"sample_rate": 16000, "center_freq": 1e308, "gain": 3}, False),
    ("detect-pitch-huge-window", "dsp:detect_pitch_frequency", {"win_length": 10000, "freq_low": 1e-300}, False),
    ("window-kwargs-cuda", "dsp:spectrogram", {"wkwargs": {"device": "cuda"}}, False),
    ("window-kwargs-pin-memory", "dsp:spectrogram", {"wkwargs": {"pin_memory": True}}, False),
    ("window-kwargs-meta", "dsp:spectrogram", {"wkwargs": {"device": "meta"}}, False),
    ("window-kwargs-dtype-int", "dsp:spectrogram", {"wkwargs": {"dtype": "int64"}}, False),
    ("window-kwargs-unknown", "dsp:spectrogram", {"wkwargs": {"nonsense": 1}}, False),
    ("window-kwargs-layout", "dsp:spectrogram", {"wkwargs": {"layout": "sparse"}}, False),
    ("window-kwargs-requires-grad", "dsp:spectrogram", {"wkwargs": {"requires_grad": True}}, False),
    ("window-kwargs-periodic-text", "dsp:spectrogram", {"wkwargs": {"periodic": "no"}}, False),
    ("kaiser-beta-huge", "dsp:spectrogram", {"window_fn": "kaiser", "wkwargs": {"beta": 1e308}}, False),
    ("mel-kwargs-unknown", "dsp:mfcc", {"melkwargs": {"nonsense": 1}}, False),
    ("mel-kwargs-sample-rate", "dsp:mfcc", {"melkwargs": {"sample_rate": 8000}}, False),
    ("rnnt-clamp-huge", "loss:rnnt", {"clamp": 1e308}, False),
    ("ctc-blank-huge", "loss:ctc", {"blank": 10**30}, False),
    ("rnnt-blank-huge", "loss:rnnt", {"blank": -(10**30)}, False),
    (
        "stft-loss-huge",
        "loss:multi_resolution_stft",
        {"fft_sizes": [2**24], "hop_sizes": [1], "win_lengths": [2**24]},
        False,
    ),
    (
        "stft-loss-many",
        "loss:multi_resolution_stft",
        {"fft_sizes": [64] * 5000, "hop_sizes": [1] * 5000, "win_lengths": [64] * 5000},
        False,
    ),
    ("stft-loss-eps-tiny", "loss:multi_resolution_stft", {"eps": 1e-320}, False),
    # lax coercion the strict types refuse
    ("sample-rate-true", "dsp:mel_spectrogram", {"sample_rate": True}, True),
    ("sample-rate-float", "dsp:mel_spectrogram", {"sample_rate": 16000.5}, True),
    ("sample-rate-2**31", "dsp:mel_spectrogram", {"sample_rate": 2**31}, True),
    ("n-fft-sexagesimal-text", "dsp:mel_spectrogram", {"n_fft": "8:32"}, True),
    ("n-fft-number-text", "dsp:spectrogram", {"n_fft": "512"}, True),
    ("center-no-text", "dsp:spectrogram", {"center": "no"}, True),
    ("center-zero", "dsp:spectrogram", {"center": 0}, True),
    ("normalized-no-text", "dsp:spectrogram", {"normalized": "no"}, True),
    ("power-true", "dsp:spectrogram", {"power": True}, True),
    ("power-nan", "dsp:spectrogram", {"power": float("nan")}, True),
    ("f-min-inf", "dsp:mel_spectrogram", {"f_min": float("inf")}, True),
    ("rolloff-text", "dsp:resample", {"rolloff": "0.9"}, True),
    ("freq-true", "dsp:resample", {"new_freq": True}, True),
    ("coefficients-text", "dsp:lfilter", {"a_coeffs": ["1", "0.5"], "b_coeffs": [1, 0]}, True),
    ("coefficients-bool", "dsp:lfilter", {"a_coeffs": [True, 0.5], "b_coeffs": [1, 0]}, True),
    ("coefficients-nan", "dsp:lfilter", {"a_coeffs": [float("nan")], "b_coeffs": [1.0]}, True),
    ("beta-parameters-text", "dsp:pyin", {"beta_parameters": ["2", "18"]}, True),
    ("factors-text", "dsp:speed_perturbation", {"orig_freq": 16000, "factors": ["1.1"]}, True),
    ("seed-true", "dsp:time_masking", {"time_mask_param": 3, "seed": True}, True),
    ("fft-sizes-text", "loss:multi_resolution_stft", {"fft_sizes": ["1024", "512", "256"]}, True),
    ("window-unknown", "dsp:spectrogram", {"window_fn": "os.system"}, True),
    ("dtype-unknown", "dsp:resample", {"dtype": "object"}, True),
]


@cache
def _base_params() -> Mapping[str, Mapping[str, Any]]:
    """The parameters the test suite builds each first-party component with (tests/conftest.py)."""
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("_tympan_tests_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.COMPONENT_PARAMS  # type: ignore[no-any-return]


def _exercise(name: str, params: Mapping[str, Any]) -> Any:
    def run(scratch: Path) -> None:
        from tympan.testing.fuzz import exercise

        exercise(name, params)

    return run


def _extremes(annotation_text: str, has_upper: bool) -> list[tuple[str, Any]]:
    """The edge values tried for a field whose JSON Schema type is ``annotation_text``."""
    if annotation_text == "integer":
        values = [("huge", 10**30), ("2**31", 2**31), ("true", True), ("text", "8:32")]
        return values if has_upper else [*values, ("2**40", 2**40)]
    if annotation_text == "number":
        return [("1e308", 1e308), ("1e-300", 1e-300), ("-1e308", -1e308), ("true", True), ("nan", float("nan"))]
    if annotation_text == "boolean":
        return [("no-text", "no"), ("one", 1)]
    return []


def _schema_types(schema: Mapping[str, Any]) -> set[str]:
    choices = schema.get("anyOf", [schema])
    return {choice.get("type") for choice in choices if isinstance(choice.get("type"), str)}


def _systematic() -> Iterator[Attack]:
    from tympan import registry
    from tympan.core.errors import PluginLoadError
    from tympan.core.params import params_of

    for entry in registry.entries():
        if entry.namespace not in ("dsp", "loss") or entry.kind not in ("transform", "effect", "loss"):
            continue  # the other plugins' components are covered by the fuzz (test_fuzz.py)
        try:
            component = entry.load()
        except PluginLoadError:
            continue  # a component the attacked version of tympan does not have (report.py on an older tree)
        base = dict(_base_params().get(entry.name, {}))
        schema = params_of(component).model_json_schema()
        for field, field_schema in schema.get("properties", {}).items():
            choices = field_schema.get("anyOf", [field_schema])
            has_upper = any("maximum" in c or "exclusiveMaximum" in c for c in choices)
            for kind in sorted(_schema_types(field_schema)):
                for label, value in _extremes(kind, has_upper):
                    params = {**base, field: value}
                    yield Attack(
                        FAMILY,
                        f"{entry.name}-{field}-{label}",
                        _exercise(entry.name, params),
                        refuse=False,
                        seconds=SECONDS,
                    )


def attacks() -> Iterator[Attack]:
    """The reported cases, then every first-party component's fields at their edges."""
    from tympan.core.errors import InvalidParameterError, TympanError

    for label, name, params, refuse in NAMED:
        error = InvalidParameterError if refuse else TympanError
        yield Attack(FAMILY, label, _exercise(name, params), refuse=refuse, error=error, seconds=SECONDS)
    yield from _systematic()
