r"""The contract between early-exit models, depth regularizers, training and traces.

An early-exit model (docs/science.md §B1) computes hidden states :math:`h_{l+1}=h_l+f_l(h_l)` block by
block and has an exit head :math:`\psi_l` after every block. Its forward pass returns one
:class:`ExitOutputs`: everything a loss, a depth regularizer (§B3) or a trace needs, for every exit at
once. Models implement :class:`EarlyExitModel`; losses and the trainer only read :class:`ExitOutputs`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import torch

__all__ = ["EarlyExitModel", "ExitOutputs"]


@dataclass(frozen=True)
class ExitOutputs:
    r"""What an early-exit model computes on a batch, for every exit.

    Exit ``0`` reads the state before the first block (after the input map) or after the first block,
    as the model documents; exit ``l`` reads :math:`h_l`. With ``L`` exits:

    Attributes
    ----------
    logits : Tensor, shape (L, batch, n_classes)
        Exit-head outputs (unnormalised log-probabilities).
    hidden : tuple of L Tensors, each (batch, ...)
        The hidden state each exit reads (kept in the autograd graph; detach to store).
    residual_norms : Tensor, shape (L, batch)
        :math:`\|f_l(h_l)\|` of the block that produced the state of exit ``l`` (Euclidean norm over
        all non-batch dimensions; ``0`` for an exit that reads the input map's output).
    flops : Tensor, shape (L,)
        Cumulative forward FLOPs per sample up to and including exit ``l`` (blocks and the exit head
        taken), the cost model of §B7.
    halting_logits : Tensor, shape (L, batch), or None
        :math:`s_l` of models with halting heads (:math:`q_l=\sigma(s_l)`, §B3), else ``None``.
    """

    logits: torch.Tensor
    hidden: tuple[torch.Tensor, ...]
    residual_norms: torch.Tensor
    flops: torch.Tensor
    halting_logits: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.logits.ndim != 3:
            raise ValueError(
                f"logits must have shape (n_exits, batch, n_classes), got {tuple(self.logits.shape)}"
            )
        n_exits, batch = self.logits.shape[:2]
        if len(self.hidden) != n_exits:
            raise ValueError(f"hidden must hold one state per exit ({n_exits}), got {len(self.hidden)}")
        if tuple(self.residual_norms.shape) != (n_exits, batch):
            raise ValueError(
                f"residual_norms must have shape {(n_exits, batch)}, got {tuple(self.residual_norms.shape)}"
            )
        if tuple(self.flops.shape) != (n_exits,):
            raise ValueError(f"flops must have shape {(n_exits,)}, got {tuple(self.flops.shape)}")
        if self.halting_logits is not None and tuple(self.halting_logits.shape) != (n_exits, batch):
            raise ValueError(
                f"halting_logits must have shape {(n_exits, batch)}, got {tuple(self.halting_logits.shape)}"
            )

    @property
    def n_exits(self) -> int:
        """Number of exits ``L``."""
        return int(self.logits.shape[0])


class EarlyExitModel(torch.nn.Module, abc.ABC):
    """A network with an exit head after every block; ``forward(x) -> ExitOutputs``.

    Subclasses set :attr:`n_exits` and :attr:`n_classes` and implement :meth:`forward`. A model whose
    inputs are not of its floating dtype (token ids) sets :attr:`input_dtype` (e.g. ``torch.int64``);
    ``None`` means the dtype of its parameters.
    """

    n_exits: int
    n_classes: int
    input_dtype: torch.dtype | None = None

    @abc.abstractmethod
    def forward(self, x: torch.Tensor) -> ExitOutputs:
        """Run every block and every exit head on the batch ``x``."""
