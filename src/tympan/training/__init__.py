"""Training recipes run by name: ``tympan train RECIPE.yaml``, alone or under ``torchrun`` (DDP).

A recipe (:mod:`.recipe`) names the corpora, the feature pipeline, the model, the loss, the decoders, the
``torch.optim`` optimiser and schedule; :func:`train` validates all of it (:mod:`.resolve`) before reading
any data, builds the run (:mod:`.build`) and trains it (:mod:`.trainer`) with checkpoints that resume
exactly (:mod:`.state`) and logs (:mod:`.logs`). The tasks (:mod:`.tasks`) say what an example, a loss and
a metric are for classification, CTC speech recognition, source separation and vocoding.

Example:
    >>> from tympan.training import parse_recipe
    >>> parse_recipe({"task": "ctc", "data": {"train": "data:librispeech"}, "model": "asr:wav2letter",
    ...               "loss": "loss:ctc", "optimizer": "Adam"}).data.max_seconds
    60.0
"""

from __future__ import annotations

from tympan._lazy import lazy_attributes

_LAZY = {
    "Recipe": "tympan.training.recipe",
    "parse_recipe": "tympan.training.recipe",
    "read_recipe": "tympan.training.recipe",
    "apply_overrides": "tympan.training.recipe",
    "resolve": "tympan.training.resolve",
    "recipe_schema": "tympan.training.schema",
    "train": "tympan.training.run",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes("tympan.training", _LAZY, globals())
