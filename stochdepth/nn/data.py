r"""Offline classification tasks with fixed train/validation/test splits, as torch tensors.

Every task is generated on this machine or read from an installed package, never downloaded:

* :func:`load_digits` -- scikit-learn's 8x8 handwritten digits (1797 images, 10 classes);
* :func:`load_mnist1d` -- MNIST-1D signals (Greydanus 2020) from the ``mnist1d`` package's procedural
  generator (``make_dataset(get_dataset_args())``; its download helpers are never called);
* :func:`gaussian_mixture` -- a mixture with several modes per class and a per-sample noise level, so
  that some inputs sit on their mode (easy) and some far from it (hard);
* :func:`parity_sequences` -- token sequences whose label is the count of ones, modulo ``modulus``, over a
  marked span of variable length: the longer the span, the harder the sample (a parity of ``k`` bits
  needs attention to all ``k`` of them);
* :func:`pointer_chasing` -- token sequences holding a permutation of pointers and values; the label is
  the value reached after ``k`` hops from the first position, ``k`` varying per sample: a hop is one
  look-up, so a sample of ``k`` hops needs about ``k`` attention layers.

Each returns a frozen :class:`Dataset` of three :class:`Split` objects. The splits are fixed by ``rng``
(:func:`stochdepth.random.as_generator`): the same seed gives the same samples in the same splits.
``difficulty`` is a per-sample number in ``[0, 1]`` (larger is harder) where the task defines one.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._checks import check_int, check_real
from ..random import RNGLike, as_generator
from ._device import as_device, as_dtype

__all__ = [
    "Dataset",
    "Split",
    "gaussian_mixture",
    "load_digits",
    "load_mnist1d",
    "marked_value",
    "parity_sequences",
    "pointer_chasing",
]


@dataclass(frozen=True)
class Split:
    """One split of a task.

    Attributes
    ----------
    x : Tensor, shape (n, ...)
        Inputs (floating for signals and images, ``int64`` token ids for sequences).
    y : Tensor, shape (n,), int64
        Class labels in ``0, ..., n_classes - 1``.
    difficulty : Tensor, shape (n,), or None
        Per-sample difficulty in ``[0, 1]`` where the task defines one.
    """

    x: torch.Tensor
    y: torch.Tensor
    difficulty: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.y.ndim != 1 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"x {tuple(self.x.shape)} and y {tuple(self.y.shape)} must share their first axis"
            )
        if self.difficulty is not None and tuple(self.difficulty.shape) != tuple(self.y.shape):
            raise ValueError(f"difficulty must have shape {tuple(self.y.shape)}")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: Any) -> Split:
        """The same split on ``device``."""
        dev = as_device(device)
        diff = None if self.difficulty is None else self.difficulty.to(dev)
        return Split(self.x.to(dev), self.y.to(dev), diff)


@dataclass(frozen=True)
class Dataset:
    """A task with its three fixed splits.

    Attributes
    ----------
    name : str
    train, val, test : Split
    n_classes : int
    input_shape : tuple of int
        Shape of one input (``x.shape[1:]``).
    """

    name: str
    train: Split
    val: Split
    test: Split
    n_classes: int
    input_shape: tuple[int, ...]

    def split(self, name: str) -> Split:
        """The split called ``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be one of ['train', 'val', 'test'], got {name!r}")
        return getattr(self, name)


