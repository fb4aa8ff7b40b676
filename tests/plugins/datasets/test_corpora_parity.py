"""Every corpus against torchaudio 2.11's dataset of the same name, on a miniature copy of its layout.

The layouts are generated here: noise in the corpus's own format and rate, transcripts and lists of
invented words, plus the extra files real releases carry. torchaudio's datasets decode through its own
compiled IO, which is not installed here, so ``torchaudio.load`` is replaced by soundfile reading the same
file (``frame_offset``/``num_frames`` honoured): the items are then compared field by field, in order, and
waveforms sample for sample (tolerance 0: both read the same 16-bit PCM into float32 as value / 32768).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.datasets as ta

from tympan import registry

RNG = np.random.default_rng(0)


def _sf_load(path: Any, frame_offset: int = 0, num_frames: int = -1, **_: Any) -> tuple[torch.Tensor, int]:
    stop = None if num_frames < 0 else frame_offset + num_frames
    data, rate = soundfile.read(str(path), start=frame_offset, stop=stop, dtype="float32", always_2d=True)
    return torch.from_numpy(data.T.copy()), rate


@pytest.fixture(autouse=True)
def _soundfile_for_torchaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchaudio

    monkeypatch.setattr(torchaudio, "load", _sf_load)


def _audio(path: Path, rate: int, seconds: float = 0.05, channels: int = 1, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(rate * seconds) + int(RNG.integers(0, 50))
    noise = (RNG.standard_normal((frames, channels)) * 0.1).clip(-1, 1)
    soundfile.write(path, noise, rate, subtype="MPEG_LAYER_III" if fmt == "MP3" else "PCM_16", format=fmt)


def _text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _compare(ours: Any, theirs: Any, fields: list[str | None]) -> None:
    """Item by item: ``fields[k]`` names the record field of torchaudio's tuple position ``k``."""
    assert len(ours) == len(theirs) > 0
    for index in range(len(theirs)):
        expected, record = theirs[index], ours[index]
        assert ours.metadata(index).waveform is None
        for position, name in enumerate(fields):
            if name is None:
                continue
            value, want = getattr(record, name), expected[position]
            if isinstance(want, torch.Tensor):
                torch.testing.assert_close(value, want, rtol=0, atol=0)
            elif isinstance(want, list) and want and isinstance(want[0], torch.Tensor):
                assert len(value) == len(want) and all(torch.equal(a, b) for a, b in zip(value, want, strict=True))
            elif isinstance(want, str):
                assert value == want.rstrip("\r\n"), (index, name)
            elif isinstance(want, list):
                assert list(value) == want
            else:
                assert value == want, (index, name)
        assert record.duration == pytest.approx(record.num_frames / record.sample_rate)


def _librispeech(root: Path) -> None:
    for speaker, chapter, count in ((19, 198, 3), (26, 495, 2), (103, 1240, 2)):
        folder = root / "LibriSpeech" / "dev-clean" / str(speaker) / str(chapter)
        lines = [f"{speaker}-{chapter}-{i:04d} WORD{i} OTHER WORDS\n" for i in range(count)]
        _text(folder / f"{speaker}-{chapter}.trans.txt", "".join(lines))
        for i in range(count):
            _audio(folder / f"{speaker}-{chapter}-{i:04d}.flac", 16000)
    _text(root / "LibriSpeech" / "BOOKS.TXT", "books\n")
    _text(root / "LibriSpeech" / "SPEAKERS.TXT", "speakers\n")


def test_librispeech(tmp_path: Path) -> None:
    _librispeech(tmp_path)
    ours = registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean")
    theirs = ta.LIBRISPEECH(tmp_path, url="dev-clean")
    _compare(ours, theirs, ["waveform", "sample_rate", "transcript", "speaker_id", "chapter_id", "utterance_id"])
    assert [ours.metadata(i).id for i in range(len(ours))][:2] == ["103-1240-0000", "103-1240-0001"]
    for index in range(len(theirs)):  # get_metadata: the relative path and the same fields
        meta = theirs.get_metadata(index)
        assert ours.metadata(index).path == str(tmp_path / "LibriSpeech" / meta[0])


def test_libritts(tmp_path: Path) -> None:
    for speaker, chapter in ((84, 121123), (174, 50561)):
        folder = tmp_path / "LibriTTS" / "dev-clean" / str(speaker) / str(chapter)
        for segment in range(2):
            stem = f"{speaker}_{chapter}_{segment:06d}_000001"
            _audio(folder / f"{stem}.wav", 24000)
            _text(folder / f"{stem}.original.txt", f"Original {segment}, text!")
            _text(folder / f"{stem}.normalized.txt", f"Normalized {segment} text")
        _text(folder / f"{speaker}_{chapter}.book.tsv", "x\n")
    ours = registry.create("data:libritts", root=str(tmp_path), subset="dev-clean")
    theirs = ta.LIBRITTS(tmp_path, url="dev-clean")
    fields = ["waveform", "sample_rate", "original_text", "normalized_text", "speaker_id", "chapter_id", "utterance_id"]
    _compare(ours, theirs, fields)


def test_librilight_limited(tmp_path: Path) -> None:
    base = tmp_path / "librispeech_finetuning"
    for folder, speaker in (("1h/0/clean", 19), ("1h/0/other", 26), ("1h/1/clean", 32), ("9h/clean", 40)):
        chapter = base / folder / str(speaker) / "100"
        _text(chapter / f"{speaker}-100.trans.txt", f"{speaker}-100-0000 A B\n{speaker}-100-0001 C\n")
        for i in range(2):
            _audio(chapter / f"{speaker}-100-{i:04d}.flac", 16000)
    for subset in ("10min", "1h", "10h"):
        ours = registry.create("data:librilight_limited", root=str(tmp_path), subset=subset)
        theirs = ta.LibriLightLimited(tmp_path, subset=subset)
        _compare(ours, theirs, ["waveform", "sample_rate", "transcript", "speaker_id", "chapter_id", "utterance_id"])


def _speech_commands(root: Path) -> Path:
    base = root / "SpeechCommands" / "speech_commands_v0.02"
    names = []
    for word in ("yes", "no", "up"):
        for speaker in ("0a7c2a8d", "c1d39ce8"):
            for take in range(2):
                name = f"{word}/{speaker}_nohash_{take}.wav"
                _audio(base / name, 16000)
                names.append(name)
    _audio(base / "_background_noise_" / "white_noise.wav", 16000)
    _text(base / "_background_noise_" / "README.md", "noise\n")
    _text(base / "validation_list.txt", "\n".join(names[1::5]) + "\n")
    _text(base / "testing_list.txt", "\n".join(names[2::5]) + "\n")
    _text(base / "LICENSE", "CC BY 4.0\n")
    return base


@pytest.mark.parametrize("subset", [None, "training", "validation", "testing"])
def test_speech_commands(tmp_path: Path, subset: str | None) -> None:
    _speech_commands(tmp_path)
    ours = registry.create("data:speech_commands", root=str(tmp_path), subset=subset)
    theirs = ta.SPEECHCOMMANDS(tmp_path, subset=subset)
    _compare(ours, theirs, ["waveform", "sample_rate", "label", "speaker_id", "utterance_number"])


def test_ljspeech(tmp_path: Path) -> None:
    base = tmp_path / "LJSpeech-1.1"
    rows = [("LJ001-0001", "Printing, in the only sense", "printing, in the only sense"),
            ("LJ001-0002", "Mr. Smith's 1st book", "Mister Smith's first book"),
            ("LJ002-0001", 'He said "hi"', 'He said "hi"')]  # fmt: skip
    _text(base / "metadata.csv", "".join("|".join(row) + "\n" for row in rows))
    for key, _, _ in rows:
        _audio(base / "wavs" / f"{key}.wav", 22050)
    _text(base / "README", "LJ\n")
    ours = registry.create("data:ljspeech", root=str(tmp_path))
    _compare(ours, ta.LJSPEECH(tmp_path), ["waveform", "sample_rate", "transcript", "normalized_transcript"])


@pytest.mark.parametrize("mic_id", ["mic1", "mic2"])
def test_vctk(tmp_path: Path, mic_id: str) -> None:
    base = tmp_path / "VCTK-Corpus-0.92"
    for speaker in ("p225", "p280", "p362"):
        for utterance in ("001", "002"):
            _text(base / "txt" / speaker / f"{speaker}_{utterance}.txt", f"Please call Stella {utterance}.\n")
            if speaker == "p280" and mic_id == "mic2":
                continue
            if speaker == "p362" and utterance == "002":
                continue
            _audio(base / "wav48_silence_trimmed" / speaker / f"{speaker}_{utterance}_{mic_id}.flac", 48000)
    _audio(base / "wav48_silence_trimmed" / "p315" / f"p315_001_{mic_id}.flac", 48000)  # no transcripts
    _text(base / "speaker-info.txt", "ID AGE\n")
    ours = registry.create("data:vctk", root=str(tmp_path), mic_id=mic_id)
    theirs = ta.VCTK_092(str(tmp_path), mic_id=mic_id)
    _compare(ours, theirs, ["waveform", "sample_rate", "transcript", "speaker_id", "utterance_id"])


def test_yesno(tmp_path: Path) -> None:
    for name in ("0_0_1_1", "1_0_1_0", "0_1_0_0"):
        _audio(tmp_path / "waves_yesno" / f"{name}.wav", 8000)
    _text(tmp_path / "waves_yesno" / "README", "yes no\n")
    _compare(
        registry.create("data:yesno", root=str(tmp_path)), ta.YESNO(tmp_path), ["waveform", "sample_rate", "labels"]
    )


def test_cmu_arctic(tmp_path: Path) -> None:
    base = tmp_path / "ARCTIC" / "cmu_us_aew_arctic"
    lines = [f'( arctic_a{i:04d} "Author of the danger trail, number {i}." )\n' for i in range(1, 4)]
    _text(base / "etc" / "txt.done.data", "".join(lines))
    for i in range(1, 4):
        _audio(base / "wav" / f"arctic_a{i:04d}.wav", 16000)
    _text(base / "COPYING", "free\n")
    ours = registry.create("data:cmu_arctic", root=str(tmp_path), subset="aew")
    _compare(ours, ta.CMUARCTIC(tmp_path, url="aew"), ["waveform", "sample_rate", "transcript", "utterance_id"])


def test_gtzan(tmp_path: Path) -> None:
    for genre in ("blues", "jazz", "rock"):
        for number in (0, 1):
            _audio(tmp_path / "genres" / genre / f"{genre}.{number:05d}.wav", 22050)
    _text(tmp_path / "genres" / "jazz" / "notes.txt", "x\n")
    _audio(tmp_path / "genres" / "jazz" / "jazz.1.wav", 22050)  # not <genre>.<5 digits>
    _compare(
        registry.create("data:gtzan", root=str(tmp_path)), ta.GTZAN(tmp_path), ["waveform", "sample_rate", "label"]
    )


