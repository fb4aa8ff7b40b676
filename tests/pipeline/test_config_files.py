"""Configuration files: YAML, TOML and JSON read alike; duplicates, tags and bad syntax are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tympan.core.errors import PipelineConfigError
from tympan.pipeline import parse_config_text, read_config_file

SAME = {
    "yaml": "version: 1\nsample_rate: 44100\nsteps:\n  - sox:gain: {gain_db: -3}\n  - resample: {new_freq: 16000}\n",
    "toml": (
        'version = 1\nsample_rate = 44100\n[[steps]]\n"sox:gain" = {gain_db = -3}\n'
        "[[steps]]\nresample = {new_freq = 16000}\n"
    ),
    "json": (
        '{"version": 1, "sample_rate": 44100, '
        '"steps": [{"sox:gain": {"gain_db": -3}}, {"resample": {"new_freq": 16000}}]}'
    ),
}


def test_the_three_formats_read_to_the_same_mapping(tmp_path: Path) -> None:
    expected = {
        "version": 1,
        "sample_rate": 44100,
        "steps": [{"sox:gain": {"gain_db": -3}}, {"resample": {"new_freq": 16000}}],
    }
    for format, text in SAME.items():
        assert parse_config_text(text, format) == expected
        path = tmp_path / f"pipe.{format}"
        path.write_text(text)
        assert read_config_file(path) == expected


@pytest.mark.parametrize(
    ("format", "text", "expected"),
    [
        ("yaml", "version: 1\nsteps: []\nsteps: []\n", "line 3, column 1: duplicate key 'steps' (first at line 2)"),
        ("yaml", "steps:\n  - mfcc: {n_mfcc: 1, n_mfcc: 2}\n", "duplicate key 'n_mfcc'"),
        ("json", '{"steps": [], "steps": []}', "duplicate key 'steps'"),
        ("toml", "version = 1\nversion = 2\n", "Cannot overwrite a value (at line 2"),
    ],
)
def test_duplicate_keys_are_errors(format: str, text: str, expected: str) -> None:
    with pytest.raises(PipelineConfigError) as err:
        parse_config_text(text, format, source="pipe")
    assert expected in str(err.value) and "pipe" in str(err.value)


def test_python_tags_are_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"steps:\n  - !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(
        PipelineConfigError,
        match=r"line 2, column 5: tag not allowed: 'tag:yaml.org,2002:python/object/apply:os.system'",
    ):
        parse_config_text(text, "yaml")
    assert not marker.exists()


def test_syntax_errors_carry_the_location() -> None:
    with pytest.raises(PipelineConfigError, match=r"line 1, column 12: Expecting value"):
        parse_config_text('{"steps": [}', "json")
    with pytest.raises(PipelineConfigError, match=r"line 3, column 1: .*expected ','"):
        parse_config_text("steps:\n  - [unclosed\n", "yaml")


def test_unknown_suffix_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(PipelineConfigError, match=r"unknown configuration suffix '\.ini'"):
        read_config_file(tmp_path / "pipe.ini")
    with pytest.raises(PipelineConfigError, match="cannot read"):
        read_config_file(tmp_path / "missing.yaml")
