"""The Fréchet distance between two multivariate normal distributions (the Fréchet audio distance's core).

``d^2 = |mu_x - mu_y|^2 + tr(sigma_x) + tr(sigma_y) - 2 tr((sigma_x sigma_y)^(1/2))``. The trace of the
matrix square root is computed from the symmetric matrix ``S sigma_y S``, ``S = sigma_x^(1/2)``, which has the
same eigenvalues as ``sigma_x sigma_y``: its eigenvalues are real and non-negative by construction (clipped
at zero against rounding), so no complex arithmetic is needed and singular covariances are fine.

Example:
    >>> import torch
    >>> eye = torch.eye(3, dtype=torch.float64)
    >>> frechet_distance(torch.zeros(3), eye, torch.ones(3), eye).item()
    3.0
"""

from __future__ import annotations

import torch

from tympan.core.errors import InvalidInputError

__all__ = ["frechet_distance"]


def _check(name: str, value: torch.Tensor, dims: int, size: int) -> None:
    if value.dim() != dims or any(length != size for length in value.shape):
        expected = "(N,)" if dims == 1 else "(N, N)"
        raise InvalidInputError(
            "frechet_distance", [f"{name}: expected shape {expected} with N = {size}, got {list(value.shape)}"]
        )


def _symmetric_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The principal square root of a symmetric positive semi-definite matrix, by its eigendecomposition."""
    values, vectors = torch.linalg.eigh((matrix + matrix.mT) / 2)
    return (vectors * values.clamp(min=0.0).sqrt()) @ vectors.mT


def frechet_distance(
    mu_x: torch.Tensor, sigma_x: torch.Tensor, mu_y: torch.Tensor, sigma_y: torch.Tensor
) -> torch.Tensor:
    """Fréchet distance (squared) between ``N(mu_x, sigma_x)`` and ``N(mu_y, sigma_y)``, as
    ``torchaudio.functional.frechet_distance``.

    ``mu_*`` are ``(N,)`` means and ``sigma_*`` ``(N, N)`` covariance matrices (symmetric positive
    semi-definite). Returns a 0-dim tensor; differentiable where the covariances are positive definite.

    Example:
        >>> x = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
        >>> round(frechet_distance(torch.zeros(2), x, torch.zeros(2), x).item(), 12)
        0.0
    """
    if mu_x.dim() != 1:
        raise InvalidInputError("frechet_distance", [f"mu_x: expected shape (N,), got {list(mu_x.shape)}"])
    size = mu_x.shape[0]
    _check("mu_y", mu_y, 1, size)
    _check("sigma_x", sigma_x, 2, size)
    _check("sigma_y", sigma_y, 2, size)
    root_x = _symmetric_sqrt(sigma_x)
    cross = torch.linalg.eigvalsh(root_x @ sigma_y @ root_x).clamp(min=0.0).sqrt().sum()
    return (mu_x - mu_y).square().sum() + sigma_x.trace() + sigma_y.trace() - 2.0 * cross
