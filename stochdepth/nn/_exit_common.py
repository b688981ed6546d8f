"""Helpers shared by the early-exit models: seeded initialisation, input checks, exit heads."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .._checks import check_bool
from ..random import RNGLike
from ._device import as_device, as_dtype, torch_generator
from .exits import ExitOutputs


def setup(rng: RNGLike, device: Any, dtype: Any) -> tuple[torch.device, torch.dtype, torch.Generator]:
    """Validate ``device`` and ``dtype``; a CPU generator seeded from ``rng`` for the initial weights.

    Weights are drawn on the CPU and moved, so a seed gives the same initial network on every device.
    """
    dev = as_device(device)
    dt = as_dtype(dtype, dev)
    return dev, dt, torch_generator(rng, torch.device("cpu"))


@torch.no_grad()
def init_parameters(module: torch.nn.Module, gen: torch.Generator) -> None:
    """Draw every weight of ``module`` from ``N(0, 1/fan_in)`` with ``gen``; biases 0, norm gains 1.

    Parameters are visited in registration order, so the draw order is fixed by the architecture.
    """
    for sub in module.modules():
        if isinstance(sub, (torch.nn.LayerNorm, torch.nn.GroupNorm)):
            if sub.weight is not None:
                sub.weight.fill_(1.0)
                sub.bias.fill_(0.0)
            continue
        for name, p in sub.named_parameters(recurse=False):
            if p.ndim >= 2:
                fan_in = p[0].numel()
                z = torch.empty(p.shape, dtype=torch.float64).normal_(generator=gen)
                p.copy_(z / math.sqrt(fan_in))
            elif name.endswith("bias") or "bias" in name:
                p.zero_()


def initialise(
    module: torch.nn.Module,
    gen: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
    rescale: Callable[[], None] | None = None,
) -> None:
    """Draw the initial weights of a freshly built ``module`` in float64 on the CPU, then move it.

    ``rescale`` (no arguments, run under ``torch.no_grad``) adjusts the drawn weights in float64 before
    the move, e.g. embeddings that start at another scale than :func:`init_parameters` draws.
    """
    module.to(torch.float64)
    init_parameters(module, gen)
    if rescale is not None:
        with torch.no_grad():
            rescale()
    module.to(device=device, dtype=dtype)


def check_input(
    x: Any,
    model: torch.nn.Module,
    shape: tuple[int, ...] | None,
    *,
    floating: bool = True,
    features: int | None = None,
) -> None:
    """``x`` must be a tensor on the model's device, of its dtype (int64 for tokens), of the given shape.

    ``shape`` is the shape of one input (``None`` entries match any size); ``None``: any shape.
    ``features``: the number of values one input must hold, whatever its shape.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    p = next(model.parameters())
    want = p.dtype if floating else torch.int64
    if x.dtype != want:
        raise TypeError(f"x must have dtype {want} (the model's), got {x.dtype}")
    if x.device != p.device:
        raise ValueError(f"x is on device {x.device} but the model is on {p.device}: move one of them")
    if shape is not None:
        ok = x.ndim == len(shape) + 1 and all(s is None or s == t for s, t in zip(shape, x.shape[1:]))
        if not ok:
            want_s = ("batch", *("any" if s is None else s for s in shape))
            raise ValueError(f"x must have shape {want_s}, got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("x holds an empty batch")
    if features is not None and x[0].numel() != features:
        raise ValueError(f"x must hold {features} features per sample, got shape {tuple(x.shape)}")


def branch_norm(delta: torch.Tensor) -> torch.Tensor:
    """Euclidean norm of a block's update over every non-batch dimension, shape (batch,)."""
    return delta.flatten(1).norm(dim=1)


class Heads(torch.nn.Module):
    """One linear exit head (and optionally one halting head) per exit, reading a feature vector."""

    def __init__(self, n_exits: int, features: int, n_classes: int, halting: bool, shared: bool = False):
        super().__init__()
        check_bool("halting", halting)
        check_bool("shared_head", shared)
        n_heads = 1 if shared else n_exits
        self.shared = shared
        self.exits = torch.nn.ModuleList(torch.nn.Linear(features, n_classes) for _ in range(n_heads))
        self.halts = (
            torch.nn.ModuleList(torch.nn.Linear(features, 1) for _ in range(n_heads)) if halting else None
        )
        self.features = features
        self.n_classes = n_classes

    def forward(self, l: int, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Exit logits (and halting logit) of exit ``l`` from the features ``z`` (batch, features)."""
        k = 0 if self.shared else l
        halt = None if self.halts is None else self.halts[k](z).squeeze(-1)
        return self.exits[k](z), halt

    def flops(self) -> int:
        """Multiply-adds of one exit's heads, as FLOPs (2 per multiply-add)."""
        return 2 * self.features * (self.n_classes + (1 if self.halts is not None else 0))


def cumulative_flops(block: list[float], head: float, like: torch.Tensor) -> torch.Tensor:
    """Cumulative cost per exit: every block up to exit ``l`` and every head of exits ``0..l``."""
    out, total = [], 0.0
    for b in block:
        total += b + head
        out.append(total)
    return torch.tensor(out, dtype=like.dtype, device=like.device)


def residual_pass(
    h: torch.Tensor,
    blocks: Any,
    step: Callable[[Any, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    input_exit: bool,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Run the state ``h`` through ``blocks``; ``step(block, h)`` gives the next state and the update.

    Returns the state after every block and the norm of every update (:func:`branch_norm`); with
    ``input_exit`` the input state comes first, with norm 0.
    """
    hidden, norms = [], []
    if input_exit:
        hidden.append(h)
        norms.append(torch.zeros(h.shape[0], dtype=h.dtype, device=h.device))
    for block in blocks:
        h, delta = step(block, h)
        hidden.append(h)
        norms.append(branch_norm(delta))
    return hidden, norms


def exit_outputs(
    heads: Heads,
    features: list[torch.Tensor],
    hidden: list[torch.Tensor],
    norms: list[torch.Tensor],
    block_flops: list[float],
    extra_head_flops: float = 0.0,
) -> ExitOutputs:
    """Apply exit ``l``'s heads to ``features[l]`` and collect the :class:`ExitOutputs` of a pass.

    ``extra_head_flops``: the cost of computing one exit's features from its hidden state (pooling).
    """
    logits, halts = [], []
    for l, z in enumerate(features):
        out, halt = heads(l, z)
        logits.append(out)
        halts.append(halt)
    flops = cumulative_flops(block_flops, heads.flops() + extra_head_flops, logits[0])
    halting = None if halts[0] is None else torch.stack(halts)
    return ExitOutputs(torch.stack(logits), tuple(hidden), torch.stack(norms), flops, halting)
