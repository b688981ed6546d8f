r"""Running an early-exit network over a data split and recording its :class:`~stochdepth.depth.Trace`.

:func:`record_trace` runs any :class:`~stochdepth.nn.exits.EarlyExitModel` (or a model instrumented by
:class:`~stochdepth.nn.ProbedModel`) in evaluation mode without gradients, batch by batch, and keeps for
every sample and exit what an exit policy may look at (docs/science.md §B7.1): logits, confidence,
entropy, a summary of the hidden state, the residual norm, the label and correctness, and the cost.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import torch

from .._checks import check_int
from ..depth.traces import Trace
from ..random import RNGLike, as_generator
from .data import Split
from .exits import ExitOutputs

__all__ = ["load_trace", "model_signature", "record_trace"]


def model_signature(model: torch.nn.Module) -> str:
    """A short text naming the model's class, exits, classes and parameter shapes.

    Two models share a signature when they have the same architecture (the weights may differ); a trace
    records the signature of its model so that :func:`load_trace` can refuse a file of another one.
    """
    shapes = ";".join(f"{k}:{tuple(v.shape)}" for k, v in model.state_dict().items())
    digest = hashlib.sha256(shapes.encode()).hexdigest()[:16]
    n_exits = getattr(model, "n_exits", "?")
    n_classes = getattr(model, "n_classes", "?")
    return f"{type(model).__name__}(n_exits={n_exits}, n_classes={n_classes}, params={digest})"


def load_trace(path: Any, model: torch.nn.Module) -> Trace:
    """:meth:`Trace.load` checking that the file was recorded from a model of ``model``'s architecture."""
    return Trace.load(path, model=model_signature(model), n_exits=getattr(model, "n_exits", None))


def _projections(out: ExitOutputs, k: int, rng: RNGLike) -> list[torch.Tensor]:
    gen = as_generator(rng)
    mats = []
    for h in out.hidden:
        dim = h[0].numel()
        p = gen.standard_normal((dim, k)) / math.sqrt(dim)
        mats.append(torch.as_tensor(p, dtype=h.dtype, device=h.device))
    return mats


def record_trace(
    model: torch.nn.Module,
    data: Split | torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    split: str = "",
    batch_size: int = 256,
    summary_dim: int = 8,
    rng: RNGLike = 0,
) -> Trace:
    r"""Run ``model`` over ``data`` and record a :class:`~stochdepth.depth.Trace`.

    Parameters
    ----------
    model : torch.nn.Module
        Its ``forward(x)`` returns :class:`~stochdepth.nn.exits.ExitOutputs` (every
        :class:`~stochdepth.nn.exits.EarlyExitModel` and :class:`~stochdepth.nn.ProbedModel`). It is run
        in evaluation mode under ``torch.no_grad()`` and put back in its former mode.
    data : Split or Tensor
        A :class:`~stochdepth.nn.data.Split` (labels and difficulty from it), or inputs with labels ``y``.
    y : Tensor, optional
        Labels when ``data`` is a tensor.
    split : str
        Name recorded in the trace.
    batch_size : int
    summary_dim : int
        ``k``, coordinates of the random projection of each hidden state.
    rng : seed or Generator
        Fixes the projection matrices (one per exit, :math:`\mathcal N(0,1/\dim h_l)` entries).

    Returns
    -------
    Trace

    Examples
    --------
    >>> from stochdepth.nn import ResidualMLP, gaussian_mixture, record_trace
    >>> ds = gaussian_mixture(200, dim=8, n_classes=3, rng=0)
    >>> trace = record_trace(ResidualMLP(8, 16, 3, 3, rng=0), ds.test, split="test", summary_dim=4)
    >>> trace.logits.shape, trace.hidden_projection.shape, trace.difficulty.shape
    ((50, 3, 3), (50, 3, 4), (50,))
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    difficulty = None
    if isinstance(data, Split):
        if y is not None:
            raise ValueError("y must be None when data is a Split (its labels are used)")
        x, y, difficulty = data.x, data.y, data.difficulty
    elif isinstance(data, torch.Tensor):
        if not isinstance(y, torch.Tensor):
            raise TypeError("y must be a tensor of labels when data is a tensor")
        x = data
    else:
        raise TypeError(f"data must be a Split or a torch.Tensor, got {type(data).__name__}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    if x.shape[0] == 0:
        raise ValueError("data holds no samples")
    batch_size = check_int("batch_size", batch_size, min=1)
    summary_dim = check_int("summary_dim", summary_dim, min=1)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("logits", "norms", "proj", "res", "halt")}
    flops = None
    proj = None
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for a in range(0, x.shape[0], batch_size):
                out = model(x[a : a + batch_size])
                if not isinstance(out, ExitOutputs):
                    raise TypeError(f"model must return ExitOutputs, got {type(out).__name__}")
                if proj is None:
                    proj = _projections(out, summary_dim, rng)
                    flops = out.flops.detach().to("cpu", torch.float64).numpy()
                flat = [h.flatten(1) for h in out.hidden]
                parts["logits"].append(out.logits.transpose(0, 1).to("cpu", torch.float64).numpy())
                parts["norms"].append(torch.stack([f.norm(dim=1) for f in flat], 1).cpu().double().numpy())
                parts["proj"].append(
                    torch.stack([f @ p for f, p in zip(flat, proj)], 1).cpu().double().numpy()
                )
                parts["res"].append(out.residual_norms.T.to("cpu", torch.float64).numpy())
                if out.halting_logits is not None:
                    parts["halt"].append(out.halting_logits.T.to("cpu", torch.float64).numpy())
    finally:
        model.train(was_training)
    cat = {k: np.concatenate(v) if v else None for k, v in parts.items()}
    return Trace.from_outputs(
        cat["logits"],
        y.cpu().numpy(),
        hidden_norms=cat["norms"],
        hidden_projection=cat["proj"],
        residual_norms=cat["res"],
        flops=flops,
        difficulty=None if difficulty is None else difficulty.cpu().numpy(),
        halting_logits=cat["halt"],
        model=model_signature(model),
        split=split,
    )
