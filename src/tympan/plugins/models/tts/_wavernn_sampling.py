"""WaveRNN generation: the autoregressive loop with everything that does not depend on the previous sample
moved out of it.

Each step of the reference computes ``fc([x, m_t, a1_t])``, both GRUs' input and hidden products, and three
dense layers on concatenations. Only the products with the previous sample ``x`` and the hidden states
depend on the loop; the products with the conditioning (``m_t``, ``a1_t`` .. ``a4_t``) are computed for a
block of steps at once, the GRU input product of the sample reduces to a scaled vector (``x`` is a scalar
per item), and both GRUs' hidden products run as one batched product. What remains per step is three
matrix products for the dense layers, one for the second GRU's input, one batched hidden product and the
element-wise gate arithmetic, for every item of the batch together.

Samples are drawn as ``torch.multinomial(p, 1)`` draws them: the arg-max of ``p / q`` with ``q`` exponential
noise from the global generator, one draw of the same shape per step, so a seeded run gives the reference's
samples.

With ``fold=True`` (:func:`fold_segments`, :func:`crossfade_segments`), a long utterance is cut into
overlapping segments generated as one batch and joined by an equal-power cross-fade.

Example:
    >>> import torch
    >>> segments = fold_segments(torch.arange(10.0).view(1, 1, 10), target=3, overlap=1)
    >>> segments.squeeze(1).tolist()
    [[0.0, 1.0, 2.0, 3.0, 4.0], [4.0, 5.0, 6.0, 7.0, 8.0], [8.0, 9.0, 0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import torch

__all__ = ["crossfade_segments", "fold_segments", "generate"]


def fold_segments(x: torch.Tensor, target: int, overlap: int) -> torch.Tensor:
    """Cut ``x`` ``(B, C, S)`` into segments of ``target + 2 * overlap`` samples starting every
    ``target + overlap``, zero-padded at the end: ``(B * segments, C, target + 2 * overlap)``.
    """
    batch, channels, samples = x.shape
    stride = target + overlap
    length = target + 2 * overlap
    segments = max(1, -(-(samples - overlap) // stride))
    padded = torch.nn.functional.pad(x, (0, segments * stride + overlap - samples))
    folded = padded.unfold(2, length, stride)  # (B, C, segments, length)
    return folded.permute(0, 2, 1, 3).reshape(batch * segments, channels, length)


def _fades(overlap: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Equal-power fade-in and fade-out over ``overlap`` samples, the first half of each held (silent for the
    fade-in, whole for the fade-out) while the recurrent state warms up."""
    held = overlap // 2
    ramp = torch.linspace(-1.0, 1.0, overlap - held, dtype=torch.float64, device=like.device)
    fade_in = torch.cat([torch.zeros(held, dtype=torch.float64, device=like.device), (0.5 * (1 + ramp)).sqrt()])
    fade_out = torch.cat([torch.ones(held, dtype=torch.float64, device=like.device), (0.5 * (1 - ramp)).sqrt()])
    return fade_in.to(like.dtype), fade_out.to(like.dtype)


