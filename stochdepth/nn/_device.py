"""Devices, dtypes and torch generators for the torch layer of stochdepth.

Everything in :mod:`stochdepth.nn` is device-agnostic: a ``device`` argument accepts ``None`` (the
:func:`default_device`), a string such as ``"cpu"``, ``"cuda"`` or ``"cuda:1"``, a
:class:`torch.device`, or an int (a CUDA index). It is validated up front: an unknown or unavailable
device is a :class:`ValueError` naming it, never a torch error deep inside a computation.

Random numbers come from :class:`torch.Generator` objects seeded from the library's ``rng``
normalisation (:mod:`stochdepth.random`), one generator per chunk of work, on the device where the
numbers are used. A seed therefore fixes the result on a given device; CPU and CUDA generators are
different algorithms (Mersenne Twister and Philox), so the same seed gives different networks on the
two (with the same law). Floating-point results also depend on the kernels torch picks for the hardware
(:func:`device_kernels`): a training run, whose rounding errors grow with every step, repeats to the last
bit only on the same kernels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..random import RNGLike, as_generator

__all__ = ["as_device", "as_dtype", "default_device", "device_kernels", "torch_generator"]

_DTYPES = {
    torch.float64: torch.float64,
    torch.float32: torch.float32,
    "float64": torch.float64,
    "float32": torch.float32,
}


def default_device() -> torch.device:
    """The device the library uses when none is given: ``cuda`` if available, else ``cpu``.

    Returns
    -------
    torch.device
        ``torch.device("cuda")`` (the current CUDA device) when :func:`torch.cuda.is_available`,
        else ``torch.device("cpu")``.

    Examples
    --------
    >>> from stochdepth.nn import default_device
    >>> default_device().type in ("cpu", "cuda")
    True
    """
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_kernels(device: Any = "cpu") -> str:
    """The kernels torch computes with on ``device``: what, beside the seed, fixes a result to the bit.

    On a CPU, torch picks one build of its vectorised kernels (and oneDNN and MKL pick theirs) by the
    instruction set the processor offers, so the same seed and code round differently on a processor
    with AVX-512 and on one with AVX2 only. One step of a computation differs in the last bits; a
    training run, which feeds every step's rounding into the next, ends at different weights (with the
    same law over seeds). Records of trained models name these kernels beside the device.

    Parameters
    ----------
    device : None, str, torch.device or int, default "cpu"
        As for :func:`as_device`.

    Returns
    -------
    str
        ``"cpu:"`` and torch's CPU capability (``"AVX512"``, ``"AVX2"``, ``"DEFAULT"``, ...; the
        environment variable ``ATEN_CPU_CAPABILITY`` can lower it), or ``"cuda:"`` and the device's name
        and compute capability.

    Examples
    --------
    >>> from stochdepth.nn import device_kernels
    >>> device_kernels("cpu").startswith("cpu:")
    True
    """
    dev = as_device(device)
    if dev.type == "cpu":
        return f"cpu:{torch.backends.cpu.get_cpu_capability()}"
    if dev.type == "cuda":
        major, minor = torch.cuda.get_device_capability(dev)
        return f"cuda:{torch.cuda.get_device_name(dev)} (sm_{major}{minor})"
    return dev.type


def as_device(device: Any, *, name: str = "device") -> torch.device:
    """Validate and normalise a ``device`` argument.

    Parameters
    ----------
    device : None, str, torch.device or int
        ``None`` for :func:`default_device`; a device string (``"cpu"``, ``"cuda"``, ``"cuda:0"``, ...);
        a :class:`torch.device`; or a non-negative int, read as a CUDA device index.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        For a malformed device string, the ``meta`` device (it holds no numbers), or a device that is
        not available on this machine (e.g. ``"cuda"`` without a GPU, a CUDA index out of range).
    TypeError
        For any other kind of object.
    """
    if device is None:
        return default_device()
    if isinstance(device, bool):
        raise TypeError(f"{name} must be None, a str, a torch.device or an int, got bool {device!r}")
    if isinstance(device, (int, np.integer)):
        if device < 0:
            raise ValueError(f"{name} as an int must be a CUDA index >= 0, got {device}")
        device = f"cuda:{int(device)}"
    if isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise ValueError(
                f"{name} must name a torch device such as 'cpu', 'cuda' or 'cuda:0', got {device!r}"
            ) from None
    elif isinstance(device, torch.device):
        dev = device
    else:
        raise TypeError(
            f"{name} must be None, a str, a torch.device or an int, got {type(device).__name__} {device!r}"
        )
    if dev.type == "meta":
        raise ValueError(f"{name} 'meta' holds no numbers: use 'cpu' or an accelerator")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name} {str(dev)!r} is not available: torch.cuda.is_available() is False")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"{name} {str(dev)!r} is not available: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif dev.type != "cpu":
        try:  # other backends (mps, xpu, ...): probe once, so that a missing one fails here
            torch.zeros(1, device=dev)
        except (RuntimeError, AssertionError) as exc:
            raise ValueError(f"{name} {str(dev)!r} is not available: {exc}") from None
    return dev


def as_dtype(dtype: Any, device: torch.device | None = None, *, name: str = "dtype") -> torch.dtype:
    """Validate a floating ``dtype``: ``torch.float64`` (the library's default) or ``torch.float32``.

    Parameters
    ----------
    dtype : torch.dtype or str
        ``torch.float64``, ``torch.float32``, ``"float64"`` or ``"float32"``.
    device : torch.device, optional
        When given, also check that the device supports the dtype (Apple's ``mps`` has no float64).
    name : str
        Parameter name used in error messages.

    Raises
    ------
    ValueError
        For another dtype (half precisions included), or float64 on ``mps``.
    """
    try:
        out = _DTYPES.get(dtype)
    except TypeError:  # unhashable
        out = None
    if out is None:
        raise ValueError(f"{name} must be torch.float64 or torch.float32, got {dtype!r}")
    if device is not None and device.type == "mps" and out == torch.float64:
        raise ValueError(f"{name} torch.float64 is not supported on device 'mps': use torch.float32")
    return out


def torch_generator(rng: RNGLike, device: torch.device) -> torch.Generator:
    """A :class:`torch.Generator` on ``device`` seeded from ``rng`` (64 bits of entropy).

    Parameters
    ----------
    rng : None, int, SeedSequence or numpy Generator
        Normalised by :func:`stochdepth.random.as_generator`; a numpy ``Generator`` is advanced (one
        64-bit integer is drawn from it), so two calls with the same numpy generator give two streams.
    device : torch.device
        Where the generator lives (a CUDA generator produces its numbers on the GPU).

    Returns
    -------
    torch.Generator
    """
    seed = int(as_generator(rng).integers(0, 2**64, dtype=np.uint64))
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen
