"""A tiny early-exit model for the tests of losses and training: a residual MLP with an exit head (and
optionally a halting head) after every block, written for the tests only."""

from __future__ import annotations

import torch

from stochdepth.nn.exits import EarlyExitModel, ExitOutputs


class TinyExitMLP(EarlyExitModel):
    """``h_0 = W_in x``, ``h_{l+1} = h_l + f_l(h_l)`` with ``f_l = W2 tanh(W1 h)``; exit ``l`` reads
    ``h_{l+1}`` (so every exit follows a block) and has a linear head; halting heads are linear too."""

    def __init__(self, d_in=4, width=8, n_classes=3, n_blocks=3, *, halting=False, dropout=0.0, dtype=None):
        super().__init__()
        self.n_exits = n_blocks
        self.n_classes = n_classes
        self.inp = torch.nn.Linear(d_in, width, dtype=dtype)
        self.blocks = torch.nn.ModuleList(
            torch.nn.Sequential(
                torch.nn.Linear(width, width, dtype=dtype),
                torch.nn.Tanh(),
                torch.nn.Dropout(dropout),
                torch.nn.Linear(width, width, dtype=dtype),
            )
            for _ in range(n_blocks)
        )
        self.heads = torch.nn.ModuleList(
            torch.nn.Linear(width, n_classes, dtype=dtype) for _ in range(n_blocks)
        )
        self.halts = (
            torch.nn.ModuleList(torch.nn.Linear(width, 1, dtype=dtype) for _ in range(n_blocks))
            if halting
            else None
        )
        per_block = 4 * width * width + 2 * width * n_classes
        self.register_buffer("_flops", torch.cumsum(torch.full((n_blocks,), float(per_block)), 0))

    def forward(self, x: torch.Tensor) -> ExitOutputs:
        h = self.inp(x)
        hidden, logits, norms, halts = [], [], [], []
        for l, block in enumerate(self.blocks):
            r = block(h)
            h = h + r
            hidden.append(h)
            norms.append(r.norm(dim=-1))
            logits.append(self.heads[l](h))
            if self.halts is not None:
                halts.append(self.halts[l](h).squeeze(-1))
        return ExitOutputs(
            logits=torch.stack(logits),
            hidden=tuple(hidden),
            residual_norms=torch.stack(norms),
            flops=self._flops.to(x.dtype),
            halting_logits=torch.stack(halts) if halts else None,
        )


def toy_outputs(logits, *, residual_norms=None, halting_logits=None, flops=None) -> ExitOutputs:
    """ExitOutputs built from given numbers (hidden states are placeholders)."""
    logits = torch.as_tensor(logits)
    n_exits, batch = logits.shape[:2]
    if residual_norms is None:
        residual_norms = torch.zeros(n_exits, batch, dtype=logits.dtype)
    if flops is None:
        flops = torch.arange(1, n_exits + 1, dtype=logits.dtype)
    return ExitOutputs(
        logits=logits,
        hidden=tuple(torch.zeros(batch, 1, dtype=logits.dtype) for _ in range(n_exits)),
        residual_norms=torch.as_tensor(residual_norms),
        flops=torch.as_tensor(flops),
        halting_logits=None if halting_logits is None else torch.as_tensor(halting_logits),
    )


def toy_task(seed: int, n: int = 48, d_in: int = 4, n_classes: int = 3, dtype=torch.float64):
    """A small separable classification split (X, y) drawn with ``seed``."""
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_classes, d_in, generator=g, dtype=dtype) * 2
    y = torch.randint(0, n_classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, d_in, generator=g, dtype=dtype)
    return x, y
