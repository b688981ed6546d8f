r"""Early-exit networks: a residual MLP, convolutional ResNets (1-D and 2-D) and a neural ODE/SDE.

Every model implements :class:`~stochdepth.nn.exits.EarlyExitModel`: the forward pass runs every block,
applies an exit head after each (docs/science.md §B1, §B7) and returns an
:class:`~stochdepth.nn.exits.ExitOutputs` with the logits, the hidden states, the residual norms
:math:`\|f_l(h_l)\|` and the cumulative FLOPs per exit. With ``halting=True`` each exit also has a
halting head :math:`s_l` (the soft halting of §B3, PonderNet of Banino et al. 2021).

Initial weights are drawn from :math:`\mathcal N(0,1/\text{fan-in})` by a CPU generator seeded from
``rng`` and then moved to ``device``, so a seed fixes the initial network on every device; biases start
at 0. FLOPs count two per multiply-add of the linear maps and convolutions (activations, norms and
additions are neglected), and the cost of exit ``l`` includes every head of exits ``0..l``: an
early-exit policy evaluates each head it passes.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .._checks import check_bool, check_choice, check_int, check_real
from ..activations import Activation
from ..random import RNGLike
from ._exit_common import (
    Heads,
    check_input,
    exit_outputs,
    initialise,
    residual_pass,
    setup,
)
from .activation import torch_activation
from .exits import EarlyExitModel, ExitOutputs

__all__ = ["ConvResNet", "NeuralODE", "ResidualMLP"]


class ResidualMLP(EarlyExitModel):
    r"""The residual network of docs/science.md §A1 with a trainable input map, blocks and branch scale.

    .. math:: h_0=W_{\rm in}x,\qquad h_l=h_{l-1}+\beta\,W_l\,\phi(h_{l-1}),\qquad
              \psi_l(h_l)=A_lh_l+a_l,

    with :math:`\beta` a trainable scalar initialised at :math:`\sqrt{t_1/L}` (§A1.1) and
    :math:`W_{\rm in},W_l` initialised as in §A1. Inputs of any shape are flattened.

    Parameters
    ----------
    input_dim, width, depth, n_classes : int
    activation : str or Activation
    t1 : float
        Depth-time of the initial branch scale.
    input_exit : bool
        Add exit 0 reading :math:`h_0` (residual norm 0); then there are ``depth + 1`` exits.
    halting : bool
        Add a halting head per exit (``ExitOutputs.halting_logits``).
    rng, device, dtype
        Seed of the initial weights; where and in which precision (float32/float64) the model lives.

    Examples
    --------
    >>> import torch
    >>> from stochdepth.nn import ResidualMLP
    >>> model = ResidualMLP(64, 32, 4, 10, halting=True, rng=0)
    >>> out = model(torch.zeros(5, 64))
    >>> tuple(out.logits.shape), tuple(out.residual_norms.shape), tuple(out.halting_logits.shape)
    ((4, 5, 10), (4, 5), (4, 5))
    >>> bool((out.flops.diff() > 0).all())
    True
    """

    def __init__(
        self,
        input_dim: int,
        width: int,
        depth: int,
        n_classes: int,
        *,
        activation: str | Activation = "relu",
        t1: float = 1.0,
        input_exit: bool = False,
        halting: bool = False,
        rng: RNGLike = 0,
        device: Any = "cpu",
        dtype: Any = torch.float32,
    ) -> None:
        super().__init__()
        self.input_dim = check_int("input_dim", input_dim, min=1)
        self.width = check_int("width", width, min=1)
        self.depth = check_int("depth", depth, min=1)
        self.n_classes = check_int("n_classes", n_classes, min=2)
        t1 = check_real("t1", t1, lo=0.0, lo_open=True)
        self.input_exit = check_bool("input_exit", input_exit)
        self.phi = torch_activation(activation)
        dev, dt, gen = setup(rng, device, dtype)
        self.n_exits = self.depth + int(self.input_exit)
        self.input_map = torch.nn.Linear(self.input_dim, self.width, bias=False)
        self.blocks = torch.nn.ModuleList(
            torch.nn.Linear(self.width, self.width, bias=False) for _ in range(self.depth)
        )
        self.heads = Heads(self.n_exits, self.width, self.n_classes, halting)
        self.branch_scale = torch.nn.Parameter(torch.tensor(math.sqrt(t1 / self.depth), dtype=torch.float64))
        initialise(self, gen, dev, dt)

    def block_flops(self) -> list[float]:
        """FLOPs of the computation each exit adds (input map in the first), heads excluded."""
        per = [2.0 * self.width * self.width] * self.depth
        first = 2.0 * self.input_dim * self.width
        return [first, *per] if self.input_exit else [first + per[0], *per[1:]]

    def forward(self, x: torch.Tensor) -> ExitOutputs:
        check_input(x, self, None, features=self.input_dim)
        hidden, norms = residual_pass(self.input_map(x.flatten(1)), self.blocks, self._step, self.input_exit)
        return exit_outputs(self.heads, hidden, hidden, norms, self.block_flops())

    def _step(self, w: torch.nn.Linear, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        delta = self.branch_scale * w(self.phi(h))
        return h + delta, delta


def _groups(channels: int) -> int:
    return max(g for g in (8, 4, 2, 1) if channels % g == 0)


class ConvResNet(EarlyExitModel):
    r"""A small pre-activation convolutional ResNet, 1-D (signals) or 2-D (images), with an exit per block.

    .. math:: h_0=\mathrm{conv}_{\rm in}(x),\qquad
              h_l=h_{l-1}+\beta\,\mathrm{conv}_{l,2}\,\mathrm{relu}\,\mathrm{GN}\,
              \mathrm{conv}_{l,1}\,\mathrm{relu}\,\mathrm{GN}(h_{l-1}),

    stride 1 and "same" padding throughout (the spatial size never changes), GroupNorm (GN, batch
    independent), :math:`\beta` a trainable scalar initialised at :math:`1/\sqrt L`; exit :math:`l` averages
    :math:`h_l` over ``pool_size`` equal cells per spatial axis (adaptive average pooling; 1 is global
    pooling) and applies a linear head to the ``channels * pool_size**spatial_dims`` features.

    Parameters
    ----------
    in_channels, n_classes : int
    spatial_dims : 1 or 2
        Inputs ``(batch, in_channels, length)`` or ``(batch, in_channels, height, width)``.
    channels, depth, kernel_size : int
        Width of every block, number of blocks, odd kernel size.
    pool_size : int
        Cells per spatial axis read by the exit heads (inputs must be at least this large).
    input_exit, halting, rng, device, dtype
        As in :class:`ResidualMLP`.

    Examples
    --------
    >>> import torch
    >>> from stochdepth.nn import ConvResNet
    >>> model = ConvResNet(1, 10, spatial_dims=2, channels=8, depth=3, rng=0)
    >>> out = model(torch.zeros(4, 1, 8, 8))
    >>> tuple(out.logits.shape), tuple(out.hidden[0].shape)
    ((3, 4, 10), (4, 8, 8, 8))
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        *,
        spatial_dims: int = 1,
        channels: int = 32,
        depth: int = 4,
        kernel_size: int = 3,
        pool_size: int = 2,
        input_exit: bool = False,
        halting: bool = False,
        rng: RNGLike = 0,
        device: Any = "cpu",
        dtype: Any = torch.float32,
    ) -> None:
        super().__init__()
        self.pool_size = check_int("pool_size", pool_size, min=1)
        self.in_channels = check_int("in_channels", in_channels, min=1)
        self.n_classes = check_int("n_classes", n_classes, min=2)
        self.spatial_dims = check_choice("spatial_dims", spatial_dims, (1, 2))
        self.channels = check_int("channels", channels, min=1)
        self.depth = check_int("depth", depth, min=1)
        self.kernel_size = check_int("kernel_size", kernel_size, min=1)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same padding), got {kernel_size}")
        self.input_exit = check_bool("input_exit", input_exit)
        dev, dt, gen = setup(rng, device, dtype)
        conv = torch.nn.Conv1d if self.spatial_dims == 1 else torch.nn.Conv2d
        k, c, pad = self.kernel_size, self.channels, self.kernel_size // 2
        self.n_exits = self.depth + int(self.input_exit)
        self.stem = conv(self.in_channels, c, k, padding=pad)
        self.blocks = torch.nn.ModuleList(
            torch.nn.Sequential(
                torch.nn.GroupNorm(_groups(c), c),
                torch.nn.ReLU(),
                conv(c, c, k, padding=pad),
                torch.nn.GroupNorm(_groups(c), c),
                torch.nn.ReLU(),
                conv(c, c, k, padding=pad),
            )
            for _ in range(self.depth)
        )
        features = c * self.pool_size**self.spatial_dims
        self.heads = Heads(self.n_exits, features, self.n_classes, halting)
        pool = torch.nn.AdaptiveAvgPool1d if self.spatial_dims == 1 else torch.nn.AdaptiveAvgPool2d
        self.pool = pool(self.pool_size)
        self.branch_scale = torch.nn.Parameter(torch.tensor(1.0 / math.sqrt(self.depth), dtype=torch.float64))
        initialise(self, gen, dev, dt)

    def block_flops(self, spatial: tuple[int, ...]) -> list[float]:
        """FLOPs each exit adds for inputs of spatial size ``spatial`` (stem in the first), heads excluded."""
        pos = math.prod(spatial)
        kk = self.kernel_size**self.spatial_dims
        stem = 2.0 * self.in_channels * self.channels * kk * pos
        per = [2 * 2.0 * self.channels * self.channels * kk * pos] * self.depth
        return [stem, *per] if self.input_exit else [stem + per[0], *per[1:]]

    def forward(self, x: torch.Tensor) -> ExitOutputs:
        check_input(x, self, (self.in_channels,) + (None,) * self.spatial_dims)
        if min(x.shape[2:]) < self.pool_size:
            raise ValueError(
                f"x has spatial size {tuple(x.shape[2:])}, smaller than pool_size {self.pool_size}"
            )
        hidden, norms = residual_pass(self.stem(x), self.blocks, self._step, self.input_exit)
        pooled = [self.pool(z).flatten(1) for z in hidden]
        spatial = tuple(x.shape[2:])
        pool_flops = float(self.channels * math.prod(spatial))
        return exit_outputs(self.heads, pooled, hidden, norms, self.block_flops(spatial), pool_flops)

    def _step(self, block: torch.nn.Module, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        delta = self.branch_scale * block(h)
        return h + delta, delta


class NeuralODE(EarlyExitModel):
    r"""A continuous-depth block (neural ODE, optionally SDE) integrated by fixed-step Euler on :math:`[0,1]`.

    .. math:: h_0=W_{\rm in}x,\qquad h_{k+1}=h_k+\Delta t\,f(h_k,t_k)+\sigma\sqrt{\Delta t}\,\xi_k,
              \qquad f(h,t)=W_2\tanh(W_1h+t\,u+b_1)+b_2,

    :math:`t_k=k\Delta t`, :math:`\Delta t=1/n_{\rm steps}`, :math:`\xi_k\sim\mathcal N(0,I)` (Chen et al.
    2018 for the ODE; the Euler–Maruyama noise :math:`\sigma>0` gives a neural SDE, Tzen & Raginsky 2019).
    An exit can be taken at every step: there are ``n_steps + 1`` exits, exit ``k`` reading :math:`h_k`
    at depth-time :math:`t_k` (:attr:`times`), with one head shared by all times (``shared_head=True``,
    the readout of a continuous path) or one head per step. ``ExitOutputs.hidden`` is the whole path;
    the residual norm of exit ``k>0`` is :math:`\|h_k-h_{k-1}\|` (noise included), 0 at ``k=0``.

    Parameters
    ----------
    input_dim, width, n_classes : int
    n_steps : int
        Euler steps on :math:`[0,1]`.
    hidden : int, optional
        Width of the vector field's inner layer (default ``width``).
    noise : float
        :math:`\sigma\ge0`; the noise is drawn in training and evaluation alike, from ``generator`` when
        :meth:`forward` is given one.
    shared_head, halting, rng, device, dtype
        As above.

    Examples
    --------
    >>> import torch
    >>> from stochdepth.nn import NeuralODE
    >>> model = NeuralODE(3, 8, 2, n_steps=4, noise=0.1, rng=0)
    >>> out = model(torch.zeros(6, 3), generator=torch.Generator().manual_seed(0))
    >>> out.n_exits, len(out.hidden), model.times.tolist()
    (5, 5, [0.0, 0.25, 0.5, 0.75, 1.0])
    """

    def __init__(
        self,
        input_dim: int,
        width: int,
        n_classes: int,
        *,
        n_steps: int = 10,
        hidden: int | None = None,
        noise: float = 0.0,
        shared_head: bool = True,
        halting: bool = False,
        rng: RNGLike = 0,
        device: Any = "cpu",
        dtype: Any = torch.float32,
    ) -> None:
        super().__init__()
        self.input_dim = check_int("input_dim", input_dim, min=1)
        self.width = check_int("width", width, min=1)
        self.n_classes = check_int("n_classes", n_classes, min=2)
        self.n_steps = check_int("n_steps", n_steps, min=1)
        inner = self.width if hidden is None else check_int("hidden", hidden, min=1)
        self.noise = check_real("noise", noise, lo=0.0)
        dev, dt, gen = setup(rng, device, dtype)
        self.n_exits = self.n_steps + 1
        self.input_map = torch.nn.Linear(self.input_dim, self.width, bias=False)
        self.inner = torch.nn.Linear(self.width, inner)
        self.time_weight = torch.nn.Parameter(torch.zeros(inner))
        self.outer = torch.nn.Linear(inner, self.width)
        self.heads = Heads(self.n_exits, self.width, self.n_classes, halting, shared=shared_head)
        initialise(self, gen, dev, dt)

    @property
    def times(self) -> torch.Tensor:
        """Depth-times :math:`t_k=k/n_{\\rm steps}` of the exits, shape ``(n_steps + 1,)``."""
        return torch.linspace(0.0, 1.0, self.n_steps + 1, dtype=torch.float64)

    def vector_field(self, h: torch.Tensor, t: float) -> torch.Tensor:
        """:math:`f(h,t)` on a batch of states ``(batch, width)``."""
        return self.outer(torch.tanh(self.inner(h) + t * self.time_weight))

    def forward(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> ExitOutputs:
        check_input(x, self, None, features=self.input_dim)
        if generator is not None and generator.device != x.device:
            raise ValueError(f"generator is on {generator.device} but x is on {x.device}")
        dt = 1.0 / self.n_steps

        def step(k: int, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            delta = dt * self.vector_field(h, k * dt)
            if self.noise > 0:
                xi = torch.randn(h.shape, dtype=h.dtype, device=h.device, generator=generator)
                delta = delta + self.noise * math.sqrt(dt) * xi
            return h + delta, delta

        h = self.input_map(x.flatten(1))
        hidden, norms = residual_pass(h, range(self.n_steps), step, input_exit=True)
        inner = self.inner.out_features
        step = 2.0 * 2 * self.width * inner
        blocks = [2.0 * self.input_dim * self.width] + [step] * self.n_steps
        return exit_outputs(self.heads, hidden, hidden, norms, blocks)
