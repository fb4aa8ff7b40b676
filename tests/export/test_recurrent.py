"""Recurrent layers export as loops over a dynamic number of steps, also once the operator ran compiled."""

from __future__ import annotations

import torch

from tympan.export import recurrent_layers_as_loops
from tympan.plugins.models.tts.tacotron2 import _lstm_direction


class _OperatorLSTM(torch.nn.Module):
    """One LSTM direction called as the operator, as the Tacotron 2 encoder calls it (``torch.compile`` runs
    ``nn.LSTM`` itself as is)."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lstm = self.lstm
        return _lstm_direction(x, [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0])


def test_an_lstm_that_ran_compiled_still_exports_as_a_loop() -> None:
    model = _OperatorLSTM().eval()
    with torch.no_grad():  # the operator resolves its unrolled kernel here
        torch.compile(model, backend="aot_eager")(torch.randn(2, 5, 3))
    with recurrent_layers_as_loops():
        program = torch.export.export(
            model, (torch.randn(2, 5, 3),), dynamic_shapes=({1: torch.export.Dim("steps", min=2)},)
        ).module()
    x = torch.randn(2, 11, 3)
    torch.testing.assert_close(program(x), model.lstm(x)[0], rtol=1e-5, atol=1e-6)


def test_a_loop_exported_at_a_static_length_does_not_pin_the_next_export_to_avoid_it() -> None:
    """A first program whose LSTM runs a static 12 steps over a dynamic batch, then one with the steps dynamic
    from 2 up: the second exports (it would otherwise guard that the steps are not 12, inside the declared
    range) and equals eager at 12 steps."""
    lstm = torch.nn.LSTM(3, 4, batch_first=True).eval()
    with recurrent_layers_as_loops():
        torch.export.export(
            lstm,
            (torch.randn(2, 12, 3),),
            dynamic_shapes=(
                {
                    0: torch.export.Dim("batch"),
                },
            ),
        )
    with recurrent_layers_as_loops():
        program = torch.export.export(
            lstm, (torch.randn(2, 5, 3),), dynamic_shapes=({1: torch.export.Dim("steps", min=2)},)
        ).module()
    x = torch.randn(2, 12, 3)
    with torch.no_grad():
        torch.testing.assert_close(program(x)[0], lstm(x)[0])
