"""The training tasks a recipe names under ``task``: what examples are, how the loss and the metrics are computed.

Example:
    >>> TASKS["ctc"].metrics
    ('loss', 'wer', 'cer')
"""

from __future__ import annotations

from tympan.training.tasks.base import Task
from tympan.training.tasks.classification import Classification
from tympan.training.tasks.ctc import CTC
from tympan.training.tasks.separation import Separation
from tympan.training.tasks.vocoder import Vocoder

__all__ = ["TASKS", "Task"]

#: The tasks by name.
TASKS: dict[str, type[Task]] = {task.name: task for task in (Classification, CTC, Separation, Vocoder)}
