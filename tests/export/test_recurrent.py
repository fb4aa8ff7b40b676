"""Recurrent layers export as loops over a dynamic number of steps, also once the operator ran compiled."""

from __future__ import annotations

import torch

from tympan.export import recurrent_layers_as_loops


def _lstm(x: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
    """One LSTM direction called as the operator (``torch.compile`` runs ``nn.LSTM`` itself as is)."""
    zeros = x.new_zeros(1, x.size(0), weights[1].size(1))
    return torch.lstm(x, [zeros, zeros], weights, True, 1, 0.0, False, False, True)[0]


class _OperatorLSTM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lstm = self.lstm
        return _lstm(x, [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0])


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
