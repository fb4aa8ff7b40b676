"""Recipe files: the shape, overrides, every name and parameter resolved and located before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from tympan.cli import cli
from tympan.core.errors import RecipeConfigError
from tympan.training.recipe import apply_overrides, parse_recipe, read_recipe
from tympan.training.resolve import resolve
from tympan.training.schema import recipe_schema

RECIPES = Path(__file__).parents[2] / "recipes"

BASE: dict[str, Any] = {
    "task": {"classification": {"labels": ["yes", "no"], "unknown_label": "_unknown_"}},
    "data": {"root": "corpora", "train": {"data:speech_commands": {"subset": "training"}}},
    "features": {"sample_rate": 16000, "steps": [{"dsp:mel_spectrogram": {"n_mels": 20}}]},
    "model": {"kws:conv_net": {"num_classes": 3}},
    "loss": {"loss:cross_entropy": {}},
    "optimizer": {"AdamW": {"lr": 0.001}},
}


def _problems(config: dict[str, object]) -> list[str]:
    with pytest.raises(RecipeConfigError) as caught:
        resolve(parse_recipe(config))
    return caught.value.problems


def test_a_valid_recipe_resolves_without_reading_data(tmp_path: Path) -> None:
    plan = resolve(parse_recipe({**BASE, "data": {**BASE["data"], "root": str(tmp_path / "absent")}}))
    assert plan.model.name == "kws:conv_net" and plan.datasets["train"].params["root"] == str(tmp_path / "absent")
    assert plan.metrics == ["loss", "accuracy"] and plan.features.step_names == ["dsp:mel_spectrogram"]
    assert not (tmp_path / "absent").exists()


def test_every_problem_is_located_at_once() -> None:
    config = apply_overrides(
        BASE,
        [
            "data.train.data:speech_commands.subset=train",
            "data.valid={data:librispech: {}}",
            "features.steps.0.dsp:mel_spectrogram.n_mels=-1",
            "augment=[{os.system: {}}]",
            "model.kws:conv_net.num_classes=1",
            "model.kws:conv_net.dropout=2",
            "loss={loss:ctc: {reduction: most}}",
            "decoders=[{decoder:ctc_greedy: {blank: -1}}]",
            "optimizer={Adamm: {lr: 0.1}}",
            "scheduler={ReduceLROnPlateau: {}}",
            "metrics=[accuracy, wer]",
        ],
    )
    problems = _problems(config)
    expected = [
        "data.train.data:speech_commands.subset: unknown subset 'train'",
        "data.valid.data:librispech: unknown dataset 'data:librispech'; did you mean: data:librispeech",
        "features.steps[0].dsp:mel_spectrogram.n_mels: Input should be greater than or equal to 1",
        "augment[0].os.system: dotted import paths are refused",
        "model.kws:conv_net.num_classes: Input should be greater than or equal to 2",
        "model.kws:conv_net.dropout: Input should be less than 1",
        "loss.loss:ctc.reduction: Input should be 'none', 'mean' or 'sum' (got 'most')",
        "decoders[0].decoder:ctc_greedy.blank: Input should be greater than or equal to 0 (got -1)",
        "optimizer.Adamm: not an optimiser of torch.optim; did you mean: Adam",
        "scheduler.ReduceLROnPlateau: ReduceLROnPlateau cannot be configured from a recipe",
        "metrics: 'wer' is not a metric of the classification task",
    ]
    for line in expected:
        assert any(problem.startswith(line) for problem in problems), (line, problems)
    assert len(problems) == len(expected), problems


def test_task_parameters_are_located() -> None:
    problems = _problems(apply_overrides(BASE, ["task.classification.label_field=3", "task.classification.x=1"]))
    assert problems == [
        "task.classification.label_field: Input should be a string, not an int (got 3)",
        "task.classification.x: unknown parameter",
    ]
    assert _problems(apply_overrides(BASE, ["task=classify"])) == [
        "task.classify: unknown task; did you mean: classification?"
    ]


def test_the_shape_is_checked_first_with_locations() -> None:
    with pytest.raises(RecipeConfigError) as caught:
        parse_recipe({**BASE, "training": {"epochs": 0, "precision": "fp8"}, "extra": 1, "model": {"a": 1, "b": 2}})
    assert caught.value.problems == [
        "model: Value error, expected one component name mapped to its parameters, got ['a', 'b'] "
        "(got {'a': 1, 'b': 2})",
        "training.epochs: Input should be greater than or equal to 1 (got 0)",
        "training.precision: Input should be 'fp32', 'bf16' or 'fp16' (got 'fp8')",
        "extra: unknown field",
    ]


def test_overrides_and_the_smoke_section(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({**BASE, "smoke": {"training.epochs": 1, "data.max_seconds": 4}}))
    recipe, config = read_recipe(path, ["training.epochs=3", "decoders=[]"], smoke=True)
    assert recipe.training.epochs == 3 and recipe.data.max_seconds == 4 and config["decoders"] == []
    for bad in (["training.epochs"], ["=3"], ["features.steps.7.x=1"], ["task.classification.labels.0.x=1"]):
        with pytest.raises(RecipeConfigError):
            read_recipe(path, bad)
    path.write_text(yaml.safe_dump(BASE))
    with pytest.raises(RecipeConfigError, match="--smoke needs a smoke section"):
        read_recipe(path, smoke=True)
    path.write_text("task: [unclosed\n")
    with pytest.raises(RecipeConfigError, match="line 2"):
        read_recipe(path)


@pytest.fixture(scope="module")
def schema_validator() -> Any:
    """A validator of the recipe schema, the schema itself checked once against its meta-schema (slow)."""
    schema = recipe_schema()
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


@pytest.mark.parametrize("recipe", sorted(RECIPES.glob("*.yaml")), ids=lambda path: path.stem)
def test_shipped_recipes_resolve_and_match_the_schema(recipe: Path, schema_validator: Any) -> None:
    config = yaml.safe_load(recipe.read_text())
    schema_validator.validate(config)
    for smoke in (False, True):
        parsed, _ = read_recipe(recipe, smoke=smoke)
        resolve(parsed)


def test_schema_command_and_check_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["schema", "--recipe"])
    assert result.exit_code == 0 and json.loads(result.output)["title"] == "tympan recipe"
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(apply_overrides(BASE, ["model.kws:conv_net.num_classes=4"])))
    result = CliRunner().invoke(cli, ["train", str(path), "--check"])
    assert result.exit_code == 1
    assert "model.kws:conv_net.num_classes: 4 differs from the task's 3 classes" in result.output
    result = CliRunner().invoke(cli, ["train", str(path), "--check", "--set", "model.kws:conv_net.num_classes=3"])
    assert result.exit_code == 0 and "ok (classification" in result.output


def test_examples_drawn_at_random_cannot_be_kept() -> None:
    config = yaml.safe_load((RECIPES / "separation_librimix_conv_tasnet.yaml").read_text())
    assert _problems(apply_overrides(config, ["data.keep_examples=true"])) == [
        "data.keep_examples: the separation task draws its examples at random each epoch; set false"
    ]
