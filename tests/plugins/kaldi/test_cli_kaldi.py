"""``tympan kaldi ...``: Kaldi's programs with Kaldi's spellings.

The table commands are checked against kaldiio's reading of what they write (tolerance 0, or exactly
kaldiio's decoding for compressed output). The feature commands run components found in the registry:
where a component is installed its output is compared with kaldi-native-fbank, which reproduces the Kaldi
binaries (rtol 1e-4 / atol 1e-4 on log features, 1e-5 on deltas, splicing and CMVN); where it is not, the
command must say so by name and exit 1.
"""

from __future__ import annotations

import pathlib

import kaldi_native_fbank as knf
import kaldiio
import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from tympan.cli import cli
from tympan.plugins.kaldi import io as kaldi_io
from tympan.plugins.kaldi.commands import features as feature_commands


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["kaldi", *args])
    return result.exit_code, result.output


def _features(folder: pathlib.Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    items = {f"utt{i}": rng.standard_normal((40 + 7 * i, 13)).astype(np.float32) for i in range(4)}
    kaldiio.save_ark(str(folder / "in.ark"), items, scp=str(folder / "in.scp"))
    return items


def test_copy_feats_compress_and_frame_counts(tmp_path: pathlib.Path) -> None:
    items = _features(tmp_path)
    code, output = _run(
        "copy-feats",
        "--compress=true",
        "--compression-method=2",
        f"--write-num-frames=ark,t:{tmp_path}/utt2num_frames",
        f"scp:{tmp_path}/in.scp",
        f"ark,scp:{tmp_path}/out.ark,{tmp_path}/out.scp",
    )
    assert code == 0, output
    ours = dict(kaldi_io.read(f"scp:{tmp_path}/out.scp"))
    theirs = kaldiio.load_scp(str(tmp_path / "out.scp"))
    for key, original in items.items():
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key])  # tolerance 0: the same decoding
        assert np.abs(theirs[key] - original).max() < np.ptp(original) / 63  # within one CM step
    counts = (tmp_path / "utt2num_frames").read_text().split("\n")
    assert counts[:2] == ["utt0 40 ", "utt1 47 "]


def test_feat_to_dim_and_len(tmp_path: pathlib.Path) -> None:
    items = _features(tmp_path)
    assert _run("feat-to-dim", f"scp:{tmp_path}/in.scp", "-") == (0, "13\n")
    assert _run("feat-to-dim", f"ark:{tmp_path}/in.ark") == (0, "13\n")
    code, output = _run("feat-to-len", f"scp:{tmp_path}/in.scp", f"ark,t:{tmp_path}/lens")
    assert code == 0, output
    lengths = dict(kaldiio.load_ark(str(tmp_path / "lens")))
    assert {k: int(v[0]) for k, v in lengths.items()} == {k: v.shape[0] for k, v in items.items()}
    location = (tmp_path / "in.scp").read_text().split()[1]
    assert _run("feat-to-len", location) == (0, "40\n")


def test_config_files_underscores_and_single_objects(tmp_path: pathlib.Path) -> None:
    _features(tmp_path)
    (tmp_path / "copy.conf").write_text("# compress everything\n--compress=true\n--compression_method=3  # CM2\n")
    config = f"--config={tmp_path}/copy.conf"
    code, output = _run("copy-feats", config, "--verbose=2", f"ark:{tmp_path}/in.ark", f"ark:{tmp_path}/c.ark")
    assert code == 0, output
    assert (tmp_path / "c.ark").read_bytes()[:10] == b"utt0 \0BCM2"
    location = (tmp_path / "in.scp").read_text().split()[1]
    assert _run("copy-feats", "--binary=false", location, str(tmp_path / "one.txt"))[0] == 0
    assert (tmp_path / "one.txt").read_text().startswith(" [\n  ")


def test_paste_feats(tmp_path: pathlib.Path) -> None:
    items = _features(tmp_path)
    other = {k: v[:-1, :2] * 2 for k, v in items.items()}
    kaldiio.save_ark(str(tmp_path / "b.ark"), other)
    code, output = _run("paste-feats", f"ark:{tmp_path}/in.ark", f"ark:{tmp_path}/b.ark", f"ark:{tmp_path}/p.ark")
    assert code == 1 and "skipping utt0" in output  # lengths differ by one frame: over the default tolerance
    code, output = _run(
        "paste-feats",
        "--length-tolerance=1",
        f"ark:{tmp_path}/in.ark",
        f"ark:{tmp_path}/b.ark",
        f"ark:{tmp_path}/p.ark",
    )
    assert code == 0, output
    for key, value in kaldiio.load_ark(str(tmp_path / "p.ark")):
        expected = np.concatenate([items[key][:-1], other[key]], axis=1)
        np.testing.assert_array_equal(value, expected)  # tolerance 0


