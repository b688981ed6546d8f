r"""Instrumenting a network trained elsewhere: forward hooks on named blocks and linear probes.

:class:`ProbedModel` wraps any :class:`torch.nn.Module` and names some of its submodules as blocks. A
forward pass registers forward hooks on them, runs the wrapped model unchanged, records each block's
output :math:`h_l` (flattened) and, for a residual block whose output has its input's shape, the
residual norm :math:`\|h_l-h_{l-1}\|=\|f_l(h_{l-1})\|` (NaN for a block that changes the shape), then
removes the hooks. The exit heads are linear probes (Alain & Bengio 2016) fitted afterwards on the
recorded states, on standardised features :math:`z=(h-\mu)/\sigma`:

* ``"ridge"``: least squares onto one-hot labels with penalty :math:`\alpha n\|W\|^2` (closed form);
* ``"logistic"``: multinomial logistic regression with penalty :math:`\tfrac{\alpha}2\|W\|^2`, fitted
  by L-BFGS from the ridge solution.

Once fitted, the wrapper is an :class:`~stochdepth.nn.exits.EarlyExitModel` and its forward pass returns
:class:`~stochdepth.nn.exits.ExitOutputs`, so :func:`~stochdepth.nn.record_trace` records its trace
(docs/science.md §B7).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._checks import check_choice, check_int, check_real
from .exits import EarlyExitModel, ExitOutputs

__all__ = ["ProbedModel"]


class ProbedModel(EarlyExitModel):
    """A trained network with linear exit probes on the outputs of the blocks a user names.

    Parameters
    ----------
    model : torch.nn.Module
        The network, left unchanged (its parameters are not trained by the probes).
    blocks : sequence of str
        Names of submodules (as in ``model.named_modules()``), in the order the forward pass runs them.
    n_classes : int
    block_flops : sequence of float, optional
        Cost of each block; the exit cost is the cumulative block cost plus the probes (two FLOPs per
        multiply-add). ``None``: each block costs 1 and the probes nothing, so ``flops`` counts blocks.

    Examples
    --------
    >>> import torch
    >>> from stochdepth.nn import ProbedModel
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8))
    >>> x, y = torch.randn(50, 4), torch.arange(50) % 2
    >>> probed = ProbedModel(net, ["0", "2"], 2).fit_probes(x, y)
    >>> tuple(probed(x).logits.shape)
    (2, 50, 2)
    """

    def __init__(
        self,
        model: torch.nn.Module,
        blocks: Sequence[str],
        n_classes: int,
        *,
        block_flops: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(blocks, str) or not isinstance(blocks, Sequence) or len(blocks) == 0:
            raise TypeError("blocks must be a non-empty sequence of submodule names")
        names = dict(model.named_modules())
        for b in blocks:
            if not isinstance(b, str) or b not in names or b == "":
                some = [n for n in names if n][:8]
                raise ValueError(f"blocks: {b!r} is not a submodule of the model (some names: {some})")
        if len(set(blocks)) != len(blocks):
            raise ValueError(f"blocks must not repeat a name, got {list(blocks)}")
        self.model = model
        self.block_names = tuple(blocks)
        self.n_exits = len(blocks)
        self.n_classes = check_int("n_classes", n_classes, min=2)
        if block_flops is not None:
            if len(block_flops) != self.n_exits:
                raise ValueError(f"block_flops must hold {self.n_exits} costs, got {len(block_flops)}")
            block_flops = [check_real(f"block_flops[{i}]", c, lo=0.0) for i, c in enumerate(block_flops)]
        self.block_flops = block_flops
        self.probes: torch.nn.ModuleList | None = None

    def record(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Run the wrapped model on ``x``; the flattened block outputs and residual norms, per block."""
        states: dict[str, torch.Tensor] = {}
        norms: dict[str, torch.Tensor] = {}

        def hook(name: str):
            def fn(module: torch.nn.Module, inputs: tuple, output: Any) -> None:
                out = output[0] if isinstance(output, (tuple, list)) else output
                if not isinstance(out, torch.Tensor):
                    raise TypeError(f"block {name!r} returned {type(out).__name__}, not a tensor")
                states[name] = out.flatten(1)
                inp = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
                if inp is not None and inp.shape == out.shape:
                    norms[name] = (out - inp).flatten(1).norm(dim=1)
                else:
                    norms[name] = torch.full(
                        (out.shape[0],), float("nan"), dtype=out.dtype, device=out.device
                    )

            return fn

        subs = dict(self.model.named_modules())
        handles = [subs[n].register_forward_hook(hook(n)) for n in self.block_names]
        try:
            self.model(x)
        finally:
            for h in handles:
                h.remove()
        missing = [n for n in self.block_names if n not in states]
        if missing:
            raise RuntimeError(f"blocks {missing} did not run in the model's forward pass")
        return [states[n] for n in self.block_names], [norms[n] for n in self.block_names]

    def fit_probes(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        method: str = "ridge",
        alpha: float = 1e-3,
        batch_size: int = 1024,
        max_iter: int = 100,
    ) -> ProbedModel:
        """Fit one linear probe per block on the states the inputs ``x`` produce, with labels ``y``.

        Parameters
        ----------
        x, y : Tensor
            Inputs of the wrapped model and int64 labels ``(n,)`` on the same device.
        method : "ridge" or "logistic"
        alpha : float
            Penalty (> 0).
        batch_size : int
            Batch of the recording pass (wrapped model in evaluation mode, no gradients).
        max_iter : int
            L-BFGS iterations of the logistic fit.

        Returns
        -------
        ProbedModel
            ``self``, fitted.
        """
        method = check_choice("method", method, ("ridge", "logistic"))
        alpha = check_real("alpha", alpha, lo=0.0, lo_open=True)
        batch_size = check_int("batch_size", batch_size, min=1)
        max_iter = check_int("max_iter", max_iter, min=1)
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise TypeError("x and y must be torch tensors")
        if y.ndim != 1 or y.shape[0] != x.shape[0] or y.dtype != torch.int64:
            raise ValueError(f"y must be int64 of shape ({x.shape[0]},), got {y.dtype} {tuple(y.shape)}")
        if y.device != x.device:
            raise ValueError(f"y is on {y.device} but x on {x.device}")
        if x.shape[0] < 2:
            raise ValueError("x must hold at least 2 samples to fit probes")
        if y.min() < 0 or y.max() >= self.n_classes:
            raise ValueError(f"y must hold labels in [0, {self.n_classes})")
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                chunks = [self.record(x[a : a + batch_size])[0] for a in range(0, x.shape[0], batch_size)]
        finally:
            self.model.train(was_training)
        probes = []
        for l in range(self.n_exits):
            h = torch.cat([c[l] for c in chunks]).detach()
            probes.append(_fit_probe(h, y, self.n_classes, method, alpha, max_iter))
        self.probes = torch.nn.ModuleList(probes)
        return self

    def forward(self, x: torch.Tensor) -> ExitOutputs:
        if self.probes is None:
            raise RuntimeError("the probes are not fitted: call fit_probes(x, y) first")
        states, norms = self.record(x)
        logits = torch.stack([p(h) for p, h in zip(self.probes, states)])
        if self.block_flops is None:
            flops = torch.arange(1, self.n_exits + 1, dtype=logits.dtype, device=logits.device)
        else:
            per = [c + 2.0 * h.shape[1] * self.n_classes for c, h in zip(self.block_flops, states)]
            flops = torch.tensor(per, dtype=logits.dtype, device=logits.device).cumsum(0)
        return ExitOutputs(logits, tuple(states), torch.stack(norms), flops)


class _Probe(torch.nn.Module):
    """``logits = ((h - mean) / scale) @ weight + bias``; its tensors are buffers (not trained)."""

    def __init__(self, mean: torch.Tensor, scale: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("scale", scale)
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.shape[1] != self.mean.shape[0]:
            raise ValueError(f"the probe reads {self.mean.shape[0]} features, got {h.shape[1]}")
        return ((h - self.mean) / self.scale) @ self.weight + self.bias


def _fit_probe(h: torch.Tensor, y: torch.Tensor, n_classes: int, method: str, alpha: float, max_iter: int):
    dtype = h.dtype
    h64 = h.to(torch.float64)
    n, d = h64.shape
    mean = h64.mean(0)
    scale = h64.std(0, unbiased=False).clamp_min(1e-8)
    z = (h64 - mean) / scale
    onehot = torch.nn.functional.one_hot(y, n_classes).to(torch.float64)
    target = onehot - onehot.mean(0)
    gram = z.T @ z + alpha * n * torch.eye(d, dtype=torch.float64, device=h.device)
    weight = torch.linalg.solve(gram, z.T @ target)
    bias = onehot.mean(0)
    if method == "logistic":
        weight = weight.contiguous().clone().requires_grad_(True)
        bias = torch.zeros(n_classes, dtype=torch.float64, device=h.device, requires_grad=True)
        opt = torch.optim.LBFGS([weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(z @ weight + bias, y) + 0.5 * alpha * (weight**2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            opt.step(closure)
        weight, bias = weight.detach(), bias.detach()
    return _Probe(mean.to(dtype), scale.to(dtype), weight.to(dtype), bias.to(dtype))
