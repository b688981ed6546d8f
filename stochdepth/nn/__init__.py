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
* :func:`default_device` -- ``cuda`` when available, else ``cpu``;
* :func:`device_kernels` -- the kernels torch computes with on a device (what fixes a result to the bit).

Trained networks (docs/science.md §B3):

* :mod:`~stochdepth.nn.regularizers` -- depth regularizers as losses of
  :class:`~stochdepth.nn.exits.ExitOutputs`: :class:`ExpectedDepthLoss`, :class:`ResidualDecayPenalty`,
  :class:`LookAheadPenalty`, the baselines :class:`DeepSupervision` and :class:`PonderNetLoss`, and
  :class:`CompositeLoss` (final exit + deep supervision + :math:`\lambda\mathcal L_{\rm depth}`);
* :func:`fit` (:mod:`~stochdepth.nn.training`) -- seeded training with early stopping, atomic
  checkpoints and bitwise resume, returning a :class:`TrainingHistory`.

Early-exit models, data and traces (docs/science.md §B1, §B4, §B7):

* the contract :class:`EarlyExitModel` / :class:`ExitOutputs` (:mod:`stochdepth.nn.exits`);
* early-exit models: :class:`ResidualMLP` (§A1 with trainable input map and branch scale),
  :class:`ConvResNet` (1-D and 2-D), :class:`SequenceTransformer` (pre-LN, §B4) and :class:`NeuralODE`
  (continuous depth, optionally SDE, an exit at every Euler step);
* :class:`ProbedModel` -- forward hooks on the blocks of any network and linear probes fitted afterwards;
* offline tasks with fixed splits (:mod:`stochdepth.nn.data`): :func:`load_digits`, :func:`load_mnist1d`,
  :func:`gaussian_mixture`, :func:`parity_sequences`, :func:`pointer_chasing`, :func:`marked_value`, as a
  :class:`Dataset` of :class:`Split` objects;
* :func:`record_trace` -- a model run over a split as a :class:`~stochdepth.depth.Trace` (numpy, one file),
  :func:`load_trace` and :func:`model_signature`.
"""

from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError as _exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "stochdepth.nn needs PyTorch, which could not be imported "
        f"({_exc}); install it with: pip install stochdepth[torch]"
    ) from _exc

from ._device import default_device, device_kernels
from .activation import torch_activation
from .data import (
    Dataset,
    Split,
    gaussian_mixture,
    load_digits,
    load_mnist1d,
    marked_value,
    parity_sequences,
    pointer_chasing,
)
from .exits import EarlyExitModel, ExitOutputs
from .models import ConvResNet, NeuralODE, ResidualMLP
from .probes import ProbedModel
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
from .traces import load_trace, model_signature, record_trace
from .training import EpochRecord, TrainingHistory, fit
from .transformer import SequenceTransformer

__all__ = [
    "CompositeLoss",
    "ConvResNet",
    "Dataset",
    "DeepSupervision",
    "EarlyExitModel",
    "EpochRecord",
    "ExitOutputs",
    "ExpectedDepthLoss",
    "LookAheadPenalty",
    "NeuralODE",
    "PonderNetLoss",
    "ProbedModel",
    "RandomResNet",
    "ResidualDecayPenalty",
    "ResidualMLP",
    "SequenceTransformer",
    "Split",
    "TorchExplicitWeights",
    "TrainingHistory",
    "default_device",
    "device_kernels",
    "fit",
    "gaussian_mixture",
    "halting_distribution",
    "load_digits",
    "load_mnist1d",
    "load_trace",
    "make_loss",
    "marked_value",
    "model_signature",
    "parity_sequences",
    "pointer_chasing",
    "record_trace",
    "sample_torch_network",
    "torch_activation",
]
