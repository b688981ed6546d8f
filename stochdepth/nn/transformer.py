r"""A pre-LayerNorm Transformer encoder for sequence classification, with an exit after every layer.

In a pre-LN Transformer (Xiong et al. 2020) every layer adds a learned update to the stack of token
states, :math:`h_{l}=h_{l-1}+F_l(h_{l-1})` with

.. math:: a=h+\mathrm{MHA}(\mathrm{LN}(h)),\qquad F_l(h)=a-h+\mathrm{MLP}(\mathrm{LN}(a)),

so the early-exit framework of docs/science.md §B1–§B3 applies to the whole sequence (§B4). Exit
:math:`l` reads :math:`\mathrm{LN}_l(h_l)` averaged over the tokens (mean pooling) and applies a linear
head; the residual norm is :math:`\|F_l(h_{l-1})\|` over all tokens and features.
"""

from __future__ import annotations

from typing import Any

import torch

from .._checks import check_bool, check_choice, check_int, check_real
from ..random import RNGLike
from ._exit_common import (
    Heads,
    check_input,
    exit_outputs,
    initialise,
    residual_pass,
    setup,
)
from .exits import EarlyExitModel, ExitOutputs

__all__ = ["SequenceTransformer"]


class _Layer(torch.nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(d_model)
        self.attn = torch.nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.ln2 = torch.nn.LayerNorm(d_model)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(d_model, d_ff), torch.nn.GELU(), torch.nn.Linear(d_ff, d_model)
        )
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        z = self.ln1(h)
        a = h + self.drop(self.attn(z, z, z, need_weights=False, attn_mask=mask)[0])
        return a + self.drop(self.mlp(self.ln2(a)))


class SequenceTransformer(EarlyExitModel):
    """Pre-LN Transformer encoder over token ids with a pooled exit head after every layer.

    Parameters
    ----------
    vocab_size, n_classes : int
    max_len : int
        Longest sequence (learned positional embeddings).
    d_model, n_heads, depth : int
        Model width (divisible by ``n_heads``), attention heads, number of layers.
    d_ff : int, optional
        Width of the feed-forward layers (default ``4 * d_model``).
    dropout : float
        Dropout in attention and feed-forward outputs (training mode only).
    input_exit : bool
        Add exit 0 reading the embeddings (residual norm 0).
    readout : {'mean', 'first'}
        What an exit head reads: the mean of the (layer-normalised) token states, or the state of the
        first token alone (a classification token, as in BERT, Devlin et al. 2019).
    window : int, optional
        Sliding-window attention (Beltagy et al. 2020, *Longformer*): token :math:`i` attends only to
        tokens :math:`j` with :math:`|i-j|\\le` ``window``, so information travels at most ``window``
        positions per layer and a token ``k`` positions from the readout needs at least
        :math:`\\lceil k/\\text{window}\\rceil` layers to reach it. ``None`` (default): full attention.
    halting, rng, device, dtype
        As in :class:`~stochdepth.nn.ResidualMLP`.

    Examples
    --------
    >>> import torch
    >>> from stochdepth.nn import SequenceTransformer
    >>> model = SequenceTransformer(4, 2, max_len=8, d_model=16, n_heads=2, depth=3, rng=0)
    >>> out = model(torch.zeros(5, 8, dtype=torch.int64))
    >>> tuple(out.logits.shape), tuple(out.hidden[-1].shape)
    ((3, 5, 2), (5, 8, 16))

    Notes
    -----
    Inputs are ``int64`` token ids ``(batch, seq_len)``, ``seq_len <= max_len``, all of the same length
    (no padding mask). FLOPs per layer and token:
    :math:`2(4d^2+2Td+2d\\,d_{\\rm ff})` (projections, scores and weighted sum, feed-forward); a
    ``window`` masks scores but does not skip computing them, so it leaves the FLOPs as they are.
    """

    input_dtype = torch.int64

    def __init__(
        self,
        vocab_size: int,
        n_classes: int,
        *,
        max_len: int,
        d_model: int = 64,
        n_heads: int = 4,
        depth: int = 4,
        d_ff: int | None = None,
        dropout: float = 0.0,
        input_exit: bool = False,
        readout: str = "mean",
        window: int | None = None,
        halting: bool = False,
        rng: RNGLike = 0,
        device: Any = "cpu",
        dtype: Any = torch.float32,
    ) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, min=1)
        self.n_classes = check_int("n_classes", n_classes, min=2)
        self.max_len = check_int("max_len", max_len, min=1)
        self.d_model = check_int("d_model", d_model, min=1)
        self.n_heads = check_int("n_heads", n_heads, min=1)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.depth = check_int("depth", depth, min=1)
        self.d_ff = 4 * self.d_model if d_ff is None else check_int("d_ff", d_ff, min=1)
        dropout = check_real("dropout", dropout, lo=0.0, hi=1.0, hi_open=True)
        self.input_exit = check_bool("input_exit", input_exit)
        self.readout = check_choice("readout", readout, ("mean", "first"))
        self.window = None if window is None else check_int("window", window, min=1)
        dev, dt, gen = setup(rng, device, dtype)
        self.n_exits = self.depth + int(self.input_exit)
        self.embed = torch.nn.Embedding(self.vocab_size, self.d_model)
        self.position = torch.nn.Embedding(self.max_len, self.d_model)
        self.layers = torch.nn.ModuleList(
            _Layer(self.d_model, self.n_heads, self.d_ff, dropout) for _ in range(self.depth)
        )
        self.exit_norms = torch.nn.ModuleList(torch.nn.LayerNorm(self.d_model) for _ in range(self.n_exits))
        self.heads = Heads(self.n_exits, self.d_model, self.n_classes, halting)
        initialise(self, gen, dev, dt, rescale=self._rescale_embeddings)

    def _rescale_embeddings(self) -> None:
        """Embeddings start with ``N(0, 1)`` rows (positions ``N(0, 0.01)``), not ``N(0, 1/d)``."""
        self.embed.weight.mul_(self.d_model**0.5)
        self.position.weight.mul_(self.d_model**0.5 * 0.1)

    def block_flops(self, seq_len: int) -> list[float]:
        """FLOPs each exit adds for sequences of length ``seq_len``, heads excluded."""
        d, t = self.d_model, seq_len
        per = [2.0 * t * (4 * d * d + 2 * t * d + 2 * d * self.d_ff)] * self.depth
        return [0.0, *per] if self.input_exit else per

    def forward(self, x: torch.Tensor) -> ExitOutputs:
        check_input(x, self, (None,), floating=False)
        seq_len = x.shape[1]
        if seq_len > self.max_len:
            raise ValueError(f"x has sequences of length {seq_len} > max_len {self.max_len}")
        if x.min() < 0 or x.max() >= self.vocab_size:
            raise ValueError(f"x must hold token ids in [0, {self.vocab_size}), got [{x.min()}, {x.max()}]")
        pos = torch.arange(seq_len, device=x.device)
        h = self.embed(x) + self.position(pos)
        mask = None
        if self.window is not None:  # True where attention is not allowed: tokens beyond the window
            mask = (pos[:, None] - pos[None, :]).abs() > self.window

        def step(layer: _Layer, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            new = layer(h, mask)
            return new, new - h

        hidden, norms = residual_pass(h, self.layers, step, self.input_exit)
        if self.readout == "mean":
            features = [norm(z).mean(dim=1) for norm, z in zip(self.exit_norms, hidden)]
        else:
            features = [norm(z[:, 0]) for norm, z in zip(self.exit_norms, hidden)]
        norm_flops = float((seq_len if self.readout == "mean" else 1) * self.d_model * 6)
        return exit_outputs(self.heads, features, hidden, norms, self.block_flops(seq_len), norm_flops)
