r"""Activation functions as objects carrying what the theory needs.

An :class:`Activation` bundles the coordinatewise function :math:`\phi` in four forms (numpy, a numba
scalar function for the integrators, torch, sympy) with the facts the limits use: positive homogeneity,
Lipschitz constant, and the Gaussian expectations of the sequential (width-first) limits,

.. math::
    M_2(q) = \mathbb E\,\phi(\sqrt q Z)^2, \qquad
    K(q_{aa}, q_{bb}, q_{ab}) = \mathbb E\,\phi(U)\phi(V),\ (U,V)\sim\mathcal N\Big(0,
    \begin{pmatrix}q_{aa}&q_{ab}\\ q_{ab}&q_{bb}\end{pmatrix}\Big),

in closed form where one exists (linear, ReLU, leaky ReLU; docs/science.md §A6, the arc-cosine kernel of
Cho & Saul, NeurIPS 2009) and by composite Gauss--Legendre quadrature otherwise.

Built-ins: ``linear``, ``relu``, ``leaky_relu`` (slope 0.01, or :func:`leaky_relu` for another), ``tanh``,
``gelu``. :func:`get_activation` accepts a name or an :class:`Activation`; :meth:`Activation.custom`
wraps a user function.

Examples
--------
>>> from stochdepth.activations import get_activation, leaky_relu
>>> relu = get_activation("relu")
>>> float(relu.second_moment(2.0)), float(relu.kernel(1.0, 1.0, 1.0))   # M_2(q) = q / 2
(1.0, 0.5)
>>> leaky_relu(0.2).name, float(leaky_relu(0.2).second_moment(1.0))     # (1 + 0.04) / 2
('leaky_relu(0.2)', 0.52)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from ._checks import check_finite_result, check_real

__all__ = [
    "GELU",
    "LINEAR",
    "RELU",
    "TANH",
    "Activation",
    "available_activations",
    "get_activation",
    "leaky_relu",
]


def _gaussian_rule(half_width: float, panel: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss--Legendre rule for expectations under N(0, 1), truncated to [-half, half].

    Panels of width ``panel`` put a breakpoint at 0 (where ReLU-like activations have their kink), so the
    rule converges fast for functions analytic on each side of 0 even when the poles of their analytic
    continuation are close to the real axis (tanh at large variance), unlike Gauss--Hermite.
    """
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.arange(-half_width, half_width + 0.5 * panel, panel)
    a, b = edges[:-1, None], edges[1:, None]
    nodes = ((b - a) / 2 * x + (a + b) / 2).ravel()
    weights = ((b - a) / 2 * w).ravel() * np.exp(-(nodes**2) / 2) / math.sqrt(2.0 * math.pi)
    return nodes, weights


# 1-D: 1040 nodes, relative error ~1e-15 for tanh, GELU, softplus, ReLU at variances 0.3..25.
_Q1_NODES, _Q1_WEIGHTS = _gaussian_rule(13.0, 0.5, 20)
# 2-D tensor rule (kernel): 400^2 nodes; ~1e-13 for smooth activations, ~1e-5 when the second factor has
# a kink (its kink line is not aligned with the grid).
_Q2_NODES, _Q2_WEIGHTS = _gaussian_rule(10.0, 0.5, 10)


def arccos_kernel(c: np.ndarray) -> np.ndarray:
    r"""Normalised first-order arc-cosine kernel :math:`f(c)=(\sqrt{1-c^2}+c(\pi-\arccos c))/\pi`."""
    c = np.clip(c, -1.0, 1.0)
    return (np.sqrt(1.0 - c * c) + c * (np.pi - np.arccos(c))) / np.pi