def test_common_voice(tmp_path: Path) -> None:
    header = ["client_id", "path", "sentence", "up_votes", "down_votes", "age", "gender", "accent"]
    rows = [[f"client{i}", f"common_voice_en_{i}.mp3", f"Sentence number {i}.", "2", "0", "", "", ""] for i in range(3)]
    with open(tmp_path / "train.tsv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter="\t").writerows([header, *rows])
    for row in rows:
        _audio(tmp_path / "clips" / row[1], 48000, fmt="MP3")
    ours = registry.create("data:common_voice", root=str(tmp_path), subset="train")
    theirs = ta.COMMONVOICE(tmp_path)
    assert len(ours) == len(theirs) == 3
    for index in range(3):
        waveform, rate, fields = theirs[index]
        record = ours[index]
        assert record.fields == fields and record.sample_rate == rate and record.transcript == fields["sentence"]
        torch.testing.assert_close(record.waveform, waveform, rtol=0, atol=0)  # both decode with libsndfile


@pytest.mark.parametrize("release", ["release1", "release3"])
def test_tedlium(tmp_path: Path, release: str) -> None:
    folder = {"release1": "TEDLIUM_release1/train", "release3": "TEDLIUM_release-3/data"}[release]
    base = tmp_path / folder
    for talk in ("AaronHuey_2010X", "BillGates_2010"):
        _audio(base / "sph" / f"{talk}.sph", 16000, seconds=2.0, fmt="NIST")
        lines = [
            f"{talk} 1 {talk} 0.00 0.55 <o,f0,male> hello there\n",
            f"{talk} 1 inter_segment_gap 0.55 0.80 <o,,unknown> ignore_time_segment_in_scoring\n",
            f"{talk} 1 {talk} 0.80 1.91 <o,f0,male> we were talking\n",
        ]
        _text(base / "stm" / f"{talk}.stm", "".join(lines))
    ours = registry.create("data:tedlium", root=str(tmp_path), release=release, subset="train")
    theirs = ta.TEDLIUM(tmp_path, release=release, subset="train")
    _compare(ours, theirs, ["waveform", "sample_rate", "transcript", "talk_id", "speaker_id", "identifier"])


@pytest.mark.parametrize("task", ["sep_clean", "enh_both"])
def test_librimix(tmp_path: Path, task: str) -> None:
    base = tmp_path / "Libri2Mix" / "wav8k" / "min" / "dev"
    for name in ("1272-128104-0000_2035-147961-0014", "1272-135031-0011_1462-170142-0011"):
        for folder in ("mix_clean", "mix_both", "s1", "s2", "noise"):
            RNG_state = RNG.bit_generator.state
            _audio(base / folder / f"{name}.wav", 8000, seconds=0.1)
            RNG.bit_generator.state = RNG_state  # equal lengths across folders
        RNG.standard_normal(3)
    _text(tmp_path / "Libri2Mix" / "wav8k" / "min" / "metadata" / "mixture_dev_mix_clean.csv", "mixture_ID\n")
    ours = registry.create("data:librimix", root=str(tmp_path), subset="dev", task=task)
    theirs = ta.LibriMix(tmp_path, subset="dev", task=task)
    assert len(ours) == len(theirs) == 2
    for index in range(2):
        rate, mixture, sources = theirs[index]
        record = ours[index]
        assert record.sample_rate == rate and torch.equal(record.waveform, mixture)
        assert len(record.sources) == len(sources) and all(
            torch.equal(a, b) for a, b in zip(record.sources, sources, strict=True)
        )
        meta = theirs.get_metadata(index)
        assert record.path == str(tmp_path / "Libri2Mix" / meta[1])


def test_musdb18_hq(tmp_path: Path) -> None:
    for subset, tracks in (("train", ["A Band - Song", "Actions - One Minute Smile"]), ("test", ["Z - Last"])):
        for track in tracks:
            state = RNG.bit_generator.state
            for stem in ("bass", "drums", "other", "vocals", "mixture"):
                RNG.bit_generator.state = state
                _audio(tmp_path / "musdb18hq" / subset / track / f"{stem}.wav", 44100, channels=2)
    for subset, split in (("train", None), ("train", "train"), ("test", None)):
        ours = registry.create("data:musdb18_hq", root=str(tmp_path), subset=subset, split=split)
        theirs = ta.MUSDB_HQ(tmp_path, subset=subset, split=split)
        _compare(ours, theirs, ["waveform", "sample_rate", "num_frames", "name"])


def test_fluent_speech_commands(tmp_path: Path) -> None:
    base = tmp_path / "fluent_speech_commands_dataset"
    rows = [["", "path", "speakerId", "transcription", "action", "object", "location"]]
    for i, speaker in enumerate(("2BqVo8kVB2Skwgyb", "4BrX8aDqK2cLZRYl", "2BqVo8kVB2Skwgyb")):
        rows.append(
            [
                str(i),
                f"wavs/speakers/{speaker}/utt{i}.wav",
                speaker,
                f"Turn on the lights {i}",
                "activate",
                "lights",
                "none",
            ]
        )
        _audio(base / "wavs" / "speakers" / speaker / f"utt{i}.wav", 16000)
    (base / "data").mkdir(parents=True)
    with open(base / "data" / "valid_data.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    ours = registry.create("data:fluent_speech_commands", root=str(tmp_path), subset="valid")
    theirs = ta.FluentSpeechCommands(tmp_path, subset="valid")
    fields = ["waveform", "sample_rate", "file_name", "speaker_id", "transcription", "action", "object", "location"]
    _compare(ours, theirs, fields)


def test_voxceleb1(tmp_path: Path) -> None:
    paths = [
        "id10001/1zcIwhmdeo4/00001.wav",
        "id10001/1zcIwhmdeo4/00002.wav",
        "id10270/5r0dWxy17C8/00001.wav",
        "id10270/x6uYqmx31kE/00003.wav",
    ]
    for path in paths:
        _audio(tmp_path / "wav" / path, 16000)
    _text(tmp_path / "iden_split.txt", "".join(f"{1 + i % 3} {path}\n" for i, path in enumerate(paths)))
    _text(tmp_path / "veri_test.txt", f"1 {paths[0]} {paths[1]}\n0 {paths[0]} {paths[2]}\n")
    for subset in ("train", "test"):
        ours = registry.create("data:voxceleb1_identification", root=str(tmp_path), subset=subset)
        theirs = ta.VoxCeleb1Identification(tmp_path, subset=subset)
        _compare(ours, theirs, ["waveform", "sample_rate", "speaker_id", "file_id"])
    ours = registry.create("data:voxceleb1_verification", root=str(tmp_path))
    theirs = ta.VoxCeleb1Verification(tmp_path)
    _compare(ours, theirs, ["waveform", "waveform2", "sample_rate", "label", "file_id_spk1", "file_id_spk2"])


def test_quesst14(tmp_path: Path) -> None:
    base = tmp_path / "quesst14Database"
    listing = []
    for i, language in enumerate(("nnenglish", "czech", "nnenglish")):
        _audio(base / "Audio" / f"quesst14_{i:05d}.wav", 8000)
        listing.append(f"quesst14Database/Audio/quesst14_{i:05d}.wav {language}\n")
    _text(base / "scoring" / "language_key_utterances.lst", "".join(listing))
    for language in ("nnenglish", None):
        ours = registry.create("data:quesst14", root=str(tmp_path), subset="docs", language=language)
        theirs = ta.QUESST14(tmp_path, subset="docs", language=language)
        _compare(ours, theirs, ["waveform", "sample_rate", "file_name"])


def test_snips(tmp_path: Path) -> None:
    base = tmp_path / "SNIPS"
    lines = []
    for speaker in ("Aditi", "Brian"):
        for i in range(2):
            name = f"{speaker}-valid-{i}"
            _audio(base / "valid" / f"{name}.wav", 16000)
            lines.append(f"{name} BOS turn on the light {i} EOS\tO O O O B-light O SwitchLightOn\n")
    _text(base / "all.iob.snips.txt", "".join(lines))
    ours = registry.create("data:snips", root=str(tmp_path), subset="valid", audio_format="wav")
    theirs = ta.Snips(tmp_path, subset="valid", audio_format="wav")
    _compare(ours, theirs, ["waveform", "sample_rate", "file_name", "transcript", "iob", "intent"])


def test_iemocap(tmp_path: Path) -> None:
    session = tmp_path / "IEMOCAP" / "Session1"
    table = []
    for dialog, utterances in (
        ("Ses01F_impro01", ["Ses01F_impro01_F000", "Ses01F_impro01_M001"]),
        ("Ses01M_script01_1", ["Ses01M_script01_1_F002"]),
    ):
        for utterance, label in zip(utterances, ("neu", "xxx", "ang"), strict=False):
            _audio(session / "sentences" / "wav" / dialog / f"{utterance}.wav", 16000)
            table.append(f"[6.2 - 8.2]\t{utterance}\t{label}\t[2.5, 2.5, 2.5]\n")
        _text(session / "dialog" / "EmoEvaluation" / f"{dialog}.txt", "% header\n" + "".join(table))
        table = []
    for kind in (None, "improvised"):
        ours = registry.create("data:iemocap", root=str(tmp_path), sessions=(1,), utterance_type=kind)
        theirs = ta.IEMOCAP(tmp_path, sessions=(1,), utterance_type=kind)
        _compare(ours, theirs, ["waveform", "sample_rate", "wav_stem", "label", "speaker"])


BUILDERS: dict[str, Callable[[Path], Any]] = {"librispeech": _librispeech, "speech_commands": _speech_commands}
