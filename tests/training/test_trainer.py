"""Training runs on a tiny Speech Commands-layout corpus of tones: checkpoints that resume exactly, state files
that never run code, a full disk, non-finite losses, and the same recipe under ``torchrun`` (gloo, 2 ranks)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
import torch
import yaml

from tympan.core.errors import RunStateError, TrainingError
from tympan.training import state as run_state
from tympan.training.run import train

RECIPES = Path(__file__).parents[2] / "recipes"
RATE = 16000
WORDS = {"yes": 440.0, "no": 1250.0, "up": 2900.0}


def _clip(frequency: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(RATE // 4) / RATE
    return (0.4 * np.sin(2 * np.pi * frequency * (1 + 0.02 * rng.standard_normal()) * t)
            + 0.02 * rng.standard_normal(t.size)).astype(np.float32)  # fmt: skip


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``SpeechCommands/speech_commands_v0.02/<word>/<speaker>_nohash_<n>.wav``: a tone per word, 4 speakers."""
    root = tmp_path_factory.mktemp("tones")
    base = root / "SpeechCommands" / "speech_commands_v0.02"
    names = []
    for w, (word, frequency) in enumerate(WORDS.items()):
        for speaker in range(4):
            for take in range(2):
                name = f"{word}/{speaker:08x}_nohash_{take}.wav"
                (base / word).mkdir(parents=True, exist_ok=True)
                soundfile.write(base / name, _clip(frequency, 100 * w + 10 * speaker + take), RATE, subtype="FLOAT")
                names.append(name)
    held_out = [name for name in names if name.split("/")[1].startswith("00000003")]
    (base / "validation_list.txt").write_text("\n".join(held_out) + "\n")
    (base / "testing_list.txt").write_text("")
    return root


def _recipe(folder: Path, root: Path, **training: Any) -> Path:
    config = {
        "task": {"classification": {"labels": ["yes", "no"], "unknown_label": "_unknown_"}},
        "data": {
            "root": str(root),
            "train": {"data:speech_commands": {"subset": "training"}},
            "valid": {"data:speech_commands": {"subset": "validation"}},
            "max_seconds": 1.5,
            "num_buckets": 1,
            "num_workers": 0,
        },
        "features": {
            "sample_rate": RATE,
            "steps": [{"dsp:mel_spectrogram": {"n_mels": 16}}, {"dsp:amplitude_to_db": {}}],
        },
        "augment": [{"dsp:time_masking": {"time_mask_param": 3}}],
        "model": {"kws:conv_net": {"num_classes": 3, "n_input": 16, "n_channel": 4, "num_blocks": 1, "dropout": 0.3}},
        "loss": {"loss:cross_entropy": {}},
        "optimizer": {"AdamW": {"lr": 0.01}},
        "scheduler": {"StepLR": {"step_size": 3, "gamma": 0.5}},
        "training": {"epochs": 2, "log_every": 1, "checkpoint_every": 2, "keep_checkpoints": 10,
                     "deterministic": True, "device": "cpu", "threads": 1, **training},
        "logging": {"tensorboard": False, "progress": False},
    }  # fmt: skip
    path = folder / "recipe.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    return path


def _losses(run: Path) -> list[tuple[int, float]]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [(row["step"], row["train/loss"]) for row in rows if "train/loss" in row]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(path)


@pytest.mark.usefixtures("two_threads")
def test_a_resumed_run_equals_an_uninterrupted_one(tones: Path, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, tones)
    whole = tmp_path / "whole"
    results = train(recipe, run_dir=whole)
    # the recipe's one thread and determinism hold for the run only: the caller's settings are back
    assert torch.get_num_threads() == 2 and not torch.are_deterministic_algorithms_enabled()
    assert results["steps"] == 6 and results["epochs"] == 2 and json.loads((whole / "results.json").read_text())
    assert results["valid"].keys() == {"loss", "accuracy"}
    # resume a copy from a checkpoint in the middle of the first epoch (3 batches an epoch)
    steps = sorted(path.name for path in (whole / "checkpoints").glob("step-*"))
    assert steps == ["step-000000002", "step-000000003", "step-000000004", "step-000000006"]
    resumed = tmp_path / "resumed"
    shutil.copytree(whole, resumed)
    train(recipe, run_dir=resumed, resume=resumed / "checkpoints" / "step-000000002")
    assert _losses(resumed) == _losses(whole) and len(_losses(whole)) == 6
    before, after = _weights(whole / "model.safetensors"), _weights(resumed / "model.safetensors")
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    # --resume picks the latest; a checkpoint of another model is refused, naming the folder
    latest = run_state.latest_checkpoint(whole)
    assert latest is not None and latest.name == "step-000000006"
    other = _recipe(tmp_path / "other", tones)
    other.write_text(other.read_text().replace("n_channel: 4", "n_channel: 6"))
    with pytest.raises(RunStateError, match="step-000000006"):
        train(other, run_dir=whole, resume=True)