def crossfade_segments(y: torch.Tensor, batch: int, target: int, overlap: int) -> torch.Tensor:
    """Join segments ``(batch * segments, target + 2 * overlap)`` made by :func:`fold_segments` back into
    ``(batch, segments * (target + overlap) + overlap)`` by overlap-add with an equal-power cross-fade.

    Example:
        >>> import torch
        >>> joined = crossfade_segments(torch.ones(2, 7), batch=1, target=3, overlap=2)
        >>> [round(v, 3) for v in joined[0].tolist()]
        [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    length = target + 2 * overlap
    segments = y.size(0) // batch
    if overlap > 0:
        fade_in, fade_out = _fades(overlap, y)
        weights = torch.ones(length, dtype=y.dtype, device=y.device)
        weights[:overlap] = fade_in
        weights[length - overlap :] = weights[length - overlap :] * fade_out
        y = y * weights
    columns = y.view(batch, segments, length).transpose(1, 2)  # (batch, length, segments)
    total = segments * (target + overlap) + overlap
    joined = torch.nn.functional.fold(
        columns, output_size=(1, total), kernel_size=(1, length), stride=(1, target + overlap)
    )
    return joined.view(batch, total)


def _gru(input_gates: torch.Tensor, hidden_gates: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """One GRU update from both gate products (biases included), gates ordered reset, update, new."""
    size = hidden.size(1)
    reset_update = torch.sigmoid(input_gates[:, : 2 * size] + hidden_gates[:, : 2 * size])
    reset, update = reset_update[:, :size], reset_update[:, size:]
    new = torch.tanh(torch.addcmul(input_gates[:, 2 * size :], reset, hidden_gates[:, 2 * size :]))
    return torch.addcmul(new, hidden - new, update)


def _sample(
    cond: torch.Tensor,
    aux: torch.Tensor,
    weights: list[torch.Tensor],
    n_aux: int,
    n_bits: int,
    block_elements: int = 1 << 24,
) -> torch.Tensor:
    """The autoregressive loop over ``cond`` ``(B, n_freq, S)`` and ``aux`` ``(B, 4 * n_aux, S)``: ``(B, S)``.

    The products with the conditioning are computed ``block_elements`` at a time (64 MiB of float32).
    """
    fc_w, fc_b, ih1, hh1, bih1, bhh1 = weights[0], weights[1], weights[2], weights[3], weights[4], weights[5]
    ih2, hh2, bih2, bhh2 = weights[6], weights[7], weights[8], weights[9]
    fc1_w, fc1_b, fc2_w, fc2_b, fc3_w, fc3_b = (
        weights[10],
        weights[11],
        weights[12],
        weights[13],
        weights[14],
        weights[15],
    )
    batch, n_freq, samples = cond.shape
    size = hh1.size(1)
    n_fc = fc2_w.size(0)
    dtype = cond.dtype
    levels = 2.0**n_bits - 1.0
    steps = cond.permute(2, 0, 1)  # (S, B, n_freq): one contiguous slice per step
    extra = aux.permute(2, 0, 1)
    # what multiplies the previous sample (a scalar per item): a column of fc, and its image through W_ih1
    sample_weight = fc_w[:, 0]
    sample_gates = torch.mv(ih1, sample_weight)
    hidden_weights = torch.stack([hh1.t(), hh2.t()])  # (2, size, 3 * size)
    hidden_biases = torch.stack([bhh1, bhh2]).unsqueeze(1)
    ih2_t, fc1_t, fc2_t, fc3_t = ih2[:, :size].t(), fc1_w[:, :size].t(), fc2_w[:, :n_fc].t(), fc3_w.t()
    hidden = cond.new_zeros(2, batch, size)
    x = cond.new_zeros(batch, 1)
    output = cond.new_empty(samples, batch)
    per_step = batch * (4 * size + 3 * size + 2 * n_fc)
    block = max(1, min(samples, block_elements // max(per_step, 1)))
    for start in range(0, samples, block):
        stop = min(start + block, samples)
        m = steps[start:stop]
        a = extra[start:stop]
        a1, a2 = a[..., :n_aux], a[..., n_aux : 2 * n_aux]
        a3, a4 = a[..., 2 * n_aux : 3 * n_aux], a[..., 3 * n_aux : 4 * n_aux]
        fc_in = torch.nn.functional.linear(m, fc_w[:, 1 : 1 + n_freq], fc_b) + a1 @ fc_w[:, 1 + n_freq :].t()
        gates1 = torch.nn.functional.linear(fc_in, ih1, bih1)
        gates2 = torch.nn.functional.linear(a2, ih2[:, size:], bih2)
        dense1 = torch.nn.functional.linear(a3, fc1_w[:, size:], fc1_b)
        dense2 = torch.nn.functional.linear(a4, fc2_w[:, n_fc:], fc2_b)
        for t in range(stop - start):
            fc_out = torch.addcmul(fc_in[t], x, sample_weight)
            hidden_gates = torch.baddbmm(hidden_biases, hidden, hidden_weights)
            h1 = _gru(torch.addcmul(gates1[t], x, sample_gates), hidden_gates[0], hidden[0])
            y = fc_out + h1
            h2 = _gru(torch.addmm(gates2[t], y, ih2_t), hidden_gates[1], hidden[1])
            y = y + h2
            z = torch.relu(torch.addmm(dense1[t], y, fc1_t))
            z = torch.relu(torch.addmm(dense2[t], z, fc2_t))
            posterior = torch.softmax(torch.addmm(fc3_b, z, fc3_t), dim=1)
            noise = torch.empty_like(posterior).exponential_()
            chosen = (posterior / noise).argmax(dim=1, keepdim=True)
            x = (2 * chosen.float() / levels - 1.0).to(dtype)  # in float32, as the reference computes it
            output[start + t] = x[:, 0]
            hidden = torch.stack([h1, h2])
    return output.t()


def generate(
    cond: torch.Tensor,
    aux: torch.Tensor,
    weights: list[torch.Tensor],
    n_aux: int,
    n_bits: int,
    fold: bool,
    target: int,
    overlap: int,
) -> torch.Tensor:
    """Samples ``(B, S)`` from upsampled conditioning ``cond`` ``(B, n_freq, S)`` and ``aux``, optionally folded.

    ``weights`` are WaveRNN's fc, rnn1 (ih, hh, b_ih, b_hh), rnn2 (same), fc1, fc2 and fc3 weights and biases.
    """
    if not fold:
        return _sample(cond, aux, weights, n_aux, n_bits)
    if target < 1 or overlap < 0:
        raise ValueError(f"fold needs target >= 1 and overlap >= 0, got target={target}, overlap={overlap}")
    batch, samples = cond.size(0), cond.size(2)
    generated = _sample(
        fold_segments(cond, target, overlap), fold_segments(aux, target, overlap), weights, n_aux, n_bits
    )
    return crossfade_segments(generated, batch, target, overlap)[:, :samples]
