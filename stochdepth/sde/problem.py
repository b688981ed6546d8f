r"""The description of a stochastic differential equation.

An :class:`SDE` bundles the coefficients of the Itô equation

.. math::
    dX_t = b(t, X_t)\,dt + \sigma(t, X_t)\,dW_t, \qquad X_t\in\mathbb R^{d},

as numba-compiled functions ``f(t, x, out)`` that write into a preallocated ``out`` (no allocation in the
inner loop of an integrator), together with the structure of the noise, which decides the shape of
:math:`\sigma` and which schemes apply:

=============  ==================================================  ===================  ===============
``noise``      equation                                            ``out`` of diffusion  Brownian dim
=============  ==================================================  ===================  ===============
``diagonal``   :math:`dX^i = b^i dt + s^i(t, X)\,dW^i`              ``(dim,)``           ``dim``
``scalar``     :math:`dX = b\,dt + s(t, X)\,dW`, one :math:`W`      ``(dim,)``           1
``general``    :math:`dX = b\,dt + S(t, X)\,dW`                     ``(dim, noise_dim)``  ``noise_dim``
``isotropic``  :math:`dX = b\,dt + s(t, X)\,dW`, :math:`s` scalar   ``(1,)``             ``dim``
=============  ==================================================  ===================  ===============

Isotropic noise is the structure of the infinite-depth limit of a random residual network
(docs/science.md §A3: :math:`dX_t = \|\phi(X_t)\|/\sqrt n\,dB_t`).

:func:`affine_sde` builds the linear test equations with closed-form laws (geometric Brownian motion,
Ornstein--Uhlenbeck, Brownian motion with drift) without writing numba code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from numba import types as nbt
from numba.core.errors import NumbaError
from numba.extending import is_jitted

from .._checks import check_array, check_choice, check_int

__all__ = ["NOISE_TYPES", "SDE", "affine_sde"]

#: The noise structures an :class:`SDE` can declare.
NOISE_TYPES = ("diagonal", "scalar", "general", "isotropic")


@numba.njit(cache=True, nogil=True)
def _no_drift(t: float, x: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - numba
    """Zero drift: used (and never called) when ``drift=None``."""
    return None


def _signature(out_ndim: int) -> tuple[Any, ...]:
    out_type = nbt.float64[::1] if out_ndim == 1 else nbt.float64[:, ::1]
    return (nbt.float64, nbt.float64[::1], out_type)


def _as_jitted(name: str, fn: Any, out_ndim: int) -> Any:
    """Return a numba dispatcher for ``fn`` compiled for ``(float64, float64[::1], out)``."""
    if is_jitted(fn):
        disp = fn
    elif callable(fn) and hasattr(fn, "__code__"):
        disp = numba.njit(nogil=True)(fn)
    else:
        raise TypeError(
            f"{name} must be a python function f(t, x, out) or a numba.njit-compiled one, "
            f"got {type(fn).__name__} {fn!r}"
        )
    sig = _signature(out_ndim)
    try:
        disp.compile(sig)
    except NumbaError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        shape = "(dim,)" if out_ndim == 1 else "(dim, noise_dim)"
        raise TypeError(
            f"{name} could not be compiled by numba in nopython mode for arguments "
            f"(t: float64, x: float64 array (dim,), out: float64 array {shape}): {first}"
        ) from exc
    return disp


@dataclass(frozen=True, eq=False)
class SDE:
    r"""An Itô stochastic differential equation with numba-compiled coefficients.

    .. math::
        dX_t = b(t, X_t)\,dt + \sigma(t, X_t)\,dW_t,

    with the shape of :math:`\sigma` and the dimension of :math:`W` fixed by ``noise`` (see the module
    docstring).

    Parameters
    ----------
    drift : callable or None
        ``drift(t, x, out)`` writing :math:`b(t, x)` into ``out`` of shape ``(dim,)``. A plain python
        function is compiled with :func:`numba.njit`; ``None`` means zero drift (the call is skipped).
    diffusion : callable
        ``diffusion(t, x, out)`` writing the diffusion coefficient into ``out``: shape ``(dim,)`` for
        ``diagonal`` and ``scalar`` noise, ``(dim, noise_dim)`` for ``general`` noise, ``(1,)`` for
        ``isotropic`` noise. It must write every entry of ``out`` (the buffer is reused).
    dim : int
        State dimension :math:`d\ge 1`.
    noise : {"diagonal", "scalar", "general", "isotropic"}
        Structure of the noise (keyword-only).
    noise_dim : int or None
        Dimension of :math:`W`: required for ``general`` noise, implied otherwise (``dim`` for
        ``diagonal`` and ``isotropic``, 1 for ``scalar``); a conflicting value raises ``ValueError``.
    diffusion_derivative : callable or None
        Needed by :class:`~stochdepth.sde.Milstein` only, writing into ``out`` of shape ``(dim,)``:

        * ``diagonal`` noise: :math:`\partial s^i/\partial x^i`. Giving it *declares* the noise
          commutative, i.e. that :math:`s^i` depends on :math:`(t, x^i)` only;
        * ``scalar`` noise: the vector :math:`((s\cdot\nabla) s)^i=\sum_j s^j\,\partial_j s^i`;
        * ``isotropic`` noise with ``dim == 1``: :math:`ds/dx` (shape ``(1,)``).

        ``general`` noise and isotropic noise with ``dim > 1`` are not commutative and take none.
    name : str
        A label used in results.

    Raises
    ------
    TypeError
        If a coefficient is not a function or numba cannot compile it in nopython mode for
        ``(float64, float64[:], float64[:])`` arguments.
    ValueError
        If ``dim < 1``, ``noise`` is unknown, ``noise_dim`` is inconsistent, or a derivative is given
        for a non-commutative noise.

    Notes
    -----
    The coefficients are called with ``x`` of shape ``(dim,)``; they should be pure functions of
    ``(t, x)``. The integrators check once per simulation (on the first initial state, through the
    functions' pure-python versions) that every entry of ``out`` is written and none outside it.

    References
    ----------
    Kloeden & Platen, *Numerical Solution of Stochastic Differential Equations*, Springer 1992, ch. 10
    (noise structures and commutativity, Sec. 10.3).

    Examples
    --------
    The limit diffusion of a linear random ResNet of width 8 (docs/science.md §A3),
    :math:`dX = \|X\|/\sqrt 8\,dB`:

    >>> import numpy as np
    >>> from stochdepth.sde import SDE
    >>> def sigma(t, x, out):
    ...     out[0] = np.sqrt(np.sum(x * x) / 8.0)
    >>> sde = SDE(None, sigma, 8, noise="isotropic", name="linear limit")
    >>> sde.noise_dim, sde.diffusion_shape
    (8, (1,))
    """

    drift: Callable[..., Any] | None
    diffusion: Callable[..., Any]
    dim: int
    noise: str = field(default="diagonal", kw_only=True)
    noise_dim: int | None = field(default=None, kw_only=True)
    diffusion_derivative: Callable[..., Any] | None = field(default=None, kw_only=True)
    name: str = field(default="sde", kw_only=True)
    _kernels: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dim = check_int("dim", self.dim, min=1)
        if not isinstance(self.noise, str):
            raise TypeError(f"noise must be a str, one of {list(NOISE_TYPES)}, got {self.noise!r}")
        noise = check_choice("noise", self.noise, NOISE_TYPES)
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")
        implied = {"diagonal": dim, "scalar": 1, "isotropic": dim}.get(noise)
        if noise == "general":
            if self.noise_dim is None:
                raise ValueError("noise_dim is required for noise='general' (the dimension of W)")
            noise_dim = check_int("noise_dim", self.noise_dim, min=1)
        else:
            if self.noise_dim is not None and check_int("noise_dim", self.noise_dim, min=1) != implied:
                raise ValueError(
                    f"noise_dim must be {implied} (or None) for noise={noise!r} with dim={dim}, "
                    f"got {self.noise_dim}"
                )
            noise_dim = implied
        if self.diffusion_derivative is not None and not (
            noise in ("diagonal", "scalar") or (noise == "isotropic" and dim == 1)
        ):
            raise ValueError(
                f"diffusion_derivative is only meaningful for commutative noise (diagonal, scalar, or "
                f"isotropic with dim == 1); noise={noise!r} with dim={dim} is not commutative"
            )
        drift = None if self.drift is None else _as_jitted("drift", self.drift, 1)
        if self.diffusion is None:
            raise TypeError("diffusion must be a function diffusion(t, x, out), got None")
        diffusion = _as_jitted("diffusion", self.diffusion, 2 if noise == "general" else 1)
        deriv = (
            None
            if self.diffusion_derivative is None
            else _as_jitted("diffusion_derivative", self.diffusion_derivative, 1)
        )
        object.__setattr__(self, "dim", dim)
        object.__setattr__(self, "noise_dim", noise_dim)
        object.__setattr__(self, "drift", drift)
        object.__setattr__(self, "diffusion", diffusion)
        object.__setattr__(self, "diffusion_derivative", deriv)

    # ------------------------------------------------------------------------------------------------
    @property
    def diffusion_shape(self) -> tuple[int, ...]:
        """Shape of the ``out`` array the diffusion writes."""
        if self.noise == "general":
            assert self.noise_dim is not None
            return (self.dim, self.noise_dim)
        if self.noise == "isotropic":
            return (1,)
        return (self.dim,)

    @property
    def commutative(self) -> bool:
        """Whether the noise is commutative in the sense of Kloeden & Platen (Sec. 10.3) *as declared*:
        scalar noise, diagonal noise with a ``diffusion_derivative`` (s_i depending on x_i only), or
        isotropic noise in dimension 1."""
        if self.noise == "scalar":
            return True
        if self.noise == "diagonal":
            return self.diffusion_derivative is not None
        return self.noise == "isotropic" and self.dim == 1

    def __repr__(self) -> str:
        return (
            f"SDE(name={self.name!r}, dim={self.dim}, noise={self.noise!r}, noise_dim={self.noise_dim}, "
            f"drift={'zero' if self.drift is None else 'given'}, "
            f"milstein_derivative={'given' if self.diffusion_derivative is not None else 'none'})"
        )

    # ------------------------------------------------------------------------------------------------
    def _probe(self, t: float, x: np.ndarray) -> None:
        """Check at one state that each coefficient writes all of ``out`` and nothing outside it.

        Runs the pure-python versions (python indexing is bounds-checked, numba's is not). Functions
        without a pure-python version are skipped.
        """
        items = [("diffusion", self.diffusion, self.diffusion_shape)]
        if self.drift is not None:
            items.append(("drift", self.drift, (self.dim,)))
        if self.diffusion_derivative is not None:
            items.append(("diffusion_derivative", self.diffusion_derivative, (self.dim,)))
        for name, fn, shape in items:
            py = getattr(fn, "py_func", None)
            if py is None:  # pragma: no cover - first-class numba function types
                continue
            out = np.full(shape, np.nan)
            try:
                py(float(t), np.array(x, dtype=float), out)
            except IndexError as exc:
                raise ValueError(
                    f"{name} writes outside out of shape {shape} (noise={self.noise!r}, dim={self.dim}): "
                    f"{exc}"
                ) from exc
            except Exception:  # the numba version may still run (numba-only constructs)
                continue
            if np.isnan(out).any():
                missing = int(np.isnan(out).sum())
                raise ValueError(
                    f"{name} left {missing} of {out.size} entries of out (shape {shape}) unwritten or NaN "
                    f"at t={t}, x={np.asarray(x)[:4]}...; it must write every entry"
                )


# ----------------------------------------------------------------------------------------------------
# Affine test equations
# ----------------------------------------------------------------------------------------------------


def affine_sde(
    drift_matrix: Any = None,
    drift_offset: Any = None,
    *,
    dim: int | None = None,
    diffusion_offset: Any = None,
    diffusion_scale: Any = None,
    noise: str = "diagonal",
    name: str = "affine",
) -> SDE:
    r"""An SDE with affine drift and affine (or constant) diffusion, the test equations with closed forms.

    .. math::
        dX_t = (A X_t + a)\,dt + \sigma(X_t)\,dW_t,

    where, by ``noise``,

    * ``"diagonal"``: :math:`\sigma^i(x) = c_i + d_i x_i` with independent :math:`W^i` (geometric
      Brownian motions for :math:`c=0`, Ornstein--Uhlenbeck processes for :math:`d=0`);
    * ``"scalar"``: :math:`\sigma^i(x) = c_i + d_i x_i` with one Brownian motion;
    * ``"general"``: :math:`\sigma = C` a constant ``(dim, noise_dim)`` matrix (``diffusion_scale``
      must be ``None``): a multivariate Ornstein--Uhlenbeck process.

    The Milstein derivative is supplied (diagonal: :math:`\partial_i\sigma^i=d_i`; scalar:
    :math:`((\sigma\cdot\nabla)\sigma)^i=d_i\sigma^i`), so both schemes apply to diagonal and scalar noise.

    Parameters
    ----------
    drift_matrix : array (dim, dim) or None
        :math:`A` (``None``: 0).
    drift_offset : array (dim,) or None
        :math:`a` (``None``: 0). If both are ``None`` the drift is zero and skipped.
    dim : int or None
        State dimension; inferred from the arrays when ``None``.
    diffusion_offset : array or None
        :math:`c`, shape ``(dim,)`` (``None``: 0), or :math:`C` of shape ``(dim, noise_dim)`` for
        ``general`` noise (required there).
    diffusion_scale : array (dim,) or None
        :math:`d` (``None``: 0). Not allowed for ``general`` noise.
    noise : {"diagonal", "scalar", "general"}
    name : str

    Returns
    -------
    SDE

    References
    ----------
    Kloeden & Platen (1992), Sec. 4.4 (linear SDEs and their explicit solutions); derived in
    docs/science.md §A4 for the geometric Brownian motion of the linear network.

    Examples
    --------
    Geometric Brownian motion :math:`dX = \mu X dt + \sigma X dW`:

    >>> from stochdepth.sde import affine_sde
    >>> gbm = affine_sde([[0.05]], diffusion_scale=[0.2], name="gbm")
    >>> gbm.dim, gbm.noise, gbm.commutative
    (1, 'diagonal', True)
    """
    if not isinstance(noise, str):
        raise TypeError(f"noise must be a str, got {noise!r}")
    check_choice("noise", noise, ("diagonal", "scalar", "general"))
    arrays = {
        "drift_matrix": (drift_matrix, 2),
        "drift_offset": (drift_offset, 1),
        "diffusion_offset": (diffusion_offset, 2 if noise == "general" else 1),
        "diffusion_scale": (diffusion_scale, 1),
    }
    conv: dict[str, np.ndarray | None] = {}
    for key, (val, nd) in arrays.items():
        conv[key] = None if val is None else check_array(key, val, ndim=nd, min_size=1)
    if dim is None:
        sizes = [v.shape[0] for v in conv.values() if v is not None]
        if not sizes:
            raise ValueError("dim is required when no coefficient array is given")
        dim = sizes[0]
    dim = check_int("dim", dim, min=1)
    A, a, c, d = conv["drift_matrix"], conv["drift_offset"], conv["diffusion_offset"], conv["diffusion_scale"]
    if A is not None:
        check_array("drift_matrix", A, shape=(dim, dim))
    if a is not None:
        check_array("drift_offset", a, shape=(dim,))
    if noise == "general":
        if c is None:
            raise ValueError("diffusion_offset (the constant matrix C, shape (dim, noise_dim)) is required")
        check_array("diffusion_offset", c, shape=(dim, None))
        if d is not None:
            raise ValueError("diffusion_scale must be None for noise='general' (constant diffusion only)")
    else:
        if c is not None:
            check_array("diffusion_offset", c, shape=(dim,))
        if d is not None:
            check_array("diffusion_scale", d, shape=(dim,))
    A_ = np.ascontiguousarray(A if A is not None else np.zeros((dim, dim)))
    a_ = np.ascontiguousarray(a if a is not None else np.zeros(dim))
    has_A = A is not None
    n = dim

    drift = None
    if A is not None or a is not None:

        def drift(t, x, out):  # pragma: no cover - numba
            for i in range(n):
                acc = a_[i]
                if has_A:
                    for j in range(n):
                        acc += A_[i, j] * x[j]
                out[i] = acc

    if noise == "general":
        C = np.ascontiguousarray(c)
        q = C.shape[1]

        def diffusion(t, x, out):  # pragma: no cover - numba
            for i in range(n):
                for j in range(q):
                    out[i, j] = C[i, j]

        return SDE(drift, diffusion, dim, noise="general", noise_dim=q, name=name)

    c_ = np.ascontiguousarray(c if c is not None else np.zeros(dim))
    d_ = np.ascontiguousarray(d if d is not None else np.zeros(dim))

    def diffusion(t, x, out):  # pragma: no cover - numba
        for i in range(n):
            out[i] = c_[i] + d_[i] * x[i]

    if noise == "diagonal":

        def derivative(t, x, out):  # pragma: no cover - numba
            for i in range(n):
                out[i] = d_[i]

    else:

        def derivative(t, x, out):  # pragma: no cover - numba
            for i in range(n):
                out[i] = d_[i] * (c_[i] + d_[i] * x[i])

    return SDE(drift, diffusion, dim, noise=noise, diffusion_derivative=derivative, name=name)