@dataclass(frozen=True, eq=False)
class Activation:
    r"""A coordinatewise activation :math:`\phi` and the facts about it the library uses.

    Parameters
    ----------
    name : str
        Identifier (used in reports and by :func:`get_activation`).
    fn : callable
        Vectorised numpy function ``fn(x: ndarray) -> ndarray``.
    numba_fn : numba dispatcher
        Scalar ``float64 -> float64`` function compiled with :func:`numba.njit`, called inside kernels.
    homogeneity : float or None
        Degree :math:`p` if :math:`\phi(\lambda x)=\lambda^p\phi(x)` for all :math:`\lambda>0`, else ``None``.
    lipschitz : float
        A Lipschitz constant of :math:`\phi` (``inf`` if unknown); the limit SDE is well posed when finite.
    torch_fn : callable or None
        Function of a torch tensor, for activations of the user's own; the built-in ones name a
        ``torch.nn.functional`` form in ``torch_functional`` instead, so that this module never imports
        torch. :func:`stochdepth.nn.torch_activation` resolves either.
    torch_functional : tuple (name, args) or None
        ``torch.nn.functional.<name>(x, *args)`` computes the activation.
    sympy_fn : callable or None
        ``sympy_fn(x)`` returning a sympy expression of the symbol ``x``.
    second_moment_fn, kernel_fn : callable or None
        Closed forms of :math:`M_2` and :math:`K` (``None``: quadrature).
    square_c1_lipschitz : bool
        Whether :math:`\phi^2` is :math:`C^1` with Lipschitz derivative but not :math:`C^2` (ReLU): Itô's
        formula for :math:`\sum_i\phi(x_i)^2` then holds without a local-time term (docs/science.md §A5).
    """

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    numba_fn: Any
    homogeneity: float | None = None
    lipschitz: float = math.inf
    torch_fn: Callable[[Any], Any] | None = None
    torch_functional: tuple[str, tuple[float, ...]] | None = None
    sympy_fn: Callable[[Any], Any] | None = None
    second_moment_fn: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)
    kernel_fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = field(
        default=None, repr=False
    )
    square_c1_lipschitz: bool = False

    def __call__(self, x: Any) -> np.ndarray:
        return self.fn(np.asarray(x, dtype=float))

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    @property
    def has_closed_form_kernel(self) -> bool:
        """Whether :math:`M_2` and :math:`K` are known in closed form (no quadrature needed)."""
        return self.second_moment_fn is not None and self.kernel_fn is not None

    def second_moment(self, q: Any) -> np.ndarray:
        r""":math:`M_2(q)=\mathbb E\,\phi(\sqrt q Z)^2` for variances ``q >= 0`` (array-like).

        Closed form when the activation has one, else a composite Gauss--Legendre rule on
        :math:`[-13, 13]` (relative error about :math:`10^{-15}` for the built-ins at variances 0.3..25).

        Raises
        ------
        ValueError
            If a variance is negative or not finite.
        NumericalError
            If the result is not finite (an activation overflowing at this variance).
        """
        q = np.asarray(q, dtype=float)
        if np.any(q < 0) or not np.all(np.isfinite(q)):
            bad = q[~((q >= 0) & np.isfinite(q))].ravel()
            raise ValueError(f"q must be finite and >= 0, got {float(bad[0])}")
        if self.second_moment_fn is not None:
            out = np.asarray(self.second_moment_fn(q), dtype=float)
        else:
            x = np.sqrt(q)[..., None] * _Q1_NODES
            with np.errstate(over="ignore", invalid="ignore"):
                out = np.asarray(self.fn(x) ** 2 @ _Q1_WEIGHTS, dtype=float)
        check_finite_result(f"second moment of activation {self.name!r}", out)
        return out

    def kernel(self, q_aa: Any, q_bb: Any, q_ab: Any) -> np.ndarray:
        r""":math:`K(q_{aa},q_{bb},q_{ab})=\mathbb E\,\phi(U)\phi(V)` for a centred Gaussian pair.

        Requires :math:`q_{aa},q_{bb}\ge0` and :math:`q_{ab}^2\le q_{aa}q_{bb}` (up to rounding). Closed
        form when the activation has one (ReLU: the arc-cosine kernel, Cho & Saul, NeurIPS 2009), else a
        tensor Gauss--Legendre rule.

        Raises
        ------
        ValueError
            For non-finite or invalid covariance entries.
        NumericalError
            If the result is not finite.
        """
        qa, qb, qab = np.broadcast_arrays(
            np.asarray(q_aa, float), np.asarray(q_bb, float), np.asarray(q_ab, float)
        )
        for name, v in (("q_aa", qa), ("q_bb", qb), ("q_ab", qab)):
            if not np.all(np.isfinite(v)):
                raise ValueError(f"{name} must be finite, got {float(v[~np.isfinite(v)].ravel()[0])}")
        if np.any(qa < 0) or np.any(qb < 0):
            raise ValueError(f"q_aa and q_bb must be >= 0, got minimum {float(min(qa.min(), qb.min()))}")
        if np.any(qab * qab > qa * qb * (1 + 1e-9) + 1e-300):
            raise ValueError("q_ab**2 must be <= q_aa * q_bb (a covariance matrix), got a larger q_ab**2")
        if self.kernel_fn is not None:
            out = np.asarray(self.kernel_fn(qa, qb, qab), dtype=float)
            check_finite_result(f"kernel of activation {self.name!r}", out)
            return out
        sa, sb = np.sqrt(qa), np.sqrt(qb)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(sa * sb > 0, qab / (sa * sb), 0.0)
        c = np.clip(c, -1.0, 1.0)
        s = np.sqrt(1.0 - c * c)
        z1 = _Q2_NODES[:, None]
        z2 = _Q2_NODES[None, :]
        w = _Q2_WEIGHTS[:, None] * _Q2_WEIGHTS[None, :]
        u = sa[..., None, None] * z1
        v = sb[..., None, None] * (c[..., None, None] * z1 + s[..., None, None] * z2)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.asarray(np.sum(self.fn(u) * self.fn(v) * w, axis=(-2, -1)), dtype=float)
        check_finite_result(f"kernel of activation {self.name!r}", out)
        return out

    def sympy(self, x: Any) -> Any:
        """The activation as a sympy expression of ``x``."""
        if self.sympy_fn is None:
            raise NotImplementedError(f"activation {self.name!r} has no sympy form")
        return self.sympy_fn(x)

    @classmethod
    def custom(
        cls,
        name: str,
        fn: Callable[[float], float],
        *,
        lipschitz: float = math.inf,
        homogeneity: float | None = None,
        torch_fn: Callable[[Any], Any] | None = None,
        sympy_fn: Callable[[Any], Any] | None = None,
    ) -> Activation:
        """Wrap a user function written with scalar numpy/math operations that numba can compile.

        ``fn`` is compiled with :func:`numba.njit` for the kernels and vectorised for numpy use.

        Raises
        ------
        TypeError
            If ``fn`` is not callable or numba cannot compile it for a float argument.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty str, got {name!r}")
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        lipschitz = check_real("lipschitz", lipschitz, lo=0.0, finite=False)
        jitted = fn if isinstance(fn, numba.core.registry.CPUDispatcher) else numba.njit(fn)
        try:
            value = float(jitted(0.5))
        except Exception as exc:
            raise TypeError(f"fn of activation {name!r} cannot be compiled by numba: {exc}") from exc
        if not math.isfinite(value):
            raise ValueError(f"fn of activation {name!r} returned {value} at 0.5")
        vec = np.vectorize(jitted, otypes=[float])
        return cls(
            name=name,
            fn=vec,
            numba_fn=jitted,
            homogeneity=homogeneity,
            lipschitz=lipschitz,
            torch_fn=torch_fn,
            sympy_fn=sympy_fn,
        )


# --- numba scalar functions (module level so that kernels can be cached per activation) --------------


@numba.njit(cache=True)
def _nb_linear(x: float) -> float:
    return x


@numba.njit(cache=True)
def _nb_relu(x: float) -> float:
    return x if x > 0.0 else 0.0


@numba.njit(cache=True)
def _nb_tanh(x: float) -> float:
    return math.tanh(x)


@numba.njit(cache=True)
def _nb_gelu(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def _sympy_gelu(x: Any) -> Any:
    import sympy as sp

    return x * (1 + sp.erf(x / sp.sqrt(2))) / 2


def _sympy_relu(x: Any) -> Any:
    import sympy as sp

    return sp.Max(x, 0)


def _sympy_tanh(x: Any) -> Any:
    import sympy as sp

    return sp.tanh(x)


def _relu_kernel(qa: np.ndarray, qb: np.ndarray, qab: np.ndarray) -> np.ndarray:
    s = np.sqrt(qa * qb)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(s > 0, qab / s, 0.0)
    return 0.5 * s * arccos_kernel(c)


LINEAR = Activation(
    name="linear",
    fn=lambda x: np.asarray(x, dtype=float),
    numba_fn=_nb_linear,
    homogeneity=1.0,
    lipschitz=1.0,
    torch_fn=lambda x: x,
    sympy_fn=lambda x: x,
    second_moment_fn=lambda q: np.asarray(q, dtype=float),
    kernel_fn=lambda qa, qb, qab: np.asarray(qab, dtype=float),
)

RELU = Activation(
    name="relu",
    fn=lambda x: np.maximum(x, 0.0),
    numba_fn=_nb_relu,
    homogeneity=1.0,
    lipschitz=1.0,
    torch_functional=("relu", ()),
    sympy_fn=_sympy_relu,
    second_moment_fn=lambda q: 0.5 * np.asarray(q, dtype=float),
    kernel_fn=_relu_kernel,
    square_c1_lipschitz=True,
)

TANH = Activation(
    name="tanh",
    fn=np.tanh,
    numba_fn=_nb_tanh,
    lipschitz=1.0,
    torch_functional=("tanh", ()),
    sympy_fn=_sympy_tanh,
)


def _gelu_np(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


GELU = Activation(
    name="gelu",
    fn=_gelu_np,
    numba_fn=_nb_gelu,
    lipschitz=1.13,  # sup |GELU'| = 1.1289...
    torch_functional=("gelu", ()),
    sympy_fn=_sympy_gelu,
)

_LEAKY_CACHE: dict[float, Activation] = {}


def leaky_relu(slope: float = 0.01) -> Activation:
    r"""Leaky ReLU :math:`\phi(x)=\max(x,0)+\alpha\min(x,0)` with slope :math:`\alpha\in[0,1]`.

    Closed forms: :math:`M_2(q)=\frac{1+\alpha^2}{2}q` and, writing :math:`k(c)` for the ReLU kernel,
    :math:`K=(1+\alpha^2)k(c)-2\alpha k(-c)` (expand :math:`\phi(u)=r(u)-\alpha r(-u)`).

    Parameters
    ----------
    slope : float
        :math:`\alpha\in[0,1]` (0 is ReLU's function, without ReLU's closed-form identities of
        docs/science.md §A5 attached). One object per slope is kept, so its numba kernels compile once.

    References
    ----------
    Maas, Hannun & Ng, *Rectifier nonlinearities improve neural network acoustic models*, ICML 2013
    workshop (the activation); the closed forms are derived from the arc-cosine kernel (Cho & Saul,
    NeurIPS 2009).
    """
    alpha = check_real("slope", slope, lo=0.0, hi=1.0)
    if alpha in _LEAKY_CACHE:
        return _LEAKY_CACHE[alpha]

    @numba.njit
    def nb_leaky(x: float) -> float:
        return x if x > 0.0 else alpha * x

    def kernel(qa: np.ndarray, qb: np.ndarray, qab: np.ndarray) -> np.ndarray:
        return (1 + alpha**2) * _relu_kernel(qa, qb, qab) - 2 * alpha * _relu_kernel(qa, qb, -qab)

    def sympy_leaky(x: Any) -> Any:
        import sympy as sp

        return sp.Max(x, 0) + sp.nsimplify(alpha) * sp.Min(x, 0)

    act = Activation(
        name="leaky_relu" if alpha == 0.01 else f"leaky_relu({alpha:g})",
        fn=lambda x: np.where(np.asarray(x) > 0, x, alpha * np.asarray(x, dtype=float)),
        numba_fn=nb_leaky,
        homogeneity=1.0,
        lipschitz=1.0,
        torch_functional=("leaky_relu", (alpha,)),
        sympy_fn=sympy_leaky,
        second_moment_fn=lambda q: 0.5 * (1 + alpha**2) * np.asarray(q, dtype=float),
        kernel_fn=kernel,
        square_c1_lipschitz=True,
    )
    _LEAKY_CACHE[alpha] = act
    return act


_BUILTIN: dict[str, Callable[[], Activation]] = {
    "linear": lambda: LINEAR,
    "identity": lambda: LINEAR,
    "relu": lambda: RELU,
    "tanh": lambda: TANH,
    "gelu": lambda: GELU,
    "leaky_relu": lambda: leaky_relu(0.01),
}


def available_activations() -> list[str]:
    """Names accepted by :func:`get_activation`."""
    return sorted(_BUILTIN)


def get_activation(activation: str | Activation) -> Activation:
    """Return the :class:`Activation` named ``activation`` (or ``activation`` itself).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    TypeError
        For anything that is neither a str nor an Activation.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key not in _BUILTIN:
            raise ValueError(
                f"activation must be one of {available_activations()} or an Activation object, "
                f"got {activation!r}"
            )
        return _BUILTIN[key]()
    raise TypeError(f"activation must be a str or an Activation, got {type(activation).__name__}")
