r"""The torch layer of stochdepth: random residual networks with explicit weights, on any device.

Importing this subpackage imports torch (``import stochdepth`` never does: the root package loads
``stochdepth.nn`` on first attribute access). Install torch with ``pip install stochdepth[torch]``.

* :class:`RandomResNet` -- the network of docs/science.md §A1,

  .. math:: Y_0=W_{\rm in}x,\qquad Y_l=Y_{l-1}+\sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),

  as a :class:`torch.nn.Module` with explicit Gaussian weights;
* :func:`sample_torch_network` and the sampler :class:`TorchExplicitWeights` -- many independent
  networks at once (batched weights, one layer at a time), returning the
  :class:`~stochdepth.networks.NetworkSample` of :func:`stochdepth.networks.sample_network`, so that
  torch networks, the exact-in-law sampler and the limit diffusion can be compared directly
  (docs/science.md Part C);
* :func:`torch_activation` -- an activation as a function of tensors;
* :func:`default_device` -- ``cuda`` when available, else ``cpu``.

Trained networks (docs/science.md §B3):

* :mod:`~stochdepth.nn.regularizers` -- depth regularizers as losses of
  :class:`~stochdepth.nn.exits.ExitOutputs`: :class:`ExpectedDepthLoss`, :class:`ResidualDecayPenalty`,
  :class:`LookAheadPenalty`, the baselines :class:`DeepSupervision` and :class:`PonderNetLoss`, and
  :class:`CompositeLoss` (final exit + deep supervision + :math:`\lambda\mathcal L_{\rm depth}`);
* :func:`fit` (:mod:`~stochdepth.nn.training`) -- seeded training with early stopping, atomic
  checkpoints and bitwise resume, returning a :class:`TrainingHistory`.
"""

from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "stochdepth.nn needs PyTorch, which could not be imported "
        f"({_exc}); install it with: pip install stochdepth[torch]"
    ) from _exc

from ._device import default_device
from .activation import torch_activation
from .random_resnet import RandomResNet, TorchExplicitWeights, sample_torch_network
from .regularizers import (
    CompositeLoss,
    DeepSupervision,
    ExpectedDepthLoss,
    LookAheadPenalty,
    PonderNetLoss,
    ResidualDecayPenalty,
    halting_distribution,
    make_loss,
)
from .training import EpochRecord, TrainingHistory, fit

__all__ = [
    "CompositeLoss",
    "DeepSupervision",
    "EpochRecord",
    "ExpectedDepthLoss",
    "LookAheadPenalty",
    "PonderNetLoss",
    "RandomResNet",
    "ResidualDecayPenalty",
    "TorchExplicitWeights",
    "TrainingHistory",
    "default_device",
    "fit",
    "halting_distribution",
    "make_loss",
    "sample_torch_network",
    "torch_activation",
]