def test_errors_are_one_line_and_pipes_refused(tmp_path: pathlib.Path) -> None:
    _features(tmp_path)
    code, output = _run("copy-feats", f"ark:cat {tmp_path}/in.ark |", f"ark:{tmp_path}/o.ark")
    assert code == 1 and "allow_pipes" in output
    code, output = _run("copy-feats", "--allow-pipes", f"ark:cat {tmp_path}/in.ark |", f"ark:{tmp_path}/o.ark")
    assert code == 0, output
    (tmp_path / "bad.ark").write_bytes(b"x \0BZZ 1")
    code, output = _run("copy-feats", f"ark:{tmp_path}/bad.ark", f"ark:{tmp_path}/o2.ark")
    assert code == 1 and "unknown token 'ZZ'" in output and not (tmp_path / "o2.ark").exists()


def test_a_missing_component_is_named(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _features(tmp_path)
    missing = feature_commands.FeatureCommand("kaldi:no_such_thing", [("--delta-order", int, 2, "")])
    monkeypatch.setitem(feature_commands.FRAME_COMMANDS, "add-deltas", missing)
    code, output = _run("add-deltas", f"ark:{tmp_path}/in.ark", f"ark:{tmp_path}/d.ark")
    assert code == 1 and "kaldi:no_such_thing is not available" in output


def _wav_dir(folder: pathlib.Path) -> pathlib.Path:
    rng = np.random.default_rng(1)
    lines = []
    for index, seconds in enumerate((1.0, 0.37)):
        samples = (rng.uniform(-0.3, 0.3, int(16000 * seconds)) * 32767).astype(np.int16)
        soundfile.write(folder / f"r{index}.wav", samples, 16000, subtype="PCM_16")
        lines.append(f"r{index} {folder}/r{index}.wav\n")
    (folder / "wav.scp").write_text("".join(lines))
    (folder / "segments").write_text("r0-a r0 0.1 0.6\nr1-a r1 0.0 -1\n")
    return folder


def _knf_features(samples: np.ndarray, kind: str, bins: int) -> np.ndarray:
    options = knf.FbankOptions() if kind == "fbank" else knf.MfccOptions()
    options.frame_opts.dither = 0.0
    options.mel_opts.num_bins = bins
    options.energy_floor = 0.0  # Kaldi's default for its programs
    extractor = knf.OnlineFbank(options) if kind == "fbank" else knf.OnlineMfcc(options)
    extractor.accept_waveform(16000, samples.tolist())
    extractor.input_finished()
    return np.stack([extractor.get_frame(i) for i in range(extractor.num_frames_ready)])


@pytest.mark.parametrize("kind", ["fbank", "mfcc"])
def test_compute_feats_with_segments(tmp_path: pathlib.Path, kind: str) -> None:
    folder = _wav_dir(tmp_path)
    args = [f"compute-{kind}-feats", "--dither=0", "--num-mel-bins=40", f"--segments={folder}/segments"]
    code, output = _run(*args, f"scp:{folder}/wav.scp", f"ark,scp:{folder}/feats.ark,{folder}/feats.scp")
    assert code == 0, output
    features = dict(kaldi_io.read(f"scp:{folder}/feats.scp"))
    for key, path, start, end in (("r0-a", "r0.wav", 1600, 9600), ("r1-a", "r1.wav", 0, None)):
        samples, _ = soundfile.read(folder / path, dtype="int16")
        expected = _knf_features(samples[start:end].astype(np.float32), kind, 40)
        np.testing.assert_allclose(features[key].numpy(), expected, rtol=1e-4, atol=1e-4)  # log features


def test_deltas_splicing_and_cmvn(tmp_path: pathlib.Path) -> None:
    items = _features(tmp_path)
    commands = {
        "add-deltas": ["--delta-order=2", "--delta-window=2"],
        "splice-feats": ["--left-context=2", "--right-context=1"],
    }
    for name, options in commands.items():
        code, output = _run(name, *options, f"ark:{tmp_path}/in.ark", f"ark:{tmp_path}/{name}.ark")
        assert code == 0, output
        for key, value in kaldi_io.read(f"ark:{tmp_path}/{name}.ark"):
            if name == "add-deltas":
                delta = knf.DeltaOptions()
                delta.order, delta.window = 2, 2
                expected = knf.compute_deltas(delta, items[key])
            else:
                expected = _splice(items[key], 2, 1)
            np.testing.assert_allclose(value.numpy(), expected, rtol=1e-5, atol=1e-5)
    code, output = _run("compute-cmvn-stats", f"ark:{tmp_path}/in.ark", f"ark:{tmp_path}/cmvn.ark")
    assert code == 0, output
    stats, inputs, output_ark = f"ark:{tmp_path}/cmvn.ark", f"ark:{tmp_path}/in.ark", f"ark:{tmp_path}/n.ark"
    code, output = _run("apply-cmvn", "--norm-vars=true", stats, inputs, output_ark)
    assert code == 0, output
    for key, value in kaldi_io.read(f"ark:{tmp_path}/n.ark"):
        expected = (items[key] - items[key].mean(0)) / items[key].std(0)
        np.testing.assert_allclose(value.numpy(), expected, rtol=1e-4, atol=1e-4)


def _splice(features: np.ndarray, left: int, right: int) -> np.ndarray:
    options = knf.SpliceOptions()
    options.left_context, options.right_context = left, right
    return knf.splice_frames(features, options)  # type: ignore[attr-defined]
