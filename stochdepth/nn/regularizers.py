r"""Depth regularizers and the exit losses they are compared with (docs/science.md §B3).

Every loss here is a :class:`torch.nn.Module` called as ``loss(outputs, target)`` on the
:class:`~stochdepth.nn.exits.ExitOutputs` of an early-exit model with ``L`` exits and integer class
labels ``target`` of shape ``(batch,)``; it returns a scalar tensor (a mean over the batch). Notation:
:math:`\ell_l=\ell(\psi_l(h_l),y)` is the cross-entropy of exit ``l``, :math:`r_l=\|f_l(h_l)\|` its
residual norm, :math:`s_l` its halting logit.

Baselines users know
    :class:`DeepSupervision` (a weighted sum of every exit's loss) and :class:`PonderNetLoss`
    (Banino, Balaguer & Blundell 2021, "PonderNet: Learning to Ponder").
The three depth regularizers of §B3
    :class:`ExpectedDepthLoss` (a), :class:`ResidualDecayPenalty` (b), :class:`LookAheadPenalty` (c).
The composite
    :class:`CompositeLoss`: final-exit loss + deep supervision + :math:`\lambda\,\mathcal L_{\rm depth}`.

:func:`make_loss` builds any of them from a name and keyword settings (for configuration files), and
:func:`halting_distribution` is the exit law of soft halting.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .exits import ExitOutputs

__all__ = [
    "CompositeLoss",
    "DeepSupervision",
    "ExpectedDepthLoss",
    "LookAheadPenalty",
    "PonderNetLoss",
    "ResidualDecayPenalty",
    "exit_losses",
    "halting_distribution",
    "make_loss",
]


def _check_number(value: object, name: str, *, low: float, low_open: bool = False, high: float = math.inf):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    bad_low = value <= low if low_open else value < low
    if not math.isfinite(value) or bad_low or value > high:
        lo = "(" if low_open else "["
        raise ValueError(f"{name} must lie in {lo}{low}, {high}] and be finite, got {value!r}")
    return value


def _check_inputs(outputs: ExitOutputs, target: torch.Tensor) -> None:
    if not isinstance(outputs, ExitOutputs):
        raise TypeError(f"outputs must be an ExitOutputs, got {type(outputs).__name__}")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor of class labels, got {type(target).__name__}")
    batch = outputs.logits.shape[1]
    if target.ndim != 1 or target.shape[0] != batch:
        raise ValueError(
            f"target must have shape ({batch},) (one label per sample), got {tuple(target.shape)}"
        )
    if target.dtype.is_floating_point or target.dtype == torch.bool or target.dtype.is_complex:
        raise TypeError(f"target must hold integer class labels, got dtype {target.dtype}")
    if target.device != outputs.logits.device:
        raise ValueError(f"target is on {target.device} but the outputs are on {outputs.logits.device}")


def _halting_logits(outputs: ExitOutputs, who: str) -> torch.Tensor:
    if outputs.halting_logits is None:
        raise ValueError(
            f"{who} needs halting heads: outputs.halting_logits is None "
            "(use a model built with halting heads)"
        )
    return outputs.halting_logits


def exit_losses(outputs: ExitOutputs, target: torch.Tensor) -> torch.Tensor:
    r"""Per-sample cross-entropy of every exit, :math:`\ell_{l,b}=-\log\mathrm{softmax}(\psi_l(h_l))_{y_b}`.

    Returns
    -------
    Tensor, shape (L, batch)
    """
    _check_inputs(outputs, target)
    n_exits, batch, n_classes = outputs.logits.shape
    flat = outputs.logits.reshape(n_exits * batch, n_classes)
    return F.cross_entropy(flat, target.repeat(n_exits), reduction="none").reshape(n_exits, batch)


def halting_distribution(halting_logits: torch.Tensor) -> torch.Tensor:
    r"""Exit law of soft halting: :math:`\pi_l=q_l\prod_{k<l}(1-q_k)`, remainder on the last exit.

    With :math:`q_l=\sigma(s_l)`, exits :math:`0,\dots,L-2` take :math:`\pi_l` as written and the last
    exit takes the mass not yet spent, :math:`\pi_{L-1}=\prod_{k<L-1}(1-q_k)` (its own :math:`q` is
    ignored: the network must stop there), so :math:`\sum_l\pi_l=1` exactly. Computed in log space
    (:math:`\log q=\log\sigma(s)`, :math:`\log(1-q)=\log\sigma(-s)`) so that saturated heads stay finite.

    Parameters
    ----------
    halting_logits : Tensor, shape (L, batch)

    Returns
    -------
    Tensor, shape (L, batch)
        Non-negative, each column sums to one.
    """
    if halting_logits.ndim != 2:
        raise ValueError(
            f"halting_logits must have shape (n_exits, batch), got {tuple(halting_logits.shape)}"
        )
    return torch.exp(_log_halting_distribution(halting_logits))


def _log_halting_distribution(halting_logits: torch.Tensor) -> torch.Tensor:
    log_continue = F.logsigmoid(-halting_logits)
    # log prod_{k<l}(1-q_k): an exclusive cumulative sum along the exits
    survive = torch.cumsum(log_continue, dim=0) - log_continue
    log_pi = survive + F.logsigmoid(halting_logits)
    return torch.cat([log_pi[:-1], survive[-1:]], dim=0)


class DeepSupervision(torch.nn.Module):
    r"""Deep supervision: :math:`\sum_l w_l\,\mathbb E_b\,\ell_l` (Lee et al. 2015, "Deeply-supervised nets").

    Parameters
    ----------
    weights : sequence of float, optional
        One non-negative weight per exit, not all zero, used as given. Default: equal weights
        :math:`w_l=1/L` (the mean of the exit losses).
    """

    def __init__(self, weights: Sequence[float] | None = None) -> None:
        super().__init__()
        if weights is not None:
            if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
                raise TypeError(f"weights must be a sequence of numbers, got {type(weights).__name__}")
            weights = tuple(_check_number(w, "weights[i]", low=0.0) for w in weights)
            if not weights or sum(weights) == 0:
                raise ValueError("weights must hold at least one positive weight")
        self.weights = weights

    def exit_weights(self, n_exits: int, like: torch.Tensor) -> torch.Tensor:
        """The weights :math:`w_l` for ``n_exits`` exits, as a tensor like ``like``."""
        if self.weights is None:
            return torch.full((n_exits,), 1.0 / n_exits, dtype=like.dtype, device=like.device)
        if len(self.weights) != n_exits:
            raise ValueError(f"weights has {len(self.weights)} entries but the model has {n_exits} exits")
        return torch.tensor(self.weights, dtype=like.dtype, device=like.device)

    def forward(self, outputs: ExitOutputs, target: torch.Tensor) -> torch.Tensor:
        losses = exit_losses(outputs, target)
        return (self.exit_weights(outputs.n_exits, losses) @ losses).mean()

    def extra_repr(self) -> str:
        return f"weights={self.weights}"


def _cumulative_costs(outputs: ExitOutputs, cost: object, like: torch.Tensor) -> torch.Tensor:
    n_exits = outputs.n_exits
    if cost == "depth":
        return torch.arange(1, n_exits + 1, dtype=like.dtype, device=like.device) / n_exits
    if cost == "flops":
        flops = outputs.flops.to(dtype=like.dtype, device=like.device)
        if not torch.all(flops[-1] > 0):
            raise ValueError("outputs.flops must end with a positive total to be used as cost='flops'")
        return flops / flops[-1]
    if len(cost) != n_exits:
        raise ValueError(f"cost has {len(cost)} per-block costs but the model has {n_exits} exits")
    return torch.cumsum(torch.tensor(cost, dtype=like.dtype, device=like.device), dim=0)


def _check_cost(cost: object) -> str | tuple[float, ...]:
    if isinstance(cost, str):
        if cost not in ("depth", "flops"):
            raise ValueError(f"cost must be 'depth', 'flops' or a sequence of per-block costs, got {cost!r}")
        return cost
    if not isinstance(cost, Sequence):
        raise TypeError(f"cost must be 'depth', 'flops' or a sequence of numbers, got {type(cost).__name__}")
    return tuple(_check_number(c, "cost[i]", low=0.0) for c in cost)


class ExpectedDepthLoss(torch.nn.Module):
    r"""§B3(a): expected task loss plus expected cost under soft halting.

    .. math::

        \mathcal L=\mathbb E_b\Big[\sum_{l}\pi_l\,\ell_l+\lambda\sum_l\pi_l\,C_l\Big],\qquad
        \pi_l=q_l\prod_{k<l}(1-q_k),\ q_l=\sigma(s_l),

    with the remainder mass on the last exit (:func:`halting_distribution`). The first sum is the
    expected loss of the randomised stopping rule that exits at ``l`` with probability :math:`\pi_l`,
    the second its expected cost: together :math:`-\mathbb E_\pi Z` for the reward
    :math:`Z_l=-\ell_l-\lambda C_l` of docs/science.md §B1. With :math:`\lambda=0` it is the expected
    task loss alone.

    Parameters
    ----------
    cost_weight : float, default 0.01
        :math:`\lambda\ge0`, the price of one unit of cumulative cost in units of cross-entropy.
    cost : {'depth', 'flops'} or sequence of float, default 'depth'
        :math:`C_l`: ``'depth'`` gives :math:`C_l=(l+1)/L` (the fraction of the blocks run),
        ``'flops'`` gives ``outputs.flops[l] / outputs.flops[-1]`` (the model's cumulative FLOPs,
        normalised to one at the last exit), a sequence of ``L`` non-negative per-block costs
        :math:`c_k` gives :math:`C_l=\sum_{k\le l}c_k` (unnormalised).
    """

    def __init__(self, cost_weight: float = 0.01, *, cost: str | Sequence[float] = "depth") -> None:
        super().__init__()
        self.cost_weight = _check_number(cost_weight, "cost_weight", low=0.0)
        self.cost = _check_cost(cost)

    def penalty(self, outputs: ExitOutputs, target: torch.Tensor) -> torch.Tensor:
        r""":math:`\mathbb E_b\sum_l\pi_lC_l`, the expected cost alone."""
        _check_inputs(outputs, target)
        pi = halting_distribution(_halting_logits(outputs, "ExpectedDepthLoss"))
        return (_cumulative_costs(outputs, self.cost, pi) @ pi).mean()

    def forward(self, outputs: ExitOutputs, target: torch.Tensor) -> torch.Tensor:
        losses = exit_losses(outputs, target)
        pi = halting_distribution(_halting_logits(outputs, "ExpectedDepthLoss"))
        task = (pi * losses).sum(dim=0)
        depth = _cumulative_costs(outputs, self.cost, pi) @ pi
        return (task + self.cost_weight * depth).mean()

    def extra_repr(self) -> str:
        return f"cost_weight={self.cost_weight}, cost={self.cost!r}"


class ResidualDecayPenalty(torch.nn.Module):
    r"""§B3(b): diminishing returns, :math:`\sum_l w_l\,\mathbb E_b\,r_l^2` with increasing weights.

    The weights are normalised to sum to one, :math:`w_l=\tilde w_l/\sum_k\tilde w_k`, with

    * ``schedule='power'``: :math:`\tilde w_l=(l+1)^p` (``rate`` is :math:`p\ge0`),
    * ``schedule='geometric'``: :math:`\tilde w_l=\rho^{\,l}` (``rate`` is :math:`\rho\ge1`),

    so late residual branches cost more than early ones: the penalty pushes the network towards
    summable (§B2.2) or geometrically decaying (§B2.3) residuals. The residual norms are
    ``outputs.residual_norms``; an exit that reads the input map contributes 0.

    Parameters
    ----------
    rate : float, default 1.0
        :math:`p` or :math:`\rho` as above.
    schedule : {'power', 'geometric'}, default 'power'
    """

    def __init__(self, rate: float = 1.0, *, schedule: str = "power") -> None:
        super().__init__()
        if schedule not in ("power", "geometric"):
            raise ValueError(f"schedule must be 'power' or 'geometric', got {schedule!r}")
        low = 0.0 if schedule == "power" else 1.0
        self.rate = _check_number(rate, "rate", low=low)
        self.schedule = schedule

    def exit_weights(self, n_exits: int, like: torch.Tensor) -> torch.Tensor:
        """The normalised weights :math:`w_l`, as a tensor like ``like``."""
        index = torch.arange(n_exits, dtype=like.dtype, device=like.device)
        raw = (index + 1) ** self.rate if self.schedule == "power" else self.rate**index
        return raw / raw.sum()

    def forward(self, outputs: ExitOutputs, target: torch.Tensor | None = None) -> torch.Tensor:
        norms = outputs.residual_norms
        return (self.exit_weights(outputs.n_exits, norms) @ norms.square()).mean()

    def extra_repr(self) -> str:
        return f"rate={self.rate}, schedule={self.schedule!r}"


class LookAheadPenalty(torch.nn.Module):
    r"""§B3(c): look-ahead consistency, :math:`\mathbb E_b\sum_{l<L-1}\big[(G_{l+1}-G_l)-c\big]_+`.

    A one-step gain larger than its cost :math:`c` after exit ``l`` is a reason to go on; penalising
    such late gains pushes the gain curve :math:`l\mapsto G_l` towards the monotone case of §B2.4,
    where stopping at the first exit whose next step is not worth ``c`` is optimal.

    Parameters
    ----------
    margin : float, default 0.0
        The cost :math:`c\ge0` of one more block, in the units of the gain.
    gain : {'log_prob', 'prob'}, default 'log_prob'
        :math:`G_l`: ``'log_prob'`` is :math:`-\ell_l` (the log-probability of the true class),
        ``'prob'`` the probability of the true class (bounded, so one outlier cannot dominate).
    fixed_target : bool, default False
        ``True`` treats the next exit's gain :math:`G_{l+1}` as a fixed target (no gradient flows
        through it, as with the bootstrapped target of temporal-difference learning): the penalty can
        then only be lowered by raising :math:`G_l`, pulling each exit up to what the next one already
        achieves, never by pushing a later exit down. ``False`` lets both sides move.
    """

    def __init__(self, margin: float = 0.0, *, gain: str = "log_prob", fixed_target: bool = False) -> None:
        super().__init__()
        if gain not in ("log_prob", "prob"):
            raise ValueError(f"gain must be 'log_prob' or 'prob', got {gain!r}")
        if not isinstance(fixed_target, bool):
            raise TypeError(f"fixed_target must be a bool, got {type(fixed_target).__name__}")
        self.margin = _check_number(margin, "margin", low=0.0)
        self.gain = gain
        self.fixed_target = fixed_target

    def gains(self, outputs: ExitOutputs, target: torch.Tensor) -> torch.Tensor:
        """:math:`G_{l,b}`, shape (L, batch)."""
        g = -exit_losses(outputs, target)
        return torch.exp(g) if self.gain == "prob" else g

    def forward(self, outputs: ExitOutputs, target: torch.Tensor) -> torch.Tensor:
        g = self.gains(outputs, target)
        following = g[1:].detach() if self.fixed_target else g[1:]
        return F.relu(following - g[:-1] - self.margin).sum(dim=0).mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, gain={self.gain!r}, fixed_target={self.fixed_target}"


class PonderNetLoss(torch.nn.Module):
    r"""PonderNet's loss (Banino et al. 2021): expected task loss plus a KL to a geometric prior.

    .. math::

        \mathcal L=\mathbb E_b\Big[\sum_l\pi_l\,\ell_l+\beta\,\mathrm{KL}\big(\pi\,\|\,p_G\big)\Big],
        \qquad p_G(l)=\frac{\lambda_p(1-\lambda_p)^l}{1-(1-\lambda_p)^L},\ l=0,\dots,L-1,

    with :math:`\pi` the halting law of :func:`halting_distribution` (remainder on the last exit) and
    :math:`p_G` the geometric law of success probability :math:`\lambda_p` truncated to the ``L`` exits
    and renormalised. The prior's mean :math:`\approx1/\lambda_p` exits sets the expected depth the
    regulariser pulls towards.

    Parameters
    ----------
    beta : float, default 0.01
        :math:`\beta\ge0`, weight of the KL term.
    prior_halting : float, default 0.2
        :math:`\lambda_p\in(0,1)`.
    """

    def __init__(self, beta: float = 0.01, *, prior_halting: float = 0.2) -> None:
        super().__init__()
        self.beta = _check_number(beta, "beta", low=0.0)
        self.prior_halting = _check_number(prior_halting, "prior_halting", low=0.0, low_open=True, high=1.0)
        if self.prior_halting == 1.0:
            raise ValueError("prior_halting must lie in (0, 1): 1 puts the whole prior on the first exit")

    def log_prior(self, n_exits: int, like: torch.Tensor) -> torch.Tensor:
        r""":math:`\log p_G(l)`, shape (L,)."""
        lam = self.prior_halting
        index = torch.arange(n_exits, dtype=like.dtype, device=like.device)
        log_norm = math.log1p(-((1.0 - lam) ** n_exits))
        return math.log(lam) + index * math.log1p(-lam) - log_norm

    def kl(self, outputs: ExitOutputs) -> torch.Tensor:
        r"""Per-sample :math:`\mathrm{KL}(\pi\|p_G)=\sum_l\pi_l(\log\pi_l-\log p_G(l))`, shape (batch,)."""
        log_pi = _log_halting_distribution(_halting_logits(outputs, "PonderNetLoss"))
        log_prior = self.log_prior(outputs.n_exits, log_pi)[:, None]
        return (torch.exp(log_pi) * (log_pi - log_prior)).sum(dim=0)

    def forward(self, outputs: ExitOutputs, target: torch.Tensor) -> torch.Tensor:
        losses = exit_losses(outputs, target)
        pi = halting_distribution(_halting_logits(outputs, "PonderNetLoss"))
        return ((pi * losses).sum(dim=0) + self.beta * self.kl(outputs)).mean()

    def extra_repr(self) -> str:
        return f"beta={self.beta}, prior_halting={self.prior_halting}"


class CompositeLoss(torch.nn.Module):
    r"""The total loss of §B3: final-exit loss + deep supervision + :math:`\lambda\,\mathcal L_{\rm depth}`.

    .. math::

        \mathcal L=a\,\mathbb E_b\,\ell_{L-1}+\sum_lw_l\,\mathbb E_b\,\ell_l+\lambda\,\mathcal L_{\rm depth}.

    Several depth terms add up, :math:`\sum_j\lambda_j\mathcal L_{\rm depth}^{(j)}` (e.g. look-ahead
    consistency for an early rise of the gain and residual decay for shrinking late branches).

    Parameters
    ----------
    depth : torch.nn.Module, sequence of torch.nn.Module, or None
        :math:`\mathcal L_{\rm depth}`, any loss of this module called as ``depth(outputs, target)``
        (typically :class:`ExpectedDepthLoss`, :class:`ResidualDecayPenalty` or
        :class:`LookAheadPenalty`), several of them, or ``None`` for no depth term.
    depth_weight : float or sequence of float, default 0.1
        :math:`\lambda\ge0`; with several depth terms, one weight each (or one for all).
    supervision : DeepSupervision, optional
        The deep-supervision term; by default ``DeepSupervision()`` (equal weights :math:`1/L`).
    final_weight : float, default 1.0
        :math:`a\ge0`, weight of the last exit's own loss.
    deep_supervision : bool, default True
        ``False`` leaves the deep-supervision term out (then ``supervision`` must be ``None``).
    """

    def __init__(
        self,
        depth: torch.nn.Module | Sequence[torch.nn.Module] | None = None,
        *,
        depth_weight: float | Sequence[float] = 0.1,
        supervision: DeepSupervision | None = None,
        final_weight: float = 1.0,
        deep_supervision: bool = True,
    ) -> None:
        super().__init__()
        terms = [] if depth is None else [depth] if isinstance(depth, torch.nn.Module) else depth
        if isinstance(terms, (str, bytes)) or not isinstance(terms, Sequence):
            raise TypeError(
                f"depth must be a torch.nn.Module loss, a sequence of them or None, got {terms!r}"
            )
        for term in terms:
            if not isinstance(term, torch.nn.Module):
                raise TypeError(f"depth must hold torch.nn.Module losses, got {type(term).__name__}")
        if isinstance(depth_weight, Sequence) and not isinstance(depth_weight, (str, bytes)):
            if len(depth_weight) != len(terms):
                raise ValueError(f"depth_weight has {len(depth_weight)} weights for {len(terms)} depth terms")
            weights = tuple(_check_number(w, "depth_weight[j]", low=0.0) for w in depth_weight)
        else:
            weights = (_check_number(depth_weight, "depth_weight", low=0.0),) * len(terms)
        if supervision is not None and not isinstance(supervision, DeepSupervision):
            raise TypeError(
                f"supervision must be a DeepSupervision or None, got {type(supervision).__name__}"
            )
        self.depth = torch.nn.ModuleList(terms)
        self.depth_weight = weights
        self.final_weight = _check_number(final_weight, "final_weight", low=0.0)
        if supervision is not None and not deep_supervision:
            raise ValueError("supervision was given but deep_supervision is False")
        if supervision is None and deep_supervision:
            supervision = DeepSupervision()
        self.supervision = supervision

    def forward(self, outputs: ExitOutputs, target: torch.Tensor) -> torch.Tensor:
        losses = exit_losses(outputs, target)
        total = self.final_weight * losses[-1].mean()
        if self.supervision is not None:
            total = total + (self.supervision.exit_weights(outputs.n_exits, losses) @ losses).mean()
        for term, weight in zip(self.depth, self.depth_weight):
            if weight != 0.0:
                total = total + weight * term(outputs, target)
        return total

    def extra_repr(self) -> str:
        return f"depth_weight={self.depth_weight}, final_weight={self.final_weight}"


_LOSSES = {
    "deep_supervision": DeepSupervision,
    "expected_depth": ExpectedDepthLoss,
    "residual_decay": ResidualDecayPenalty,
    "lookahead": LookAheadPenalty,
    "pondernet": PonderNetLoss,
}


def make_loss(name: str, **settings: object) -> torch.nn.Module:
    """Build a loss of this module from its name and keyword settings.

    Parameters
    ----------
    name : {'deep_supervision', 'expected_depth', 'residual_decay', 'lookahead', 'pondernet'}
    **settings
        The constructor's keyword arguments; an unknown one is a :class:`ValueError` naming it.

    Examples
    --------
    >>> from stochdepth.nn.regularizers import make_loss
    >>> make_loss("pondernet", beta=0.05, prior_halting=0.25)
    PonderNetLoss(beta=0.05, prior_halting=0.25)
    """
    if name not in _LOSSES:
        raise ValueError(f"name must be one of {sorted(_LOSSES)}, got {name!r}")
    cls = _LOSSES[name]
    known = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown} for regularizer {name!r}; known: {known}")
    return cls(**settings)