class _Payload:
    """An object whose unpickling would create a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_state_files_never_run_code(tmp_path: Path) -> None:
    folder = run_state.write_checkpoint(tmp_path, 1, {"model": {"w": torch.ones(2)}}, {"progress": {"step": 1}})
    marker = tmp_path / "ran"
    torch.save({"progress": _Payload(marker)}, folder / run_state.STATE)
    with pytest.raises(RunStateError, match="nothing in it was run"):
        run_state.read_checkpoint(folder, rank=0)
    assert not marker.exists()
    (folder / run_state.WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(RunStateError, match="unreadable weights"):
        run_state.read_checkpoint(folder, rank=0)


def test_a_full_disk_leaves_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_state.write_checkpoint(tmp_path, 1, {"model": {"w": torch.ones(2)}}, {"progress": {"step": 1}})

    def full(value: Any, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(run_state, "_save_torch", full)
    with pytest.raises(OSError, match="No space left"):
        run_state.write_checkpoint(tmp_path, 2, {"model": {"w": torch.zeros(2)}}, {"progress": {"step": 2}})
    assert run_state.latest_checkpoint(tmp_path) == first
    assert sorted(path.name for path in (tmp_path / "checkpoints").iterdir()) == ["latest", "step-000000001"]
    assert torch.equal(run_state.read_checkpoint(first, rank=0)[0]["w"], torch.ones(2))


def test_non_finite_losses_are_skipped_then_stop_the_run(tones: Path, tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    shutil.copytree(tones, root)
    broken = root / "SpeechCommands" / "speech_commands_v0.02" / "no" / "00000001_nohash_0.wav"
    soundfile.write(broken, np.full(RATE // 4, np.nan, np.float32), RATE, subtype="FLOAT")
    recipe = _recipe(tmp_path, root, epochs=1, checkpoint_every=None)
    with pytest.warns(UserWarning, match=r"non-finite loss .* no/00000001_nohash_0"):
        results = train(recipe, run_dir=tmp_path / "skipped")
    assert results["steps"] == 2  # three batches, the one with the NaN clip skipped
    with pytest.raises(TrainingError, match="1 non-finite losses in a row"), pytest.warns(UserWarning):
        train(recipe, ["training.max_bad_steps=1"], run_dir=tmp_path / "stopped")


def test_the_shipped_recipe_smoke_runs_under_torchrun(tones: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
        "-m", "tympan", "train", str(RECIPES / "speech_commands.yaml"), "--smoke", "--run-dir", str(run),
        "--set", f"data.root={tones}", "--set", "data.synthesize=null", "--set", "data.test=null",
        "--set", "training.device=cpu", "--set", "training.threads=1",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((run / "results.json").read_text())
    assert results["world_size"] == 2 and results["steps"] >= 1 and 0 <= results["valid"]["accuracy"] <= 1
    assert list((run / "tensorboard").glob("events.out.tfevents.*")) and (run / "model.safetensors").is_file()
    assert json.loads(done.stdout)["steps"] == results["steps"]  # one report, from rank 0


def test_kept_examples_train_as_computed_ones(tones: Path, tmp_path: Path) -> None:
    computed = _recipe(tmp_path / "computed", tones, epochs=1)
    kept = _recipe(tmp_path / "kept", tones, epochs=1)
    kept.write_text(kept.read_text().replace("num_workers: 0", "num_workers: 0\n  keep_examples: true"))
    train(computed, run_dir=tmp_path / "computed")
    train(kept, run_dir=tmp_path / "kept")
    assert _losses(tmp_path / "kept") == _losses(tmp_path / "computed") and len(_losses(tmp_path / "kept")) == 3


def test_validate_first_adds_a_step_zero_validation_and_changes_nothing_else(tones: Path, tmp_path: Path) -> None:
    plain = train(_recipe(tmp_path / "plain", tones, epochs=1), run_dir=tmp_path / "plain" / "run")
    first = train(_recipe(tmp_path / "first", tones, epochs=1, validate_first=True), run_dir=tmp_path / "first" / "run")
    baseline, *rest = first["history"]
    assert (baseline["epoch"], baseline["step"]) == (0, 0) and rest == plain["history"]
    assert _losses(tmp_path / "first" / "run") == _losses(tmp_path / "plain" / "run")
    assert baseline["loss"] != rest[0]["loss"]  # the step-0 validation saw other (the initial) weights
    rows = [json.loads(line) for line in (tmp_path / "first" / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[0] == {"step": 0, "valid/loss": baseline["loss"], "valid/accuracy": baseline["accuracy"]}
