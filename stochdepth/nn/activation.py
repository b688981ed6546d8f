"""The torch form of an activation: where :class:`stochdepth.Activation` meets torch.

The foundation module :mod:`stochdepth.activations` never imports torch: a built-in activation names its
``torch.nn.functional`` form, an activation of the user's own carries a ``torch_fn``. This module
turns either into a function of tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..activations import Activation, get_activation

__all__ = ["torch_activation"]


def torch_activation(activation: str | Activation) -> Callable[[torch.Tensor], torch.Tensor]:
    """The activation as a device-agnostic function of torch tensors.

    Parameters
    ----------
    activation : str or Activation
        A built-in name (``"relu"``, ``"tanh"``, ...) or an :class:`~stochdepth.Activation`.

    Raises
    ------
    ValueError
        If the activation has neither a ``torch_fn`` nor a ``torch.nn.functional`` form.

    Examples
    --------
    >>> import torch
    >>> torch_activation("relu")(torch.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    act = get_activation(activation)
    if act.torch_fn is not None:
        return act.torch_fn
    if act.torch_functional is not None:
        name, args = act.torch_functional
        fn = getattr(torch.nn.functional, name)

        def apply(x: Any) -> Any:
            return fn(x, *args)

        return apply
    raise ValueError(
        f"activation {act.name!r} has no torch implementation: build it with "
        "Activation.custom(..., torch_fn=...)"
    )