def _split_sizes(n: int, val_fraction: Any, test_fraction: Any, min_size: int) -> tuple[int, int, int]:
    val_fraction = check_real("val_fraction", val_fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    test_fraction = check_real("test_fraction", test_fraction, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    n_val = round(n * val_fraction)
    n_test = round(n * test_fraction)
    n_train = n - n_val - n_test
    for name, size in (("train", n_train), ("val", n_val), ("test", n_test)):
        if size < min_size:
            raise ValueError(
                f"the {name} split would hold {size} samples, fewer than {min_size} (one per class at "
                f"least): raise n_samples (now {n}) or the split fractions"
            )
    return n_train, n_val, n_test


def _prepare(
    n: int, val_fraction: Any, test_fraction: Any, min_size: int, device: Any, dtype: Any = None
) -> tuple[tuple[int, int, int], torch.device, torch.dtype | None]:
    """The checked split sizes, device and dtype of a task (``dtype=None``: token ids, kept int64)."""
    dev = as_device(device)
    dt = None if dtype is None else as_dtype(dtype, dev)
    return _split_sizes(n, val_fraction, test_fraction, min_size), dev, dt


def _make(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    difficulty: np.ndarray | None,
    n_classes: int,
    sizes: tuple[int, int, int],
    gen: np.random.Generator,
    dtype: torch.dtype | None,
    device: torch.device,
) -> Dataset:
    """Cut the samples into train/val/test by a permutation, the last draw of the task's ``gen``."""
    perm = gen.permutation(len(y))
    bounds = np.cumsum((0, *sizes))
    splits = []
    for a, b in itertools.pairwise(bounds):
        idx = perm[a:b]
        xs = torch.as_tensor(np.ascontiguousarray(x[idx]), device=device)
        xs = xs.to(dtype) if dtype is not None else xs
        ys = torch.as_tensor(y[idx].astype(np.int64), device=device)
        ds = (
            None
            if difficulty is None
            else torch.as_tensor(difficulty[idx], dtype=torch.float64, device=device)
        )
        splits.append(Split(xs, ys, ds))
    return Dataset(name, *splits, n_classes=n_classes, input_shape=tuple(x.shape[1:]))


def load_digits(
    *,
    rng: RNGLike = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    dtype: Any = torch.float32,
    device: Any = "cpu",
) -> Dataset:
    """scikit-learn's 8x8 digits as images ``(n, 1, 8, 8)`` scaled to ``[0, 1]``, 10 classes.

    Parameters
    ----------
    rng : seed or Generator
        Fixes the random permutation that assigns the 1797 images to the splits.
    val_fraction, test_fraction : float
        Fractions of the samples in the validation and test splits (the rest is training).
    dtype : torch.float32 or torch.float64
    device : device of the tensors

    Raises
    ------
    ImportError
        Without scikit-learn (``pip install stochdepth[data]``).

    Examples
    --------
    >>> from stochdepth.nn import load_digits
    >>> ds = load_digits(rng=0)
    >>> len(ds.train), len(ds.val), len(ds.test), ds.input_shape
    (1078, 270, 449, (1, 8, 8))
    """
    try:
        from sklearn.datasets import load_digits as _sk_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is in the test extra
        raise ImportError(f"load_digits needs scikit-learn ({exc}): pip install stochdepth[data]") from exc
    bunch = _sk_digits()
    x = (bunch.images / 16.0).reshape(-1, 1, 8, 8)
    y = bunch.target
    sizes, dev, dt = _prepare(len(y), val_fraction, test_fraction, 10, device, dtype)
    return _make("digits", x, y, None, 10, sizes, as_generator(rng), dt, dev)


def load_mnist1d(
    n_samples: int = 5000,
    *,
    rng: RNGLike = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    dtype: Any = torch.float32,
    device: Any = "cpu",
) -> Dataset:
    """MNIST-1D (Greydanus 2020) from its procedural generator: signals ``(n, 1, 40)``, 10 classes.

    The generator of the ``mnist1d`` package is run with its default arguments
    (``get_dataset_args()``) except ``num_samples`` and ``seed`` (drawn from ``rng``); its own train/test
    cut is pooled and the samples are re-split by ``rng``. The global numpy random state the generator
    uses is restored afterwards.

    Parameters
    ----------
    n_samples : int
        Number of signals generated (the package's default is 5000; about 1.5 ms each).
    rng, val_fraction, test_fraction, dtype, device
        As in :func:`load_digits`.

    Raises
    ------
    ImportError
        Without the ``mnist1d`` package (``pip install stochdepth[data]``).
    """
    n_samples = check_int("n_samples", n_samples, min=1)
    sizes, dev, dt = _prepare(n_samples, val_fraction, test_fraction, 10, device, dtype)
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as exc:
        raise ImportError(
            f"load_mnist1d needs the mnist1d package ({exc}): pip install stochdepth[data]"
        ) from exc
    gen = as_generator(rng)
    args = get_dataset_args()
    args.num_samples = n_samples
    args.seed = int(gen.integers(0, 2**31 - 1))
    state = np.random.get_state()  # noqa: NPY002 - the generator seeds numpy's global state
    try:
        raw = make_dataset(args)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    x = np.concatenate([raw["x"], raw["x_test"]]).astype(np.float64)[:, None, :]
    y = np.concatenate([raw["y"], raw["y_test"]])
    return _make("mnist1d", x, y, None, 10, sizes, gen, dt, dev)


def gaussian_mixture(
    n_samples: int = 4000,
    *,
    dim: int = 16,
    n_classes: int = 4,
    modes_per_class: int = 4,
    noise: tuple[float, float] = (0.05, 0.6),
    rng: RNGLike = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    dtype: Any = torch.float32,
    device: Any = "cpu",
) -> Dataset:
    r"""A Gaussian mixture whose difficulty varies per sample.

    Each class owns ``modes_per_class`` modes :math:`\mu_{c,m}` drawn uniformly on the unit sphere of
    :math:`\mathbb R^{\rm dim}` (so the classes are interleaved: no linear rule separates them). Sample
    :math:`i` draws a class :math:`y_i`, a mode :math:`m_i` and a difficulty :math:`d_i\sim U[0,1]`, and

    .. math:: x_i=\mu_{y_i,m_i}+\sigma(d_i)\,\xi_i/\sqrt{\rm dim},\qquad
              \sigma(d)=\sigma_{\min}+d\,(\sigma_{\max}-\sigma_{\min}),\quad \xi_i\sim\mathcal N(0,I).

    An easy sample lies on its mode and is told apart by a coarse look; a hard one lies between modes of
    different classes, where the decision boundary is fine-grained.

    Parameters
    ----------
    n_samples, dim, n_classes, modes_per_class : int
    noise : (float, float)
        :math:`(\sigma_{\min},\sigma_{\max})`, with :math:`0\le\sigma_{\min}\le\sigma_{\max}`.
    rng, val_fraction, test_fraction, dtype, device
        As in :func:`load_digits`.
    """
    n_samples = check_int("n_samples", n_samples, min=1)
    dim = check_int("dim", dim, min=2)
    n_classes = check_int("n_classes", n_classes, min=2)
    modes_per_class = check_int("modes_per_class", modes_per_class, min=1)
    if not isinstance(noise, (tuple, list)) or len(noise) != 2:
        raise TypeError(f"noise must be a pair (low, high), got {noise!r}")
    lo = check_real("noise[0]", noise[0], lo=0.0)
    hi = check_real("noise[1]", noise[1], lo=lo)
    sizes, dev, dt = _prepare(n_samples, val_fraction, test_fraction, n_classes, device, dtype)
    gen = as_generator(rng)
    modes = gen.standard_normal((n_classes, modes_per_class, dim))
    modes /= np.linalg.norm(modes, axis=-1, keepdims=True)
    y = gen.integers(0, n_classes, n_samples)
    m = gen.integers(0, modes_per_class, n_samples)
    difficulty = gen.random(n_samples)
    sigma = lo + difficulty * (hi - lo)
    x = modes[y, m] + sigma[:, None] * gen.standard_normal((n_samples, dim)) / math.sqrt(dim)
    return _make("gaussian_mixture", x, y, difficulty, n_classes, sizes, gen, dt, dev)


def parity_sequences(
    n_samples: int = 4000,
    *,
    seq_len: int = 16,
    min_span: int = 1,
    max_span: int | None = None,
    modulus: int = 2,
    rng: RNGLike = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    device: Any = "cpu",
) -> Dataset:
    r"""Counting modulo ``modulus`` over a marked span of variable length (parity for ``modulus=2``).

    A sequence holds ``seq_len`` random bits :math:`b_j`; a contiguous span :math:`S` of length
    :math:`k\sim U\{k_{\min},\dots,k_{\max}\}` at a uniform position is marked. Token ids are
    :math:`b_j+2\,\mathbf 1\{j\in S\}` (vocabulary of 4) and the label is
    :math:`\big(\sum_{j\in S}b_j\big)\bmod m`. The difficulty is
    :math:`(k-k_{\min})/(k_{\max}-k_{\min})` (0 when the two are equal): a longer span needs more bits
    combined, which a Transformer does over more layers.

    Parameters
    ----------
    n_samples, seq_len : int
    min_span, max_span : int
        :math:`1\le k_{\min}\le k_{\max}\le` ``seq_len`` (``max_span=None``: ``seq_len``).
    modulus : int
        Number of classes (>= 2).
    rng, val_fraction, test_fraction, device
        As in :func:`load_digits` (inputs are ``int64`` token ids).
    """
    n_samples = check_int("n_samples", n_samples, min=1)
    seq_len = check_int("seq_len", seq_len, min=1)
    min_span = check_int("min_span", min_span, min=1, max=seq_len)
    max_span = seq_len if max_span is None else check_int("max_span", max_span, min=min_span, max=seq_len)
    modulus = check_int("modulus", modulus, min=2)
    sizes, dev, _ = _prepare(n_samples, val_fraction, test_fraction, modulus, device)
    gen = as_generator(rng)
    bits = gen.integers(0, 2, (n_samples, seq_len))
    span = gen.integers(min_span, max_span + 1, n_samples)
    start = (gen.random(n_samples) * (seq_len - span + 1)).astype(np.int64)
    pos = np.arange(seq_len)
    mask = (pos >= start[:, None]) & (pos < (start + span)[:, None])
    tokens = bits + 2 * mask
    y = (bits * mask).sum(axis=1) % modulus
    difficulty = (span - min_span) / max(max_span - min_span, 1)
    return _make("parity_sequences", tokens, y, difficulty.astype(np.float64), modulus, sizes, gen, None, dev)


def pointer_chasing(
    n_samples: int = 4000,
    *,
    seq_len: int = 8,
    n_values: int = 2,
    max_hops: int = 4,
    single_cycle: bool = False,
    distinct_values: bool = False,
    rng: RNGLike = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    device: Any = "cpu",
) -> Dataset:
    r"""Follow ``k`` pointers from the first position; ``k`` varies per sample (multi-hop look-up).

    A sample holds a random permutation :math:`\pi` of :math:`\{0,\dots,T-1\}` (``T = seq_len``) and
    random values :math:`v_j\in\{0,\dots,V-1\}`, and a hop count :math:`k\sim U\{0,\dots,K\}`. Its
    tokens are the hop count :math:`k` (ids ``T V + k``) followed by :math:`\pi_j V+v_j` for
    :math:`j=0,\dots,T-1` (``seq_len + 1`` tokens, vocabulary ``T V + K + 1``); the label is
    :math:`v_{\pi^k(0)}`. Each hop is a look-up by position, which one attention layer can do, so the
    number of layers a sample needs grows with :math:`k`; the difficulty is :math:`k/K`.

    Parameters
    ----------
    n_samples, seq_len : int
    n_values : int
        Number of classes :math:`V\ge2`.
    max_hops : int
        :math:`K\ge1`.
    single_cycle : bool
        Draw :math:`\pi` uniformly among the permutations made of one cycle through all ``T``
        positions (Sattolo's law) instead of among all permutations. A general permutation often
        returns to position 0 within a few hops (the cycle through 0 is short), so "answer the value at
        position 0" is right for many samples that need hops; on one long cycle the positions
        :math:`\pi^k(0)`, :math:`k<T`, are all different, and ``max_hops < seq_len`` is required.
    distinct_values : bool
        Draw the ``T`` values without repetition (``n_values >= seq_len`` required), so that no value is
        more frequent than another in a sequence and guessing its most frequent value is no shortcut.
    rng, val_fraction, test_fraction, device
        As in :func:`load_digits` (inputs are ``int64`` token ids).
    """
    n_samples = check_int("n_samples", n_samples, min=1)
    seq_len = check_int("seq_len", seq_len, min=2)
    n_values = check_int("n_values", n_values, min=2)
    max_hops = check_int("max_hops", max_hops, min=1)
    if not isinstance(single_cycle, bool):
        raise TypeError(f"single_cycle must be a bool, got {type(single_cycle).__name__}")
    if not isinstance(distinct_values, bool):
        raise TypeError(f"distinct_values must be a bool, got {type(distinct_values).__name__}")
    if single_cycle and max_hops >= seq_len:
        raise ValueError(f"max_hops must be below seq_len={seq_len} with single_cycle, got {max_hops}")
    if distinct_values and n_values < seq_len:
        raise ValueError(f"n_values must be at least seq_len={seq_len} with distinct_values, got {n_values}")
    sizes, dev, _ = _prepare(n_samples, val_fraction, test_fraction, n_values, device)
    gen = as_generator(rng)
    order = gen.permuted(np.tile(np.arange(seq_len), (n_samples, 1)), axis=1)
    if single_cycle:  # each position points to the next one in a random cyclic order
        perm_ptr = np.empty_like(order)
        np.put_along_axis(perm_ptr, order, np.roll(order, -1, axis=1), axis=1)
    else:
        perm_ptr = order
    if distinct_values:
        values = gen.permuted(np.tile(np.arange(n_values), (n_samples, 1)), axis=1)[:, :seq_len]
    else:
        values = gen.integers(0, n_values, (n_samples, seq_len))
    hops = gen.integers(0, max_hops + 1, n_samples)
    rows = np.arange(n_samples)
    pos = np.zeros(n_samples, dtype=np.int64)
    for step in range(max_hops):
        move = hops > step
        pos[move] = perm_ptr[rows[move], pos[move]]
    y = values[rows, pos]
    tokens = np.concatenate([(seq_len * n_values + hops)[:, None], perm_ptr * n_values + values], axis=1)
    difficulty = hops / max_hops
    return _make("pointer_chasing", tokens, y, difficulty.astype(np.float64), n_values, sizes, gen, None, dev)


def marked_value(
    n_samples: int = 4000,
    *,
    seq_len: int = 16,
    n_values: int = 4,
    rng: RNGLike = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.25,
    device: Any = "cpu",
) -> Dataset:
    r"""Read the value that follows a marker placed at a random distance from the first position.

    A sample is a classification token (id ``V + 1``, position 0) followed by ``T = seq_len`` random
    values :math:`v_1,\dots,v_T\in\{0,\dots,V-1\}`, one of which, at position :math:`p\sim
    U\{1,\dots,T-1\}`, is replaced by the marker (id ``V``); the label is :math:`v_{p+1}`, the value
    right after the marker (``seq_len + 1`` tokens, vocabulary ``V + 2``). Every value is a distractor
    except the marked one. Read at the classification token by a Transformer whose attention reaches
    ``w`` positions per layer (``SequenceTransformer(window=w, readout='first')``), the answer has to be
    carried :math:`p+1` positions, so a sample needs at least :math:`\lceil(p+1)/w\rceil` layers before
    its exits can know it: the distance sets the depth a sample needs. The difficulty is :math:`(p-1)/(T-2)`.

    Parameters
    ----------
    n_samples, seq_len : int
        ``seq_len >= 3``.
    n_values : int
        Number of classes :math:`V\ge2`.
    rng, val_fraction, test_fraction, device
        As in :func:`load_digits` (inputs are ``int64`` token ids).

    Examples
    --------
    >>> from stochdepth.nn import marked_value
    >>> data = marked_value(200, seq_len=6, n_values=3, rng=0)
    >>> x, y = data.train.x, data.train.y
    >>> p = (x == 3).int().argmax(dim=1)  # the marker's position
    >>> bool((x[range(len(y)), p + 1] == y).all()), tuple(x.shape[1:])
    (True, (7,))
    """
    n_samples = check_int("n_samples", n_samples, min=1)
    seq_len = check_int("seq_len", seq_len, min=3)
    n_values = check_int("n_values", n_values, min=2)
    sizes, dev, _ = _prepare(n_samples, val_fraction, test_fraction, n_values, device)
    gen = as_generator(rng)
    values = gen.integers(0, n_values, (n_samples, seq_len))
    position = gen.integers(1, seq_len, n_samples)  # the marker's position, 1 .. seq_len - 1
    tokens = np.concatenate([np.full((n_samples, 1), n_values + 1), values], axis=1)
    rows = np.arange(n_samples)
    tokens[rows, position] = n_values
    y = tokens[rows, position + 1]
    difficulty = (position - 1) / (seq_len - 2)
    return _make("marked_value", tokens, y, difficulty.astype(np.float64), n_values, sizes, gen, None, dev)
