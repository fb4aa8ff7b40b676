"""Keyword spotting and clip classification models (``kws:*``).

Example:
    >>> import torch
    >>> from tympan import registry
    >>> model = registry.create("kws:conv_net", num_classes=12)
    >>> model(torch.randn(2, 1, 40, 101)).shape
    torch.Size([2, 12])
"""

from __future__ import annotations

from tympan.plugins.kws.conv_net import ConvNet

__all__ = ["ConvNet"]
