r"""Random residual networks with explicit torch weights, on any device.

The network of docs/science.md §A1 with a final depth-time :math:`t_1` (:math:`t_1=1` is the paper's
network), written with explicit Gaussian weight matrices:

.. math::
    Y_0 = W_{\rm in}x,\qquad Y_l = Y_{l-1} + \sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),\quad l=1,\dots,L,

:math:`(W_{\rm in})_{ij}\sim\mathcal N(0,1/d)`, :math:`(W_l)_{ij}\sim\mathcal N(0,1/n)`, all independent,
no biases. Two ways to use it:

* :class:`RandomResNet` -- one network as a :class:`torch.nn.Module` (its weights are parameters:
  move it with ``.to()``, differentiate through it, save its ``state_dict``);
* :func:`sample_torch_network` / :class:`TorchExplicitWeights` -- many independent networks at once for
  Monte Carlo: the weights of a batch of ``B`` networks are drawn layer by layer as a ``(B, n, n)``
  tensor (memory :math:`O(Bn^2)`, never all layers at once) and the ``k`` inputs are pushed through with
  batched matrix products. The result is the :class:`~stochdepth.networks.NetworkSample` of
  :func:`stochdepth.networks.sample_network`, observed with the same observables, so validation code
  can swap this sampler for :class:`~stochdepth.networks.ExactLaw` (docs/science.md §A2) or the numpy
  :class:`~stochdepth.networks.ExplicitWeights`.

Random numbers: a :class:`torch.Generator` on the target device, seeded from the library's ``rng``
normalisation (:mod:`stochdepth.random`); the Monte Carlo path uses one generator per chunk of networks,
seeded from the chunk's spawned stream, drawing its normals in the working dtype (float32 normals are
several times cheaper to draw, and drawing dominates the cost). A :class:`RandomResNet` draws its weights
in float64 and rounds them, so its float32 version of a seed is the rounding of the float64 one. CPU and
CUDA generators are different algorithms: a seed gives different networks on the two devices, with the
same law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._checks import NumericalError, check_array, check_bool, check_int
from ..activations import Activation, get_activation
from ..executors import accepts_executor
from ..montecarlo import ChunkKernel, Observable, Reducer
from ..networks import NetworkSample, NetworkSampler, NetworkSpec, as_network_spec, sample_network
from ..networks.sampling import check_record_layers, states_chunk_size
from ..random import RNGLike
from ._device import as_device, as_dtype, torch_generator
from .activation import torch_activation

__all__ = ["RandomResNet", "TorchExplicitWeights", "sample_torch_network"]

#: Bytes of weight buffers per batch of networks in :class:`TorchExplicitWeights` when ``batch_size``
#: is not given, by device type (an accelerator gets bigger batches: fewer, larger kernels).
_BATCH_BYTES = {"cpu": 32 * 2**20}
_BATCH_BYTES_ACCELERATOR = 512 * 2**20


# ----------------------------------------------------------------------------------------------------
# One network as a torch module
# ----------------------------------------------------------------------------------------------------


class RandomResNet(torch.nn.Module):
    r"""A random residual network of docs/science.md §A1 with explicit weights (a :class:`torch.nn.Module`).

    .. math::
        Y_0 = W_{\rm in}x,\qquad Y_l = Y_{l-1} + \sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),\quad l=1,\dots,L,

    with :math:`(W_{\rm in})_{ij}\sim\mathcal N(0,1/d)` and :math:`(W_l)_{ij}\sim\mathcal N(0,1/n)`
    i.i.d., no biases. Layer :math:`l` sits at depth-time :math:`t=t_1l/L`.

    Parameters
    ----------
    input_dim : int or NetworkSpec
        :math:`d\ge1`; or a :class:`~stochdepth.networks.NetworkSpec` with a depth and inputs (giving
        :math:`d`), which then replaces ``width``, ``depth``, ``activation`` and ``t1``.
    width : int
        :math:`n\ge1`.
    depth : int
        :math:`L\ge1`.
    activation : str or Activation
        :math:`\phi` (default ReLU); it needs a torch implementation (all built-ins have one; for a
        custom one pass ``torch_fn`` to :meth:`~stochdepth.Activation.custom`).
    t1 : float
        Final depth-time :math:`t_1>0` (branch scale :math:`\sqrt{t_1/L}`; default 1).
    rng : None, int, SeedSequence or numpy Generator
        Seed of the weights (see :mod:`stochdepth.random`); a :class:`torch.Generator` on ``device`` is
        seeded from it.
    device : None, str, torch.device or int
        Where the weights live; default :func:`~stochdepth.nn.default_device`.
    dtype : torch.float64 or torch.float32
        Working precision (default float64). Weights are drawn in float64 and rounded, so the float32
        network of a seed is the rounding of the float64 network of the same seed.
    requires_grad : bool
        Whether the weights are trainable parameters (default ``False``: a random network to study).

    Attributes
    ----------
    input_weight : torch.nn.Parameter, shape (width, input_dim)
        :math:`W_{\rm in}`.
    weight : torch.nn.Parameter, shape (depth, width, width)
        ``weight[l - 1]`` is :math:`W_l` (memory :math:`8Ln^2` bytes in float64).
    activation : Activation
    t1 : float

    Notes
    -----
    Inputs are rows, as in torch: :meth:`forward` maps ``x`` of shape ``(..., d)`` to ``(..., n)``, the
    transposes of the columns :math:`x` and :math:`Y_l` above (:func:`sample_torch_network` and
    :mod:`stochdepth.networks` use the column convention, states of shape ``(n, k)``).

    References
    ----------
    Hayou, *On the infinite-depth limit of finite-width neural networks*, TMLR 2023 (the network);
    docs/science.md §A1.

    Examples
    --------
    >>> import torch
    >>> from stochdepth.nn import RandomResNet
    >>> net = RandomResNet(3, 16, 32, "relu", rng=0, device="cpu")
    >>> x = torch.tensor([[1.0, -0.5, 2.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    >>> y, states = net(x, record=[0, 16, 32])
    >>> y.shape, states.shape
    (torch.Size([2, 16]), torch.Size([3, 2, 16]))
    >>> bool(torch.equal(states[-1], y))
    True
    """

    def __init__(
        self,
        input_dim: int | NetworkSpec,
        width: int | None = None,
        depth: int | None = None,
        activation: str | Activation | None = None,
        t1: float | None = None,
        *,
        rng: RNGLike = None,
        device: Any = None,
        dtype: Any = torch.float64,
        requires_grad: bool = False,
    ) -> None:
        if isinstance(input_dim, NetworkSpec):
            spec = as_network_spec(input_dim, width, depth, activation, t1)
            input_dim = spec.input_dim
        else:
            input_dim = check_int("input_dim", input_dim, min=1)
            spec = as_network_spec(None, width, depth, activation, t1)
        width, depth, t1 = spec.width, spec.require("depth"), spec.t1
        act = get_activation(spec.activation)
        self._phi = torch_activation(act)
        dev = as_device(device)
        dt = as_dtype(dtype, dev)
        check_bool("requires_grad", requires_grad)
        super().__init__()
        self.activation = act
        self.t1 = t1
        self.input_weight = torch.nn.Parameter(
            torch.empty((width, input_dim), dtype=dt, device=dev), requires_grad=bool(requires_grad)
        )
        self.weight = torch.nn.Parameter(
            torch.empty((depth, width, width), dtype=dt, device=dev), requires_grad=bool(requires_grad)
        )
        self.reset_parameters(rng)

    # shapes come from the weights, so they follow .to() and load_state_dict
    @property
    def input_dim(self) -> int:
        """:math:`d`."""
        return int(self.input_weight.shape[1])

    @property
    def width(self) -> int:
        """:math:`n`."""
        return int(self.input_weight.shape[0])

    @property
    def depth(self) -> int:
        """:math:`L`."""
        return int(self.weight.shape[0])

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return self.input_weight.device

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the weights."""
        return self.input_weight.dtype

    def extra_repr(self) -> str:
        return (
            f"input_dim={self.input_dim}, width={self.width}, depth={self.depth}, "
            f"activation={self.activation.name!r}, t1={self.t1:g}"
        )

    @torch.no_grad()
    def reset_parameters(self, rng: RNGLike = None) -> RandomResNet:
        r"""Redraw every weight: :math:`W_{\rm in}=Z_0/\sqrt d`, :math:`W_l=Z_l/\sqrt n`.

        Draw order: :math:`Z_0` (``width x input_dim``), then :math:`Z_1,\dots,Z_L` (``width x width``
        each), standard normals in float64 from a :class:`torch.Generator` on the network's device
        seeded from ``rng``, scaled in float64 and rounded to the network's dtype.

        Parameters
        ----------
        rng : None, int, SeedSequence or numpy Generator
            Seed (see :mod:`stochdepth.random`).

        Returns
        -------
        RandomResNet
            ``self``.
        """
        gen = torch_generator(rng, self.device)
        f64 = torch.float64
        z = torch.empty(self.input_weight.shape, dtype=f64, device=self.device)
        z.normal_(generator=gen)
        self.input_weight.copy_(z / math.sqrt(self.input_dim))
        z = torch.empty((self.width, self.width), dtype=f64, device=self.device)
        scale = 1.0 / math.sqrt(self.width)
        for l in range(self.depth):
            z.normal_(generator=gen)
            self.weight[l].copy_(z * scale)
        return self

    def _check_x(self, x: Any) -> torch.Tensor:
        d = self.input_dim
        if not isinstance(x, torch.Tensor):
            arr = check_array("x", x, min_size=1)
            if arr.ndim < 1 or arr.shape[-1] != d:
                raise ValueError(f"x must have shape (..., input_dim) = (..., {d}), got shape {arr.shape}")
            return torch.as_tensor(arr, dtype=self.dtype, device=self.device)
        if x.ndim < 1 or x.shape[-1] != d:
            raise ValueError(f"x must have shape (..., input_dim) = (..., {d}), got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor of dtype {self.dtype}, got dtype {x.dtype}")
        if x.dtype != self.dtype:
            raise TypeError(
                f"x has dtype {x.dtype} but the network is {self.dtype}: cast x with "
                f"x.to({self.dtype}) or the network with net.to({x.dtype})"
            )
        if x.device != self.device:
            raise ValueError(
                f"x is on device {str(x.device)!r} but the network is on {str(self.device)!r}: "
                f"move one of them with .to()"
            )
        if x.numel() == 0:
            raise ValueError("x must hold at least 1 value(s), got 0")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x must be finite, got non-finite value(s)")
        return x

    def forward(self, x: Any, record: Any = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        r"""Push inputs through the network.

        Parameters
        ----------
        x : torch.Tensor or array_like, shape (..., input_dim)
            Inputs as rows (any leading batch axes), finite; a tensor must already have the network's
            dtype and device (array-likes are converted).
        record : sequence of int, optional
            Layers in ``[0, depth]`` whose states :math:`Y_l` to return as well (sorted, duplicates
            removed, as in :func:`~stochdepth.networks.sample_network`).

        Returns
        -------
        y : torch.Tensor, shape (..., width)
            Final pre-activations :math:`Y_L`.
        states : torch.Tensor, shape (n_record, ..., width)
            Only when ``record`` is given: :math:`Y_l` at the recorded layers, in increasing order.

        Raises
        ------
        ValueError, TypeError
            For a wrong shape, dtype, device, non-finite input or bad ``record``.
        NumericalError
            If the output is NaN or infinite (e.g. overflow of a float32 linear network at large
            ``t1``).
        """
        x = self._check_x(x)
        layers = None if record is None else check_record_layers(record, self.depth)
        keep = set() if layers is None else {int(l) for l in layers}
        scale = math.sqrt(self.t1 / self.depth)
        phi = self._phi
        y = x @ self.input_weight.T
        states = [y] if 0 in keep else []
        for l in range(1, self.depth + 1):
            y = y + scale * (phi(y) @ self.weight[l - 1].T)
            if l in keep:
                states.append(y)
        if not bool(torch.isfinite(y).all()):
            raise NumericalError(
                f"RandomResNet output: NaN or infinite values (overflow in {self.dtype}; use float64 or a "
                "smaller t1)"
            )
        if layers is None:
            return y
        return y, torch.stack(states)


# ----------------------------------------------------------------------------------------------------
# Many networks at once: a sampler of stochdepth.networks
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchExplicitWeights(NetworkSampler):
    r"""Random ResNets with explicit Gaussian weights drawn and multiplied by torch, on any device.

    A sampler of :func:`stochdepth.networks.sample_network` (the same law as
    :class:`~stochdepth.networks.ExactLaw` and :class:`~stochdepth.networks.ExplicitWeights`). Within a
    chunk of networks, batches of ``batch_size`` networks are processed together: per batch, draw
    :math:`W_{\rm in}` as a ``(B, n, d)`` tensor, then for :math:`l=1,\dots,L` draw :math:`Z_l` as a
    ``(B, n, n)`` tensor and update

    .. math::
        Y_l = Y_{l-1} + \sqrt{\tfrac{t_1}{nL}}\;Z_l\,\phi(Y_{l-1})\qquad(\text{one } \texttt{torch.baddbmm}),

    :math:`Z_l` standard normal (so :math:`W_l=Z_l/\sqrt n`). Only one layer's weights exist at a time
    (memory :math:`O(Bn^2)`), and layers after the last recorded one are not computed. Cost
    :math:`O(Ln^2k)` flops and :math:`Ln^2` normals per network.

    Parameters
    ----------
    device : None, str, torch.device or int
        Where the work runs; default :func:`~stochdepth.nn.default_device`.
    dtype : torch.float64 or torch.float32
        Working precision (default float64). Normals are drawn in this dtype: on the CPU, torch draws
        float32 normals about five times faster than float64 ones, and drawing dominates the cost.
        float32 and float64 runs of one seed therefore see different networks (with the same law, up
        to float32 rounding).
    batch_size : int, optional
        Networks per batched product (at most the chunk). Default: as many as fit in 32 MiB of weight
        buffers on the CPU, 512 MiB on an accelerator (at least 1).

    Notes
    -----
    Reproducibility: each chunk gets a :class:`torch.Generator` on ``device`` seeded from the chunk's
    spawned stream (:mod:`stochdepth.random`), and the batches of a chunk use it in order. A result is
    therefore fixed by the seed, the chunk size, the batch size, the last recorded layer and the device
    type: bitwise on the CPU; on CUDA up to the determinism of cuBLAS (see
    :func:`torch.use_deterministic_algorithms`). CPU and CUDA generators differ, so the same seed gives
    different networks there (the law is the same). States are returned to the host as float64 numpy
    arrays of shape ``(m, n_record, width, k)`` for the observables.

    References
    ----------
    docs/science.md §A1 (the network) and A2 (why :class:`~stochdepth.networks.ExactLaw` has the same law).

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.networks import sample_network, squared_norms
    >>> from stochdepth.nn import TorchExplicitWeights
    >>> res = sample_network(np.ones(3), 8, 16, "tanh", n_paths=100, observe=squared_norms(),
    ...                      sampler=TorchExplicitWeights(device="cpu"), rng=2)
    >>> res.sampler, res["squared_norms"].samples.shape
    ('torch_explicit_weights(cpu, float64)', (100, 2, 1))
    """

    device: Any = None
    dtype: Any = torch.float64
    batch_size: int | None = None
    name: str = field(default="torch_explicit_weights", init=False)

    def __post_init__(self) -> None:
        dev = as_device(self.device)
        object.__setattr__(self, "device", dev)
        dt = as_dtype(self.dtype, dev)
        object.__setattr__(self, "dtype", dt)
        if self.batch_size is not None:
            object.__setattr__(self, "batch_size", check_int("batch_size", self.batch_size, min=1))
        dtype_name = str(dt).removeprefix("torch.")
        object.__setattr__(self, "name", f"torch_explicit_weights({dev}, {dtype_name})")

    def _default_batch(self, width: int, d: int) -> int:
        budget = _BATCH_BYTES.get(self.device.type, _BATCH_BYTES_ACCELERATOR)
        per_network = self.dtype.itemsize * width * max(width, d)
        return max(1, budget // per_network)

    def make_kernel(self, spec: NetworkSpec, layers: np.ndarray) -> ChunkKernel:
        X, width, depth, t1 = spec.input_matrix, spec.width, spec.require("depth"), spec.t1
        act = get_activation(spec.activation)
        d, k = X.shape
        dev, dt = self.device, self.dtype
        batch = self.batch_size or self._default_batch(width, d)
        scale = math.sqrt(t1 / (depth * width))
        in_scale = 1.0 / math.sqrt(d)
        last = int(layers[-1])
        rec_index = {int(l): j for j, l in enumerate(layers)}
        n_rec = layers.size
        phi = torch_activation(act)
        Xt = torch.as_tensor(X, dtype=dt, device=dev)

        def kernel(start: int, stop: int, gen: np.random.Generator) -> np.ndarray:
            m = stop - start
            tgen = torch_generator(gen, dev)
            b_max = min(batch, m)
            with torch.inference_mode():
                out = torch.empty((m, n_rec, width, k), dtype=dt, device=dev)
                z_in = torch.empty((b_max, width, d), dtype=dt, device=dev)
                z = torch.empty((b_max, width, width), dtype=dt, device=dev) if last > 0 else z_in
                for b0 in range(0, m, batch):
                    b = min(m, b0 + batch) - b0
                    y = torch.matmul(z_in[:b].normal_(generator=tgen), Xt).mul_(in_scale)
                    if 0 in rec_index:
                        out[b0 : b0 + b, rec_index[0]] = y
                    for l in range(1, last + 1):
                        w = z[:b].normal_(generator=tgen)
                        y = torch.baddbmm(y, w, phi(y), alpha=scale)
                        if l in rec_index:
                            out[b0 : b0 + b, rec_index[l]] = y
                return out.to(device="cpu", dtype=torch.float64).numpy()

        return kernel


def _accelerator_chunk_size(width: int, n_inputs: int, n_record: int) -> int:
    """Default chunk on an accelerator: ~16 MiB of recorded states, at most 65536 networks."""
    return states_chunk_size(width, n_inputs, n_record, 65536)


@accepts_executor
def sample_torch_network(
    x: Any,
    width: int | None = None,
    depth: int | None = None,
    activation: str | Activation | None = None,
    t1: float | None = None,
    *,
    n_paths: int,
    record: Any = None,
    observe: Observable | list[Observable] | dict[str, Any] | None = None,
    reduce: Reducer | list[Reducer] | None = None,
    rng: RNGLike = None,
    device: Any = None,
    dtype: Any = torch.float64,
    batch_size: int | None = None,
    chunk_size: int | None = None,
) -> NetworkSample:
    r"""Sample many random ResNets with explicit torch weights and observe them layer by layer.

    .. math::
        Y_0=W_{\rm in}X,\qquad Y_l=Y_{l-1}+\sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),\quad l=1,\dots,L,

    :math:`(W_{\rm in})_{ij}\sim\mathcal N(0,1/d)`, :math:`(W_l)_{ij}\sim\mathcal N(0,1/n)`, all
    independent (docs/science.md §A1); the ``k`` columns of ``x`` go through the same weights. This is
    :func:`stochdepth.networks.sample_network` with the sampler :class:`TorchExplicitWeights` (same
    arguments, observables and result), run in one host thread (torch parallelises inside each
    product).

    Parameters
    ----------
    x : array_like, shape (d,) or (d, k), or NetworkSpec
        Input(s) as columns, finite, :math:`d\ge1`; or a :class:`~stochdepth.networks.NetworkSpec`
        (with inputs and a depth) in place of ``x``, ``width``, ``depth``, ``activation`` and ``t1``.
    width, depth : int
        :math:`n\ge1`, :math:`L\ge1`.
    activation : str or Activation
        :math:`\phi` (default ReLU), with a torch implementation.
    t1 : float
        Final depth-time :math:`t_1>0` (default 1).
    n_paths : int
        Number of independent networks, :math:`\ge1`.
    record, observe, reduce
        As in :func:`~stochdepth.networks.sample_network` (default: states at layers ``[0, depth]``,
        all samples kept). Observables see float64 numpy states of shape ``(m, n_record, width, k)``.
    rng : None, int, SeedSequence or numpy Generator
        Seed (see :mod:`stochdepth.random`).
    device : None, str, torch.device or int
        Default :func:`~stochdepth.nn.default_device` (CUDA when available).
    dtype : torch.float64 or torch.float32
        Working precision (default float64); see :class:`TorchExplicitWeights`.
    batch_size : int, optional
        Networks per batched product; see :class:`TorchExplicitWeights`.
    chunk_size : int, optional
        Networks per chunk (one torch generator each). Default: on the CPU,
        :func:`~stochdepth.networks.default_chunk_size`; on an accelerator, about 16 MiB of recorded
        states and at most 65536 networks (bigger batches keep a GPU busy).

    Returns
    -------
    NetworkSample
        ``sampler`` reads ``"torch_explicit_weights(<device>, <dtype>)"``.

    Raises
    ------
    ValueError, TypeError
        For invalid arguments (the message names the parameter), an unavailable device or an activation
        without a torch implementation.
    NumericalError
        If a state or an observed value is NaN or infinite.

    Notes
    -----
    Reproducible given the seed on a given device type (with the same chunk size, batch size and last
    recorded layer): bitwise on the CPU, and on CUDA up to cuBLAS determinism. CPU and CUDA streams
    differ; the law is the same.

    References
    ----------
    Hayou, *On the infinite-depth limit of finite-width neural networks*, TMLR 2023 (the network);
    docs/science.md §A1-A2.

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.networks import squared_norms, post_squared_norms
    >>> from stochdepth.nn import sample_torch_network
    >>> x = np.array([[1.0, 0.0], [0.5, 1.0], [-1.0, 2.0]])
    >>> res = sample_torch_network(x, 16, 8, "relu", n_paths=200, record=[0, 4, 8],
    ...                            observe=[squared_norms(), post_squared_norms("relu")],
    ...                            rng=3, device="cpu")
    >>> res["squared_norms"].samples.shape
    (200, 3, 2)
    >>> res.times
    array([0. , 0.5, 1. ])
    """
    spec = as_network_spec(x, width, depth, activation, t1)
    sampler = TorchExplicitWeights(device=device, dtype=dtype, batch_size=batch_size)
    if chunk_size is None and sampler.device.type != "cpu":
        n_record = check_record_layers(record, spec.require("depth")).size
        chunk_size = _accelerator_chunk_size(spec.width, spec.input_matrix.shape[1], n_record)
    return sample_network(
        spec,
        n_paths=n_paths,
        sampler=sampler,
        record=record,
        observe=observe,
        reduce=reduce,
        rng=rng,
        chunk_size=chunk_size,
        n_threads=1,
    )
