r"""Hypothesis strategies for property-based tests of depth models, built on the library's objects.

Each strategy draws a *library object together with what is known about it*, so that a property test
can compare a computation with a closed form, or check that a theorem's conclusion holds whenever its
hypotheses do:

============================================  ============================================================
strategy                                      draws
============================================  ============================================================
:func:`activations`                           :class:`~stochdepth.Activation` objects (built-ins, leaky
                                              slopes)
:func:`widths`, :func:`depths`                widths :math:`n` and depths :math:`L`
:func:`network_inputs`                        inputs :math:`x` of shape ``(d, k)``, collinear columns too
:func:`network_configs`                       :class:`NetworkConfig`: a random ResNet of SCIENCE.md A1
:func:`diffusions_with_known_laws`            :class:`KnownLawDiffusion`: GBM, Ornstein--Uhlenbeck,
                                              Brownian motion, the linear network's limit diffusion, with
                                              exact laws and exact moments (of the SDE and of its Euler
                                              scheme)
:func:`stochastic_matrices`                   row-stochastic matrices with exact zeros
:func:`markov_stopping_problems`              :class:`~stochdepth.stopping.MarkovStoppingProblem` (finite
                                              or infinite horizon, monotone by construction or not)
:func:`residual_families`                     :class:`~stochdepth.depth.ResidualFamily`: residual
                                              networks that satisfy (or observably violate) the
                                              hypotheses of SCIENCE.md B2
:func:`obstacle_problems_with_closed_forms`   :class:`ObstacleCase`: perpetual put, B5 noiseless
                                              contraction, B6 bridge, with closed-form solutions
:func:`american_options`                      :class:`AmericanPut`: European closed form, American PDE,
                                              Bermudan grid reference
============================================  ============================================================

Every strategy validates its arguments when it is *built* (a wrong size knob raises at once, not at
draw time) and is parametrised by size knobs (``max_states``, ``max_width``, ...) so that the same
property runs small in a default test suite and large under a ``slow`` marker.

hypothesis is a test extra: importing this module without it raises an :class:`ImportError` that says
how to install it, and ``import stochdepth`` never imports this module (nor hypothesis). The heavy
subpackages (:mod:`~stochdepth.stopping`, :mod:`~stochdepth.freeboundary`, :mod:`~stochdepth.sde`) are
imported when a strategy that needs them is built.

Random arrays inside a drawn object (weights of a residual family, directions) come from a generator
seeded by a drawn integer through :func:`stochdepth.random.as_generator`: the draw, hence the test, is
reproducible under hypothesis' derandomised profile.

Examples
--------
>>> from hypothesis import given, settings
>>> from stochdepth.strategies import markov_stopping_problems
>>> from stochdepth.stopping import solve_stopping
>>> @settings(max_examples=5)
... @given(markov_stopping_problems(max_states=3, max_horizon=3))
... def check(prob):
...     sol = solve_stopping(prob)
...     assert (sol.values >= prob.gains - 1e-12).all()     # the Snell envelope dominates the gain
>>> check()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

try:
    from hypothesis import strategies as hst
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "stochdepth.strategies needs hypothesis, a test extra of stochdepth: pip install hypothesis "
        "(or pip install 'stochdepth[test]')"
    ) from exc

from ._checks import check_choice, check_int, check_real
from ._results import Result
from .activations import Activation, available_activations, get_activation, leaky_relu
from .random import as_generator

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis.strategies import SearchStrategy

    from .depth import ResidualFamily
    from .stopping import MarkovStoppingProblem
    from .stopping.finance import GridPrice

__all__ = [
    "AmericanPut",
    "KnownLawDiffusion",
    "NetworkConfig",
    "ObstacleCase",
    "activations",
    "american_options",
    "depths",
    "diffusions_with_known_laws",
    "markov_stopping_problems",
    "network_configs",
    "network_inputs",
    "obstacle_problems_with_closed_forms",
    "residual_families",
    "stochastic_matrices",
    "widths",
]

_SEEDS = hst.integers(0, 2**32 - 1)


def _check_subset(name: str, values: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    """A non-empty tuple of distinct choices from ``allowed`` (a single string is accepted)."""
    if isinstance(values, str):
        items: tuple[Any, ...] = (values,)
    elif isinstance(values, Sequence):
        items = tuple(values)
    else:
        raise TypeError(f"{name} must be a str or a sequence of str, got {type(values).__name__}")
    if not items:
        raise ValueError(f"{name} must name at least one of {list(allowed)}, got an empty sequence")
    for v in items:
        if not isinstance(v, str):
            raise TypeError(f"{name} must hold str, got {type(v).__name__} {v!r}")
        check_choice(name, v, allowed)
    return tuple(dict.fromkeys(items))


def _check_optional_bool(name: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True, False or None, got {type(value).__name__} {value!r}")
    return None if value is None else bool(value)


# ====================================================================================================
# Activations, widths, depths, inputs, networks
# ====================================================================================================


def activations(
    *,
    names: Sequence[str] | None = None,
    leaky_slopes: Sequence[float] | None = None,
    homogeneous: bool | None = None,
    closed_form: bool | None = None,
) -> SearchStrategy[Activation]:
    r"""Activation functions :math:`\phi` as :class:`~stochdepth.Activation` objects.

    Draws from the built-ins (``linear``, ``relu``, ``leaky_relu`` with slope 0.01, ``tanh``, ``gelu``)
    and leaky ReLUs :math:`\phi(x)=\max(x,0)+\alpha\min(x,0)` with the given extra slopes, optionally
    restricted to the positively homogeneous ones (:math:`\phi(\lambda x)=\lambda\phi(x)`,
    :math:`\lambda>0`) or to those with closed-form Gaussian expectations :math:`M_2` and :math:`K`
    (SCIENCE.md A6).

    Guarantees: every drawn activation has a finite Lipschitz constant (the limit SDE of SCIENCE.md A3
    is well posed) and a numba scalar function; shrinking goes towards the first name (``linear``).

    Parameters
    ----------
    names : sequence of str, optional
        Built-in names to draw from (see :func:`stochdepth.activations.available_activations`); default
        all of them.
    leaky_slopes : sequence of float, optional
        Extra leaky-ReLU slopes in :math:`[0,1]` (each compiles its numba function, and the network
        samplers their kernels, once per process on first use). Default ``(0.1, 0.25)`` when ``names``
        is ``None``, none when ``names`` is given.
    homogeneous : bool or None, optional
        ``True``: positively homogeneous only; ``False``: non-homogeneous only; ``None``: any.
    closed_form : bool or None, optional
        ``True``: closed-form :math:`M_2` and kernel only; ``False``: quadrature ones only; ``None``: any.

    Returns
    -------
    hypothesis strategy of Activation

    Raises
    ------
    ValueError
        For an unknown name, a slope outside :math:`[0,1]`, or filters that leave no activation.

    References
    ----------
    SCIENCE.md A1 (the network) and A6 (Gaussian expectations); Cho & Saul, NeurIPS 2009 (arc-cosine
    kernel of ReLU).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(activations(homogeneous=True))
    ... def check(phi):
    ...     assert phi.homogeneity == 1.0 and phi.has_closed_form_kernel
    >>> check()
    """
    allowed = available_activations()
    chosen = list(allowed if names is None else _check_subset("names", names, allowed))
    homogeneous = _check_optional_bool("homogeneous", homogeneous)
    closed_form = _check_optional_bool("closed_form", closed_form)
    if leaky_slopes is None:
        leaky_slopes = (0.1, 0.25) if names is None else ()
    if isinstance(leaky_slopes, (str, bytes)) or not isinstance(leaky_slopes, Sequence):
        raise TypeError(f"leaky_slopes must be a sequence of floats, got {type(leaky_slopes).__name__}")
    slopes = [check_real("leaky_slopes", s, lo=0.0, hi=1.0) for s in leaky_slopes]
    pool: list[Activation] = []
    # order: simplest first, so that hypothesis shrinks towards the linear network
    order = ["linear", "identity", "relu", "leaky_relu", "tanh", "gelu"]
    for name in sorted(chosen, key=lambda s: order.index(s) if s in order else len(order)):
        act = get_activation(name)
        if all(act is not p for p in pool):
            pool.append(act)
    pool.extend(leaky_relu(s) for s in slopes if all(leaky_relu(s) is not p for p in pool))
    if homogeneous is not None:
        pool = [a for a in pool if (a.homogeneity is not None) == homogeneous]
    if closed_form is not None:
        pool = [a for a in pool if a.has_closed_form_kernel == closed_form]
    if not pool:
        raise ValueError(
            f"no activation satisfies names={names!r}, homogeneous={homogeneous}, closed_form={closed_form}"
        )
    return hst.sampled_from(pool)


def widths(min_width: int = 1, max_width: int = 16) -> SearchStrategy[int]:
    r"""Network widths :math:`n` in ``[min_width, max_width]`` (shrinking towards ``min_width``).

    Parameters
    ----------
    min_width, max_width : int
        :math:`1\le` ``min_width`` :math:`\le` ``max_width``. Width 1 and 2 are the degenerate regimes of
        SCIENCE.md A4--A5 (drift :math:`\frac12-\frac1n\le0`); include them unless a test excludes them.

    Returns
    -------
    hypothesis strategy of int

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(widths(3, 8))
    ... def check(n):
    ...     assert 3 <= n <= 8
    >>> check()
    """
    lo = check_int("min_width", min_width, min=1)
    hi = check_int("max_width", max_width, min=lo)
    return hst.integers(lo, hi)


def depths(min_depth: int = 1, max_depth: int = 64) -> SearchStrategy[int]:
    r"""Network depths :math:`L` in ``[min_depth, max_depth]`` (shrinking towards ``min_depth``).

    Parameters
    ----------
    min_depth, max_depth : int
        :math:`1\le` ``min_depth`` :math:`\le` ``max_depth``.

    Returns
    -------
    hypothesis strategy of int

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(depths(max_depth=4))
    ... def check(L):
    ...     assert 1 <= L <= 4
    >>> check()
    """
    lo = check_int("min_depth", min_depth, min=1)
    hi = check_int("max_depth", max_depth, min=lo)
    return hst.integers(lo, hi)


def network_inputs(
    d: int | None = None,
    k: int | None = None,
    *,
    max_dim: int = 6,
    max_inputs: int = 3,
    min_norm: float = 0.1,
    max_norm: float = 10.0,
    collinear: bool = True,
) -> SearchStrategy[np.ndarray]:
    r"""Network inputs :math:`X=[x^{(1)},\dots,x^{(k)}]\in\mathbb R^{d\times k}`.

    Each column is a direction drawn coordinatewise in :math:`[-1,1]` (normalised) times a norm drawn
    log-uniformly in ``[min_norm, max_norm]``. With ``collinear=True`` about one column in four (after
    the first) is a copy or the negative of an earlier one, so the input Gram matrix
    :math:`X^\top X` -- hence the Gram matrix of the first layer (SCIENCE.md A2) -- is often singular,
    which samplers must handle.

    Guarantees: float64, finite, shape ``(d, k)``, every column has norm in ``[min_norm, max_norm]``
    (up to rounding).

    Parameters
    ----------
    d, k : int, optional
        Input dimension and number of inputs; drawn in ``[1, max_dim]`` and ``[1, max_inputs]`` when
        ``None``.
    max_dim, max_inputs : int, optional
        Size knobs (``>= 1``), used when ``d`` or ``k`` is ``None``.
    min_norm, max_norm : float, optional
        Range of the column norms, :math:`0<` ``min_norm`` :math:`\le` ``max_norm``.
    collinear : bool, optional
        Allow duplicated (or negated) columns. Default True.

    Returns
    -------
    hypothesis strategy of numpy.ndarray

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(network_inputs(d=3, k=2))
    ... def check(x):
    ...     norms = np.linalg.norm(x, axis=0)
    ...     assert x.shape == (3, 2) and ((norms > 0.0999) & (norms < 10.001)).all()
    >>> check()
    """
    dd = None if d is None else check_int("d", d, min=1)
    kk = None if k is None else check_int("k", k, min=1)
    max_dim = check_int("max_dim", max_dim, min=1)
    max_inputs = check_int("max_inputs", max_inputs, min=1)
    lo = check_real("min_norm", min_norm, lo=0.0, lo_open=True)
    hi = check_real("max_norm", max_norm, lo=lo)
    if not isinstance(collinear, (bool, np.bool_)):
        raise TypeError(f"collinear must be a bool, got {type(collinear).__name__}")
    log_lo, log_hi = math.log(lo), math.log(hi)

    @hst.composite
    def draw_inputs(draw: Any) -> np.ndarray:
        dim = dd if dd is not None else draw(hst.integers(1, max_dim))
        n_in = kk if kk is not None else draw(hst.integers(1, max_inputs))
        coords = hst.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)
        cols: list[np.ndarray] = []
        for j in range(n_in):
            if collinear and j > 0 and draw(hst.integers(0, 3)) == 0:
                src = cols[draw(hst.integers(0, j - 1))]
                cols.append(src * draw(hst.sampled_from([1.0, -1.0])))
                continue
            u = np.array(draw(hst.lists(coords, min_size=dim, max_size=dim)), dtype=float)
            nu = float(np.linalg.norm(u))
            if nu < 1e-3:  # a direction that rounding could not normalise: use a basis vector
                u = np.zeros(dim)
                u[j % dim] = 1.0
                nu = 1.0
            r = math.exp(draw(hst.floats(log_lo, log_hi))) if log_hi > log_lo else lo
            cols.append(u * (min(max(r, lo), hi) / nu))
        return np.ascontiguousarray(np.stack(cols, axis=1))

    return draw_inputs()


@dataclass(frozen=True, eq=False, repr=False)
class NetworkConfig(Result):
    r"""A random residual network of SCIENCE.md A1 to sample: inputs, width, depth, activation, horizon.

    .. math::
        Y_0=W_{\rm in}x,\qquad Y_l=Y_{l-1}+\sqrt{t_1/L}\;W_l\,\phi(Y_{l-1}),\quad l=1,\dots,L.

    Attributes
    ----------
    x : ndarray, shape (d, k)
        Inputs (columns).
    width, depth : int
        :math:`n` and :math:`L`.
    activation : Activation
        :math:`\phi`.
    t1 : float
        Depth-time horizon :math:`t_1>0` (branch scale :math:`\sqrt{t_1/L}`).
    """

    x: np.ndarray
    width: int
    depth: int
    activation: Activation
    t1: float

    @property
    def step(self) -> float:
        """Depth-time step :math:`h=t_1/L`."""
        return self.t1 / self.depth

    @property
    def input_variance(self) -> np.ndarray:
        r"""Per-neuron variance of the first layer, :math:`q_0=\|x^{(a)}\|^2/d` for each input ``(k,)``."""
        return np.sum(self.x**2, axis=0) / self.x.shape[0]

    def sample(self, *, n_networks: int, **kwargs: Any) -> Any:
        """Sample networks of this configuration with :func:`stochdepth.networks.sample_network`.

        ``kwargs`` are passed on (``record``, ``observe``, ``reduce``, ``rng``, ``sampler``, ...).
        """
        from .networks import sample_network

        return sample_network(
            self.x, self.width, self.depth, self.activation, n_networks=n_networks, t1=self.t1, **kwargs
        )


def network_configs(
    *,
    max_width: int = 8,
    max_depth: int = 16,
    max_dim: int = 4,
    max_inputs: int = 2,
    activation: SearchStrategy[Activation] | None = None,
    t1: float | None = None,
) -> SearchStrategy[NetworkConfig]:
    r"""Configurations of random residual networks (:class:`NetworkConfig`).

    Width in ``[1, max_width]``, depth in ``[1, max_depth]``, inputs from :func:`network_inputs`
    (collinear columns included), activation from ``activation`` (default :func:`activations`), horizon
    :math:`t_1` drawn in :math:`[0.25, 2]` unless fixed.

    Parameters
    ----------
    max_width, max_depth, max_dim, max_inputs : int, optional
        Size knobs, each ``>= 1``.
    activation : hypothesis strategy of Activation, optional
        Where activations come from (e.g. ``activations(names=["relu"])``).
    t1 : float, optional
        Fixed horizon :math:`t_1>0`.

    Returns
    -------
    hypothesis strategy of NetworkConfig

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3)
    ... @given(network_configs(max_width=4, max_depth=4, activation=activations(names=["relu"])))
    ... def check(cfg):
    ...     res = cfg.sample(n_networks=8, rng=0)
    ...     assert res["preactivations"].samples.shape[-2:] == (cfg.width, cfg.x.shape[1])
    >>> check()
    """
    max_width = check_int("max_width", max_width, min=1)
    max_depth = check_int("max_depth", max_depth, min=1)
    inputs = network_inputs(max_dim=check_int("max_dim", max_dim, min=1), max_inputs=max_inputs)
    acts = activations() if activation is None else activation
    if not isinstance(acts, hst.SearchStrategy):
        raise TypeError(f"activation must be a hypothesis strategy, got {type(acts).__name__}")
    fixed_t1 = None if t1 is None else check_real("t1", t1, lo=0.0, lo_open=True)

    @hst.composite
    def draw_config(draw: Any) -> NetworkConfig:
        x = draw(inputs)
        n = draw(hst.integers(1, max_width))
        L = draw(hst.integers(1, max_depth))
        act = draw(acts)
        if not isinstance(act, Activation):
            raise TypeError(f"activation strategy must draw Activation objects, got {type(act).__name__}")
        horizon = fixed_t1 if fixed_t1 is not None else draw(hst.sampled_from([1.0, 0.25, 0.5, 2.0]))
        return NetworkConfig(x, n, L, act, horizon)

    return draw_config()


# ====================================================================================================
# Diffusions with known laws
# ====================================================================================================

_DIFFUSION_KINDS = ("gbm", "ou", "brownian", "linear_limit")


def _noise_covariance(noise: str, c: np.ndarray, d: np.ndarray, m: np.ndarray, M: np.ndarray) -> np.ndarray:
    r""":math:`\mathbb E[\sigma(X)\sigma(X)^\top]` from :math:`m=\mathbb EX`, :math:`M=\mathbb EXX^\top`."""
    dim = m.size
    if noise == "diagonal":  # sigma_i = c_i + d_i x_i, independent W^i
        return np.diag(c * c + 2.0 * c * d * m + d * d * np.diag(M))
    if noise == "general":  # constant C
        return c @ c.T
    # isotropic, sigma = gamma ||x|| times an identity on W of dimension dim
    return (d[0] ** 2) * np.trace(M) * np.eye(dim)


@dataclass(frozen=True, eq=False, repr=False)
class KnownLawDiffusion(Result):
    r"""An SDE with affine drift whose law at time :math:`t` is known in closed form.

    .. math::
        dX_t=(AX_t+a)\,dt+\sigma(X_t)\,dW_t,\qquad X_0=x_0,

    with, by ``noise``: ``"diagonal"`` :math:`\sigma^i=c_i+d_ix_i` (independent :math:`W^i`; geometric
    Brownian motion for :math:`c=0`), ``"general"`` :math:`\sigma=C` constant (Ornstein--Uhlenbeck,
    Brownian motion with drift when :math:`A=0`), ``"isotropic"`` :math:`\sigma=\gamma\|x\|\,I`
    (the linear network's limit diffusion, SCIENCE.md A3, :math:`\gamma=1/\sqrt n`).

    Three exact descriptions are attached, derived independently:

    * :meth:`law` -- the law of the scalar :attr:`statistic` at time :math:`t`, from the explicit
      solution (log-normal for GBM and for the linear network's :math:`\|X_t\|^2`, normal for the
      Gaussian processes, whose mean and covariance come from matrix exponentials, Van Loan 1978);
    * :meth:`mean`, :meth:`second_moment` -- :math:`m=\mathbb EX_t` and :math:`M=\mathbb EX_tX_t^\top` from
      the linear moment equations (Itô's formula),

      .. math::
          \dot m=Am+a,\qquad \dot M=AM+MA^\top+am^\top+ma^\top+\mathbb E[\sigma\sigma^\top](m,M),

      solved exactly by one matrix exponential;
    * :meth:`euler_moments` -- the same two moments for the Euler--Maruyama scheme with :math:`N` steps,
      exactly (no Monte Carlo, no :math:`O(h)` bias): with :math:`B=I+hA`,

      .. math::
          m'=Bm+ha,\qquad M'=BMB^\top+h(Bma^\top+am^\top B^\top)+h^2aa^\top
          +h\,\mathbb E[\sigma\sigma^\top](m,M),

      so a simulation can be checked at a few standard errors against its own scheme, and the scheme
      against the SDE as :math:`N\to\infty`.

    Attributes
    ----------
    kind : str
        ``"gbm"``, ``"ou"``, ``"brownian"`` or ``"linear_limit"``.
    x0 : ndarray, shape (dim,)
        Initial state.
    horizon : float
        A time :math:`T>0` at which the test should look (drawn with the parameters).
    drift_matrix, drift_offset : ndarray
        :math:`A` ``(dim, dim)`` and :math:`a` ``(dim,)``.
    noise : str
        ``"diagonal"``, ``"general"`` or ``"isotropic"``.
    diffusion_offset : ndarray
        :math:`c` ``(dim,)`` (diagonal) or :math:`C` ``(dim, q)`` (general); empty otherwise.
    diffusion_scale : ndarray
        :math:`d` ``(dim,)`` (diagonal) or ``[gamma]`` (isotropic); empty otherwise.
    statistic_kind : str
        ``"x0"`` (first coordinate) or ``"squared_norm"``.
    width : int or None
        :math:`n` for the linear network's limit diffusion.

    References
    ----------
    Kloeden & Platen (1992), sec. 4.4 (explicit solutions of linear SDEs); Van Loan, *IEEE Trans.
    Automat. Control* 23 (1978) 395-404 (integrals of matrix exponentials); SCIENCE.md A4 (the linear
    network: :math:`\|X_t\|=\|X_0\|e^{(\frac12-\frac1n)t+W_t/\sqrt n}`).
    """

    kind: str
    x0: np.ndarray
    horizon: float
    drift_matrix: np.ndarray
    drift_offset: np.ndarray
    noise: str
    diffusion_offset: np.ndarray
    diffusion_scale: np.ndarray
    statistic_kind: str
    width: int | None = None
    _builder: Callable[[], Any] = field(default=None, repr=False)  # type: ignore[assignment]

    @property
    def dim(self) -> int:
        """State dimension."""
        return int(self.x0.size)

    @cached_property
    def sde(self) -> Any:
        """The :class:`~stochdepth.sde.SDE` (built on first access: numba compiles its coefficients)."""
        if self._builder is None:
            raise ValueError("this KnownLawDiffusion was created without an SDE builder")
        return self._builder()

    @property
    def statistic(self) -> Any:
        """The scalar observable whose law :meth:`law` gives (an :class:`~stochdepth.sde.Observable`)."""
        from .sde import coordinate, squared_norm

        return coordinate(0, "statistic") if self.statistic_kind == "x0" else squared_norm("statistic")

    # -- closed forms ----------------------------------------------------------------------------------
    def _time(self, t: Any) -> float:
        return check_real("t", t, lo=0.0, lo_open=True)

    def _gaussian(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of a Gaussian (general-noise) process by matrix exponentials."""
        from scipy.linalg import expm

        A, a, C = self.drift_matrix, self.drift_offset, self.diffusion_offset
        n = self.dim
        aug = np.zeros((n + 1, n + 1))
        aug[:n, :n], aug[:n, n] = A, a
        mean = (expm(aug * t) @ np.append(self.x0, 1.0))[:n]
        # Van Loan: expm([[-A, Q], [0, A^T]] t) = [[., F12], [0, F22]], P(t) = F22^T F12
        vl = np.zeros((2 * n, 2 * n))
        vl[:n, :n], vl[:n, n:], vl[n:, n:] = -A, C @ C.T, A.T
        F = expm(vl * t)
        P = F[n:, n:].T @ F[:n, n:]
        return mean, 0.5 * (P + P.T)

    def law(self, t: float) -> Any:
        r"""Law of :attr:`statistic` at time :math:`t>0`, a frozen ``scipy.stats`` distribution.

        * GBM: :math:`X^0_t=x_0^0\exp((\mu_0-\tfrac12s_0^2)t+s_0W_t)` -- log-normal;
        * Ornstein--Uhlenbeck, Brownian motion: :math:`X^0_t` normal, mean and variance from the matrix
          exponential formulas (Van Loan);
        * linear limit: :math:`\|X_t\|^2=\|x_0\|^2\exp((1-\tfrac2n)t+\tfrac2{\sqrt n}W_t)` -- log-normal
          (SCIENCE.md A4).
        """
        from scipy import stats

        t = self._time(t)
        if self.kind == "gbm":
            mu, s = self.drift_matrix[0, 0], self.diffusion_scale[0]
            return stats.lognorm(s * math.sqrt(t), scale=self.x0[0] * math.exp((mu - 0.5 * s * s) * t))
        if self.kind == "linear_limit":
            assert self.width is not None
            n = self.width
            r0 = float(self.x0 @ self.x0)
            return stats.lognorm(2.0 * math.sqrt(t / n), scale=r0 * math.exp((1.0 - 2.0 / n) * t))
        mean, cov = self._gaussian(t)
        return stats.norm(mean[0], math.sqrt(cov[0, 0]))

    def _moment_operator(self) -> np.ndarray:
        """Generator of the linear moment equations on z = (m, vec M (row-major), 1)."""
        n = self.dim
        A, a = self.drift_matrix, self.drift_offset
        I = np.eye(n)
        N = n + n * n + 1
        G = np.zeros((N, N))
        one = N - 1
        G[:n, :n] = A
        G[:n, one] = a
        blk = slice(n, n + n * n)
        G[blk, blk] = np.kron(A, I) + np.kron(I, A)
        for i in range(n):
            for j in range(n):
                r = n + i * n + j
                G[r, j] += a[i]  # a m^T
                G[r, i] += a[j]  # m a^T
        c, d = self.diffusion_offset, self.diffusion_scale
        if self.noise == "diagonal":
            for i in range(n):
                r = n + i * n + i
                G[r, one] += c[i] ** 2
                G[r, i] += 2.0 * c[i] * d[i]
                G[r, r] += d[i] ** 2
        elif self.noise == "general":
            Q = c @ c.T
            G[blk, one] += Q.reshape(-1)
        else:
            g2 = d[0] ** 2
            for i in range(n):
                for k in range(n):
                    G[n + i * n + i, n + k * n + k] += g2
        return G

    def _moments(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        from scipy.linalg import expm

        n = self.dim
        z0 = np.concatenate([self.x0, np.outer(self.x0, self.x0).reshape(-1), [1.0]])
        z = expm(self._moment_operator() * t) @ z0
        M = z[n : n + n * n].reshape(n, n)
        return z[:n], 0.5 * (M + M.T)

    def mean(self, t: float) -> np.ndarray:
        r""":math:`\mathbb EX_t` from the moment equations (shape ``(dim,)``)."""
        return self._moments(self._time(t))[0]

    def second_moment(self, t: float) -> np.ndarray:
        r""":math:`\mathbb EX_tX_t^\top` from the moment equations (shape ``(dim, dim)``)."""
        return self._moments(self._time(t))[1]

    def euler_moments(self, t: float, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        r"""Exact :math:`(\mathbb E\hat X_N,\ \mathbb E\hat X_N\hat X_N^\top)` of Euler--Maruyama with
        ``n_steps`` steps of :math:`h=t/N` from :math:`x_0` (recursion in the class docstring)."""
        t = self._time(t)
        N = check_int("n_steps", n_steps, min=1)
        h = t / N
        A, a = self.drift_matrix, self.drift_offset
        B = np.eye(self.dim) + h * A
        m = self.x0.copy()
        M = np.outer(m, m)
        for _ in range(N):
            S = _noise_covariance(self.noise, self.diffusion_offset, self.diffusion_scale, m, M)
            Bm = B @ m
            M = B @ M @ B.T + h * (np.outer(Bm, a) + np.outer(a, Bm)) + h * h * np.outer(a, a) + h * S
            m = Bm + h * a
        return m, 0.5 * (M + M.T)


def diffusions_with_known_laws(
    kinds: Sequence[str] = _DIFFUSION_KINDS,
    *,
    max_dim: int = 3,
    max_width: int = 8,
    max_horizon: float = 2.0,
) -> SearchStrategy[KnownLawDiffusion]:
    r"""SDEs with closed-form laws and moments (:class:`KnownLawDiffusion`).

    * ``"gbm"``: independent geometric Brownian motions :math:`dX^i=\mu_iX^idt+s_iX^idW^i`,
      :math:`\mu_i\in[-1,1]`, :math:`s_i\in[0.05,0.6]`, :math:`x_0^i\in[0.5,2]`;
    * ``"ou"``: :math:`dX=(AX+a)dt+C\,dW`, entries of :math:`A,a` in :math:`[-1,1]`, :math:`C`
      ``(dim, q)`` with :math:`q\le` ``dim + 1`` and :math:`|C_{00}|\ge0.1` (so the statistic's variance is
      positive);
    * ``"brownian"``: the same with :math:`A=0`;
    * ``"linear_limit"``: the infinite-depth limit of a linear random ResNet of width :math:`n\le`
      ``max_width``, :math:`dX=\|X\|/\sqrt n\,dB` (:func:`stochdepth.limits.limit_sde`), from
      :math:`x_0` of norm in :math:`[0.5,2]`.

    The horizon :math:`T` is drawn in :math:`[0.1,` ``max_horizon`` :math:`]`. The SDE object is built
    lazily (``.sde``), so tests that only use the closed forms pay no numba compilation.

    Parameters
    ----------
    kinds : sequence of str, optional
        Which families to draw from (default all four).
    max_dim : int, optional
        Largest dimension of GBM, OU and Brownian states (``>= 1``).
    max_width : int, optional
        Largest width of the linear network (``>= 1``).
    max_horizon : float, optional
        Largest horizon (``>= 0.1``).

    Returns
    -------
    hypothesis strategy of KnownLawDiffusion

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(diffusions_with_known_laws())
    ... def check(proc):
    ...     T = proc.horizon
    ...     m, M = proc.mean(T), proc.second_moment(T)
    ...     first = m[0] if proc.statistic_kind == "x0" else np.trace(M)
    ...     assert abs(proc.law(T).mean() - first) <= 1e-8 * (1 + abs(first))
    >>> check()
    """
    kinds_t = _check_subset("kinds", kinds, _DIFFUSION_KINDS)
    max_dim = check_int("max_dim", max_dim, min=1)
    max_width = check_int("max_width", max_width, min=1)
    max_T = check_real("max_horizon", max_horizon, lo=0.1)
    empty = np.zeros(0)

    @hst.composite
    def draw_diffusion(draw: Any) -> KnownLawDiffusion:
        kind = draw(hst.sampled_from(kinds_t))
        T = draw(hst.floats(0.1, max_T))
        unit = hst.floats(-1.0, 1.0, allow_subnormal=False)
        if kind == "linear_limit":
            n = draw(hst.integers(1, max_width))
            u = np.array(draw(hst.lists(unit, min_size=n, max_size=n)), dtype=float)
            if np.linalg.norm(u) < 1e-3:
                u = np.ones(n)
            x0 = u / np.linalg.norm(u) * draw(hst.floats(0.5, 2.0))
            return KnownLawDiffusion(
                kind,
                x0,
                T,
                np.zeros((n, n)),
                np.zeros(n),
                "isotropic",
                empty,
                np.array([1.0 / math.sqrt(n)]),
                "squared_norm",
                n,
                _builder=lambda n=n: _linear_limit_sde(n),
            )
        dim = draw(hst.integers(1, max_dim))
        if kind == "gbm":
            mu = np.array(draw(hst.lists(unit, min_size=dim, max_size=dim)), dtype=float)
            s = np.array(draw(hst.lists(hst.floats(0.05, 0.6), min_size=dim, max_size=dim)))
            x0 = np.array(draw(hst.lists(hst.floats(0.5, 2.0), min_size=dim, max_size=dim)))
            A = np.diag(mu)

            def build_gbm(A: np.ndarray = A, s: np.ndarray = s) -> Any:
                from .sde import affine_sde

                return affine_sde(A, diffusion_scale=s, name="gbm")

            return KnownLawDiffusion(
                kind, x0, T, A, np.zeros(dim), "diagonal", np.zeros(dim), s, "x0", None, _builder=build_gbm
            )
        q = draw(hst.integers(1, dim + 1))
        C = np.array(draw(hst.lists(unit, min_size=dim * q, max_size=dim * q)), dtype=float).reshape(dim, q)
        c00 = draw(hst.floats(0.1, 1.0)) * draw(hst.sampled_from([1.0, -1.0]))
        C[0, 0] = c00
        a = np.array(draw(hst.lists(unit, min_size=dim, max_size=dim)), dtype=float)
        x0 = 2.0 * np.array(draw(hst.lists(unit, min_size=dim, max_size=dim)), dtype=float)
        if kind == "ou":
            A = np.array(draw(hst.lists(unit, min_size=dim * dim, max_size=dim * dim)), dtype=float)
            A = A.reshape(dim, dim)
        else:
            A = np.zeros((dim, dim))

        def build_gaussian(A: np.ndarray = A, a: np.ndarray = a, C: np.ndarray = C, kind: str = kind) -> Any:
            from .sde import affine_sde

            drift_matrix = A if kind == "ou" else None
            return affine_sde(drift_matrix, a, diffusion_offset=C, noise="general", name=kind)

        return KnownLawDiffusion(kind, x0, T, A, a, "general", C, empty, "x0", None, _builder=build_gaussian)

    return draw_diffusion()


def _linear_limit_sde(n: int) -> Any:
    from .limits import limit_sde

    return limit_sde("linear", n)


# ====================================================================================================
# Markov stopping problems
# ====================================================================================================

# gains on a coarse grid so that exact ties (which must stop) happen often
_GAIN_VALUES = hst.integers(-8, 8).map(lambda k: k / 4.0)


def stochastic_matrices(n: int, *, max_weight: int = 4) -> SearchStrategy[np.ndarray]:
    r"""Row-stochastic ``(n, n)`` matrices with exact zeros.

    Each row is drawn as integer weights in ``[0, max_weight]`` (a zero row gets one random entry set to
    1) and normalised, so transition probabilities are simple fractions and zeros are frequent
    (absorbing states, unreachable states, deterministic moves).

    Parameters
    ----------
    n : int
        Number of states, ``>= 1``.
    max_weight : int, optional
        Largest integer weight (``>= 1``). Default 4.

    Returns
    -------
    hypothesis strategy of numpy.ndarray

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(stochastic_matrices(3))
    ... def check(P):
    ...     assert P.shape == (3, 3) and (P >= 0).all() and np.allclose(P.sum(axis=1), 1.0)
    >>> check()
    """
    n = check_int("n", n, min=1)
    w_max = check_int("max_weight", max_weight, min=1)

    @hst.composite
    def draw_matrix(draw: Any) -> np.ndarray:
        rows = []
        for _ in range(n):
            w = np.array(draw(hst.lists(hst.integers(0, w_max), min_size=n, max_size=n)), dtype=float)
            if w.sum() == 0:
                w[draw(hst.integers(0, n - 1))] = 1.0
            rows.append(w / w.sum())
        return np.array(rows)

    return draw_matrix()


def _initial_law(draw: Any, n: int, fallback: int) -> np.ndarray:
    w = np.array(draw(hst.lists(hst.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    if w.sum() == 0:
        w[fallback] = 1.0
    return w / w.sum()


def markov_stopping_problems(
    max_states: int = 4,
    max_horizon: int = 4,
    *,
    infinite: bool = False,
    monotone: bool | None = None,
    discount: float | None = None,
) -> SearchStrategy[MarkovStoppingProblem]:
    r"""Small random optimal stopping problems on finite Markov chains (SCIENCE.md B1).

    Payoff :math:`Z_l=\beta^lg_l(s_l)-\sum_{k<l}\beta^kc_k`; gains on the grid :math:`\{k/4\}`,
    :math:`|k|\le8`, and costs on :math:`\{k/8\}` so that exact ties (where the smallest optimal time must
    stop) are frequent. Every drawn problem carries an initial law.

    * finite horizon (default): :math:`S\le` ``max_states`` states, :math:`L\le` ``max_horizon`` layers,
      homogeneous or layer-dependent transitions (:func:`stochastic_matrices`), gains constant or per
      layer, one cost or one per layer, :math:`\beta\in\{1,0.9\}`;
    * ``infinite=True``: homogeneous chains with :math:`c>0`, or :math:`c=0` and :math:`\beta=0.95`
      (the value is finite; ``max_horizon`` is ignored);
    * ``monotone=True``: monotone problems *by construction* -- an upward chain on :math:`0..S-1` (the top
      absorbing) with gains chosen so that the one-step gain
      :math:`d(s)=\mathbb E[g(s')\mid s]-g(s)-c` is non-increasing in :math:`s`; the look-ahead set
      :math:`\{d\le0\}` is then an up-set, closed under the chain's moves, and one-step look-ahead is
      optimal (Chow, Robbins & Siegmund 1971, Thm 3.5; SCIENCE.md B2). :math:`\beta=1`, :math:`c>0`;
    * ``monotone=False``: problems that are *not* monotone (checked with
      :func:`stochdepth.stopping.is_monotone`; drawn among at least 2 states).

    Parameters
    ----------
    max_states : int, optional
        Largest number of states (``>= 1``; ``>= 2`` for ``monotone`` not None).
    max_horizon : int, optional
        Largest horizon of finite-horizon problems (``>= 1``).
    infinite : bool, optional
        Draw infinite-horizon problems. Default False.
    monotone : bool or None, optional
        See above; ``None`` (default): no constraint.
    discount : float, optional
        Fix :math:`\beta\in(0,1]` instead of drawing it (monotone problems need :math:`\beta=1`;
        infinite-horizon ones with :math:`\beta=1` get :math:`c>0`).

    Returns
    -------
    hypothesis strategy of MarkovStoppingProblem

    References
    ----------
    Chow, Robbins & Siegmund, *Great Expectations: The Theory of Optimal Stopping* (1971), ch. 3-4.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from stochdepth.stopping import OneStepLookAhead, is_monotone, solve_stopping
    >>> @settings(max_examples=5)
    ... @given(markov_stopping_problems(monotone=True))
    ... def check(prob):
    ...     assert is_monotone(prob)
    ...     osla = OneStepLookAhead.fit(prob).evaluate(prob).value.value
    ...     assert abs(osla - solve_stopping(prob).value()) < 1e-9
    >>> check()
    """
    from .stopping import MarkovStoppingProblem, is_monotone

    monotone = _check_optional_bool("monotone", monotone)
    if not isinstance(infinite, (bool, np.bool_)):
        raise TypeError(f"infinite must be a bool, got {type(infinite).__name__}")
    max_states = check_int("max_states", max_states, min=1 if monotone is None else 2)
    max_horizon = check_int("max_horizon", max_horizon, min=1)
    beta = None if discount is None else check_real("discount", discount, lo=0.0, hi=1.0, lo_open=True)
    if monotone and beta not in (None, 1.0):
        raise ValueError(f"discount must be 1 (or None) for monotone problems, got {beta}")

    @hst.composite
    def finite_problem(draw: Any) -> MarkovStoppingProblem:
        n = draw(hst.integers(1 if monotone is None else 2, max_states))
        L = draw(hst.integers(1, max_horizon))
        layer_dep = draw(hst.booleans())
        P = (
            np.stack([draw(stochastic_matrices(n)) for _ in range(L)])
            if layer_dep
            else draw(stochastic_matrices(n))
        )
        per_layer_gains = draw(hst.booleans())
        size = n * (L + 1)
        g = np.array(draw(hst.lists(_GAIN_VALUES, min_size=size, max_size=size))).reshape(L + 1, n)
        gains = g if per_layer_gains else g[0]
        costs: Any
        if draw(hst.booleans()):
            costs = float(draw(hst.integers(0, 4))) / 8.0
        else:
            costs = np.array(draw(hst.lists(hst.integers(0, 4), min_size=L, max_size=L)), dtype=float) / 8.0
        b = beta if beta is not None else draw(hst.sampled_from([1.0, 1.0, 0.9]))
        return MarkovStoppingProblem(P, gains, costs, horizon=L, discount=b, initial=_initial_law(draw, n, 0))

    @hst.composite
    def infinite_problem(draw: Any) -> MarkovStoppingProblem:
        n = draw(hst.integers(1 if monotone is None else 2, max_states))
        P = draw(stochastic_matrices(n))
        g = np.array(draw(hst.lists(_GAIN_VALUES, min_size=n, max_size=n)))
        b = beta if beta is not None else draw(hst.sampled_from([1.0, 0.95]))
        c = draw(hst.integers(1 if b == 1.0 else 0, 4)) / 8.0
        return MarkovStoppingProblem(P, g, c, discount=b, initial=_initial_law(draw, n, n - 1))

    @hst.composite
    def monotone_problem(draw: Any) -> MarkovStoppingProblem:
        n = draw(hst.integers(2, max_states))
        L = draw(hst.integers(1, max_horizon))
        c = draw(hst.integers(1, 4)) / 8.0
        P = np.zeros((n, n))
        for s in range(n - 1):
            w = np.array(draw(hst.lists(hst.integers(0, 3), min_size=n - s, max_size=n - s)), dtype=float)
            w[0] = min(w[0], 2.0)
            if w[1:].sum() == 0:
                w[1] = 1.0  # always some chance to move up
            P[s, s:] = w / w.sum()
        P[n - 1, n - 1] = 1.0
        # target one-step gains: non-increasing, d(n-1) = -c (absorbing top), all >= -c
        d = np.sort(
            np.array(draw(hst.lists(hst.integers(-1, 6), min_size=n - 1, max_size=n - 1)), dtype=float) / 4.0
        )[::-1]
        d = np.concatenate([np.maximum(d, -c), [-c]])
        g = np.zeros(n)
        g[n - 1] = draw(_GAIN_VALUES)
        for s in range(n - 2, -1, -1):
            # d(s) = sum_{s' > s} P g(s') + P(s, s) g(s) - g(s) - c
            up = P[s, s + 1 :] @ g[s + 1 :]
            g[s] = (up - c - d[s]) / (1.0 - P[s, s])
        horizon = None if infinite else L
        return MarkovStoppingProblem(P, g, c, horizon=horizon, initial=_initial_law(draw, n, 0))

    if monotone:
        return monotone_problem()
    base = infinite_problem() if infinite else finite_problem()
    if monotone is None:
        return base
    return base.filter(lambda prob: not is_monotone(prob))


# ====================================================================================================
# Residual families (SCIENCE.md B2)
# ====================================================================================================

_RESIDUAL_KINDS = ("geometric", "summable", "bounded")
_VIOLATIONS = {
    "geometric": ("growth", "lipschitz"),
    "summable": ("bounds", "lipschitz"),
    "bounded": ("zero_cost", "discounted"),
}


def _unit_rows(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` normalised to norm 1 (rows too small to normalise become the first basis vector)."""
    nrm = np.linalg.norm(v, axis=1, keepdims=True)
    out = np.where(nrm > 1e-12, v / np.where(nrm > 1e-12, nrm, 1.0), 0.0)
    bad = nrm[:, 0] <= 1e-12
    out[bad, 0] = 1.0
    return out


def residual_families(
    satisfying: bool = True,
    kind: str | None = "geometric",
    *,
    max_dim: int = 3,
    max_horizon: int = 25,
    max_paths: int = 12,
) -> SearchStrategy[ResidualFamily]:
    r"""Deterministic residual networks that satisfy, or observably violate, the hypotheses of B2.

    The state :math:`h\in\mathbb R^d` follows :math:`h_{l+1}=h_l+f_l(h_l)` from :math:`m` starting points;
    :math:`f_l(h)=e_l\,s_l(h)\,u_l(h)` with an envelope :math:`e_l`, a scale :math:`s_l\in(0,1]` and a unit
    direction :math:`u_l` (towards the target :math:`y` at layer 0, :math:`\tanh(A_lh+b_l)` normalised
    after). Stopping at layer :math:`l` pays :math:`g(h_l)` and each layer costs :math:`c`:

    * ``kind="geometric"``: :math:`e_l=C\rho^l`, :math:`\rho<1`, gain :math:`-L_g\|h-y\|`
      (:math:`\tau^\star\le\bar l`, :func:`~stochdepth.stopping.geometric_depth_bound`);
    * ``kind="summable"``: :math:`e_l=C(l+1)^{-q}`, :math:`q\in[1.1,3]` (not geometric), gain
      :math:`-L_g\|h-y\|` (:math:`\mathbb E\tau^\star\le L_gS/c`);
    * ``kind="bounded"``: :math:`e_l=C` (no diminishing returns), gain :math:`-\bar G\tanh\|h-y\|`
      bounded (:math:`\mathbb E\tau^\star\le(\mathbb E\sup G-\mathbb EG_0)/c`);
    * ``kind=None``: any of the three.

    With ``satisfying=False`` one hypothesis is violated (see :class:`~stochdepth.depth.ResidualFamily`),
    in a way the recorded paths reveal: the violating residuals have scale exactly 1 (norm :math:`e_l`),
    the steeper gain is revealed by the radial first step of a path started at distance :math:`\ge2C+1`
    from :math:`y`.

    Parameters
    ----------
    satisfying : bool, optional
        Draw families satisfying all hypotheses (default) or violating one.
    kind : {"geometric", "summable", "bounded"} or None, optional
        Which bound the family is built for (default ``"geometric"``).
    max_dim, max_horizon, max_paths : int, optional
        Largest :math:`d`, :math:`L` and number of paths (each ``>= 1``; ``max_horizon >= 2`` when a
        ``"growth"`` violation can be drawn).

    Returns
    -------
    hypothesis strategy of ResidualFamily

    References
    ----------
    SCIENCE.md B2 (derived bounds); :mod:`stochdepth.stopping.bounds`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10)
    ... @given(residual_families(satisfying=False, kind=None))
    ... def check(fam):
    ...     b = fam.depth_bound()
    ...     assert not b.hypotheses[fam.violated_hypothesis]      # the violation is flagged
    >>> check()
    """
    if not isinstance(satisfying, (bool, np.bool_)):
        raise TypeError(f"satisfying must be a bool, got {type(satisfying).__name__}")
    kinds = _RESIDUAL_KINDS if kind is None else (check_choice("kind", kind, _RESIDUAL_KINDS),)
    max_dim = check_int("max_dim", max_dim, min=1)
    max_paths = check_int("max_paths", max_paths, min=1)
    growth_possible = not satisfying and "geometric" in kinds
    max_L = check_int("max_horizon", max_horizon, min=2 if growth_possible else 1)

    @hst.composite
    def draw_family(draw: Any) -> ResidualFamily:
        from .depth import ResidualFamily, residual_path_problem
        from .stopping import PathStoppingProblem

        fam_kind = draw(hst.sampled_from(kinds))
        violation = "" if satisfying else draw(hst.sampled_from(_VIOLATIONS[fam_kind]))
        d = draw(hst.integers(1, max_dim))
        L = draw(hst.integers(2 if violation == "growth" else 1, max_L))
        m = draw(hst.integers(1, max_paths))
        gen = as_generator(draw(_SEEDS))
        lip = draw(hst.floats(0.5, 2.0))
        C = draw(hst.floats(0.1, 3.0))
        cost = 0.0 if violation == "zero_cost" else draw(hst.floats(0.01, 1.0))
        beta = draw(hst.floats(0.5, 0.95)) if violation == "discounted" else 1.0
        layers = np.arange(L, dtype=float)
        params: dict[str, float] = {"d": d, "L": L, "paths": m, "lipschitz": lip, "C": C, "cost": cost}
        rho = math.nan
        if fam_kind == "geometric":
            rho = draw(hst.floats(0.3, 0.95))
            true_rate = draw(hst.floats(1.05, 1.3)) if violation == "growth" else rho
            declared = C * rho**layers
            envelope = C * true_rate**layers
            params.update(rho=rho, true_rate=true_rate)
        elif fam_kind == "summable":
            q = draw(hst.floats(1.1, 3.0))
            declared = C * (layers + 1.0) ** (-q)
            envelope = declared.copy()
            params["exponent"] = q
            if violation == "bounds":
                l_bad = draw(hst.integers(0, L - 1))
                factor = draw(hst.floats(1.5, 3.0))
                envelope[l_bad] *= factor
                params.update(bad_layer=l_bad, factor=factor)
        else:
            declared = C * np.ones(L)
            envelope = declared.copy()
        K = draw(hst.floats(2.0, 5.0)) if violation == "lipschitz" else 1.0
        params.update(true_lipschitz=K * lip, discount=beta)
        exact_norms = violation != ""

        y = gen.normal(size=d)
        A = 2.0 * gen.normal(size=(L, d, d))
        b = gen.normal(size=(L, d))
        w = gen.normal(size=(L, d))
        e = gen.normal(size=L)
        h0 = y + 2.0 * gen.normal(size=(m, d))
        # path 0 starts far from y, so its first (radial) step does not overshoot the target
        h0[0] = y + _unit_rows(gen.normal(size=(1, d)))[0] * (2.0 * float(envelope[0]) + 1.0 + gen.random())

        def residual(l: int, h: np.ndarray) -> np.ndarray:
            u = _unit_rows(y - h) if l == 0 else _unit_rows(np.tanh(h @ A[l].T + b[l]))
            scale = 1.0 if exact_norms else 0.5 * (1.0 + np.tanh(h @ w[l] + e[l]))[:, None]
            return envelope[l] * scale * u

        if fam_kind == "bounded":
            g_bar = lip

            def gain(h: np.ndarray) -> np.ndarray:
                return -g_bar * np.tanh(np.linalg.norm(h - y, axis=1))

        else:
            slope = K * lip

            def gain(h: np.ndarray) -> np.ndarray:
                return -slope * np.linalg.norm(h - y, axis=1)

        prob = residual_path_problem(residual, gain, h0, L, cost)
        if beta != 1.0:
            prob = PathStoppingProblem(
                prob.features, prob.gains, prob.costs, discount=beta, deterministic=True
            )
        return ResidualFamily(prob, fam_kind, lip, C, rho, declared, cost, not violation, violation, params)

    return draw_family()


# ====================================================================================================
# Obstacle problems with closed forms (SCIENCE.md B5, B6; the perpetual put)
# ====================================================================================================

_OBSTACLE_KINDS = ("perpetual_put", "noiseless_contraction", "linear_resnet")


@dataclass(frozen=True, eq=False, repr=False)
class ObstacleCase(Result):
    r"""An obstacle problem for :func:`~stochdepth.freeboundary.solve_obstacle` and its exact solution.

    Attributes
    ----------
    kind : str
        ``"perpetual_put"`` (state :math:`x=\log S`), ``"noiseless_contraction"`` (state :math:`d\ge0`,
        SCIENCE.md B5) or ``"linear_resnet"`` (state :math:`y=\log\|X\|`, SCIENCE.md B6).
    problem : StationaryObstacleProblem or ObstacleProblem
        The problem on a grid of ``n_nodes`` nodes.
    closed_form : PerpetualPut, NoiselessContraction or LinearResNetDepth
        The library's closed form.
    boundary : float or None
        The free boundary in the problem's coordinate (``None``: stop everywhere).
    stopping_side : str
        ``"below"`` (stop for :math:`x\le` boundary), ``"above"`` or ``"everywhere"``.
    horizon : float or None
        Finite horizon :math:`T`, or ``None`` (stationary).
    n_nodes : int
        Grid size.
    comparison_interval : tuple of float
        Where the truncated problem has the closed form as its solution up to :math:`10^{-10}`: the
        whole domain when the edges are exact (perpetual put: the exact value at the truncated edge;
        B5: no condition needed at the edges), else the part of the domain farther than
        :math:`40\ell` from a stopping edge placed on the continuation side (B6: the edge's effect decays
        like :math:`e^{-\delta/\ell}`, :math:`\ell=s^2/(2|m|)`, the scale function of the drifted Brownian
        motion).
    parameters : dict
        The drawn parameters.
    """

    kind: str
    problem: Any
    closed_form: Any
    boundary: float | None
    stopping_side: str
    horizon: float | None
    n_nodes: int
    comparison_interval: tuple[float, float]
    parameters: dict[str, float] = field(default_factory=dict)

    def value(self, x: Any, t: float = 0.0) -> np.ndarray:
        r"""Exact value :math:`V(t,x)` in the problem's coordinate (``t`` only for finite horizons)."""
        xs = np.asarray(x, dtype=float)
        cf = self.closed_form
        if self.kind == "perpetual_put":
            return np.asarray(cf.value(np.exp(xs)), dtype=float)
        if self.kind == "noiseless_contraction" and self.horizon is not None:
            tt = check_real("t", t, lo=0.0, hi=self.horizon)
            return np.asarray(cf.value(xs, horizon=self.horizon - tt), dtype=float)
        return np.asarray(cf.value(xs), dtype=float)

    def gain(self, x: Any) -> np.ndarray:
        """The gain :math:`g(x)` of the problem."""
        return np.asarray(self.problem.gain(np.asarray(x, dtype=float)), dtype=float)

    def refined(self, n_nodes: int) -> ObstacleCase:
        """The same case on a grid of ``n_nodes`` nodes (same domain and parameters)."""
        n = check_int("n_nodes", n_nodes, min=3)
        problem, _ = _obstacle_problem(self.kind, self.closed_form, self.horizon, self.parameters, n)
        return replace(self, problem=problem, n_nodes=n)


def _obstacle_problem(
    kind: str, cf: Any, horizon: float | None, params: dict[str, float], n: int
) -> tuple[Any, tuple[float, float]]:
    """The obstacle problem of a case on ``n`` nodes, and its comparison interval."""
    from .depth import linear_resnet_depth_problem
    from .freeboundary import Dirichlet, StationaryObstacleProblem, StretchedGrid

    if kind == "perpetual_put":
        K, r, vol, q = params["strike"], params["rate"], params["volatility"], params["dividend"]
        xb = math.log(cf.boundary)
        lo, hi = xb - 1.0, math.log(K) + 8.0 * vol
        grid = StretchedGrid(lo, hi, n, center=xb, scale=0.1)

        def gain(x: np.ndarray) -> np.ndarray:
            return np.maximum(K - np.exp(x), 0.0)

        def gain_derivative(x: np.ndarray) -> np.ndarray:
            return np.where(x < math.log(K), -np.exp(x), 0.0)

        # the exact value at the truncated (continuation) edge; the left edge lies in the stopping region
        edge = Dirichlet(lambda x: cf.value(np.exp(x)))
        problem = StationaryObstacleProblem(
            gain, r - q - 0.5 * vol * vol, vol, grid, rate=r, right=edge, gain_derivative=gain_derivative
        )
        return problem, (lo, hi)
    if kind == "noiseless_contraction":
        return cf.problem(params["upper"], horizon=horizon, n_nodes=n), (0.0, params["upper"])
    width, target, cost = int(params["width"]), params["target"], params["cost"]
    if cf.boundary is None:  # width 2: stop everywhere, no edge effect
        problem = linear_resnet_depth_problem(width, target, cost, n_nodes=n)
        return problem, (float(problem.grid.lower), float(problem.grid.upper))
    ell = cf.volatility**2 / (2.0 * abs(cf.drift))
    reach = 2.0 + 40.0 * ell  # continuation-side edge: 40 decay lengths beyond the compared part
    if cf.stopping_side == "above":
        problem = linear_resnet_depth_problem(width, target, cost, lower=cf.boundary - reach, n_nodes=n)
        return problem, (cf.boundary - 2.0, float(problem.grid.upper))
    problem = linear_resnet_depth_problem(width, target, cost, upper=cf.boundary + reach, n_nodes=n)
    return problem, (float(problem.grid.lower), cf.boundary + 2.0)


def obstacle_problems_with_closed_forms(
    kinds: Sequence[str] = _OBSTACLE_KINDS,
    *,
    n_nodes: int = 401,
    stationary: bool | None = None,
    max_width: int = 64,
) -> SearchStrategy[ObstacleCase]:
    r"""1-D obstacle problems whose solution is known in closed form (:class:`ObstacleCase`).

    * ``"perpetual_put"``: :math:`V(S)=(K-S^\star)(S/S^\star)^\lambda` above
      :math:`S^\star=K\lambda/(\lambda-1)` (McKean 1965;
      :func:`~stochdepth.freeboundary.perpetual_american_put`),
      in log-price on :math:`[\log S^\star-1,\log K+8\sigma]` with the exact value at the right edge;
      :math:`K\in[50,150]`, :math:`r\in[0.01,0.1]`, :math:`\sigma\in[0.1,0.5]`, :math:`q\in[0,0.05]`;
    * ``"noiseless_contraction"``: SCIENCE.md B5, :math:`\dot d=-\kappa d`, gain :math:`-d^2`, cost
      :math:`c`; stop iff :math:`d\le\sqrt{c/(2\kappa)}`
      (:func:`~stochdepth.depth.noiseless_contraction`), stationary or with a horizon
      :math:`T\in[0.1,2]`; :math:`\kappa\in[0.2,5]`, :math:`c\in[0.01,1]`, domain :math:`[0,u]` with
      :math:`u` between 3 and 20 boundaries;
    * ``"linear_resnet"``: SCIENCE.md B6, the log-norm of a linear random ResNet of width
      :math:`n\le` ``max_width``, gain :math:`-(y-a)^2`, cost :math:`c`; boundary :math:`a-c/(2m)`
      (:func:`~stochdepth.depth.linear_resnet_optimal_depth`); :math:`a\in[-1,1]`,
      :math:`c\in[0.01,0.5]`.

    Parameters
    ----------
    kinds : sequence of str, optional
        Which problems to draw (default all three).
    n_nodes : int, optional
        Grid size (``>= 3``); :meth:`ObstacleCase.refined` gives the same case on another grid.
    stationary : bool or None, optional
        ``True``: stationary problems only; ``False``: finite-horizon only (the noiseless contraction);
        ``None``: both.
    max_width : int, optional
        Largest width of the B6 problem (``>= 1``).

    Returns
    -------
    hypothesis strategy of ObstacleCase

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(obstacle_problems_with_closed_forms(["linear_resnet"]))
    ... def check(case):
    ...     x = case.problem.grid.nodes
    ...     assert (case.value(x) >= case.gain(x) - 1e-12).all()      # V >= g
    >>> check()
    """
    kinds_t = _check_subset("kinds", kinds, _OBSTACLE_KINDS)
    n = check_int("n_nodes", n_nodes, min=3)
    stationary = _check_optional_bool("stationary", stationary)
    max_width = check_int("max_width", max_width, min=1)
    if stationary is False:
        if "noiseless_contraction" not in kinds_t:
            raise ValueError(
                "stationary=False needs 'noiseless_contraction' in kinds (the finite-horizon case)"
            )
        kinds_t = ("noiseless_contraction",)

    @hst.composite
    def draw_case(draw: Any) -> ObstacleCase:
        from .depth import linear_resnet_optimal_depth, noiseless_contraction
        from .freeboundary import perpetual_american_put

        kind = draw(hst.sampled_from(kinds_t))
        params: dict[str, float]
        horizon: float | None = None
        if kind == "perpetual_put":
            params = {
                "strike": draw(hst.floats(50.0, 150.0)),
                "rate": draw(hst.floats(0.01, 0.1)),
                "volatility": draw(hst.floats(0.1, 0.5)),
                "dividend": draw(hst.floats(0.0, 0.05)),
            }
            cf = perpetual_american_put(
                params["strike"], params["rate"], params["volatility"], dividend=params["dividend"]
            )
            boundary, side = math.log(cf.boundary), "below"
        elif kind == "noiseless_contraction":
            params = {"kappa": draw(hst.floats(0.2, 5.0)), "cost": draw(hst.floats(0.01, 1.0))}
            cf = noiseless_contraction(params["kappa"], params["cost"])
            params["upper"] = cf.boundary * draw(hst.floats(3.0, 20.0))
            if stationary is False or (stationary is None and draw(hst.booleans())):
                horizon = draw(hst.floats(0.1, 2.0))
                params["horizon"] = horizon
            boundary, side = cf.boundary, "below"
        else:
            params = {
                "width": draw(hst.integers(1, max_width)),
                "target": draw(hst.floats(-1.0, 1.0)),
                "cost": draw(hst.floats(0.01, 0.5)),
            }
            cf = linear_resnet_optimal_depth(int(params["width"]), params["target"], params["cost"])
            boundary, side = cf.boundary, cf.stopping_side
        problem, interval = _obstacle_problem(kind, cf, horizon, params, n)
        return ObstacleCase(kind, problem, cf, boundary, side, horizon, n, interval, params)

    return draw_case()


# ====================================================================================================
# American options
# ====================================================================================================


@dataclass(frozen=True, eq=False, repr=False)
class AmericanPut(Result):
    r"""A put option under Black--Scholes--Merton with its European, Bermudan and American prices.

    :math:`dS=(r-q)S\,dt+\sigma S\,dW` under the pricing measure, payoff :math:`(K-S)^+`. The European
    price is the closed form

    .. math::
        P_E=Ke^{-rT}\Phi(-d_2)-Se^{-qT}\Phi(-d_1),\qquad
        d_{1,2}=\frac{\ln(S/K)+(r-q\pm\sigma^2/2)T}{\sigma\sqrt T};

    the Bermudan one (exercise at :math:`t_l=lT/L`, :math:`l=0..L`) and the American one are computed by
    the library (a grid Snell envelope and the obstacle-problem PDE). Exercise rights are nested, so
    :math:`(K-S)^+\le P_A` and :math:`P_E\le P_B\le P_A`.

    Attributes
    ----------
    spot, strike, rate, volatility, maturity, dividend : float
        :math:`S_0, K, r, \sigma, T, q`.
    n_dates : int
        Number :math:`L` of exercise dates after 0 of the Bermudan version.

    References
    ----------
    Black & Scholes (1973), Merton (1973) (European closed form); Wilmott, Dewynne & Howison (1993),
    ch. 9 (American put as an obstacle problem).
    """

    spot: float
    strike: float
    rate: float
    volatility: float
    maturity: float
    dividend: float
    n_dates: int

    def intrinsic(self) -> float:
        """Immediate exercise value :math:`(K-S_0)^+`."""
        return max(self.strike - self.spot, 0.0)

    def european(self) -> float:
        """Black--Scholes--Merton put price (closed form above)."""
        from scipy.special import ndtr

        S, K, r, q, T, s = self.spot, self.strike, self.rate, self.dividend, self.maturity, self.volatility
        sd = s * math.sqrt(T)
        d1 = (math.log(S / K) + (r - q + 0.5 * s * s) * T) / sd
        d2 = d1 - sd
        return float(K * math.exp(-r * T) * ndtr(-d2) - S * math.exp(-q * T) * ndtr(-d1))

    def american_problem(self, *, n_nodes: int = 401) -> Any:
        """The American put in log-price (:func:`~stochdepth.freeboundary.american_put_problem`)."""
        from .freeboundary import american_put_problem

        return american_put_problem(
            self.strike, self.rate, self.volatility, self.maturity, dividend=self.dividend, n_nodes=n_nodes
        )

    def american(self, *, n_nodes: int = 401, n_steps: int | None = None) -> float:
        """American price by Crank--Nicolson (Rannacher start) and Brennan--Schwartz on ``n_nodes`` nodes,
        ``n_steps`` time steps (default ``n_nodes // 4``), read at :math:`\\log S_0`."""
        from .freeboundary import BrennanSchwartz, CrankNicolson, solve_obstacle

        n = check_int("n_nodes", n_nodes, min=5)
        steps = max(n // 4, 4) if n_steps is None else check_int("n_steps", n_steps, min=1)
        sol = solve_obstacle(
            self.american_problem(n_nodes=n),
            scheme=CrankNicolson(n_steps=steps),
            lcp=BrennanSchwartz(side="lower"),
        )
        return float(sol.value_at(0.0, math.log(self.spot)))

    def bermudan(self, *, points_per_sd: int = 8) -> GridPrice:
        """Bermudan price with ``n_dates`` dates (:func:`~stochdepth.stopping.finance.bermudan_put_grid`)."""
        from .stopping.finance import bermudan_put_grid

        return bermudan_put_grid(
            self.spot,
            self.strike,
            rate=self.rate,
            volatility=self.volatility,
            maturity=self.maturity,
            n_dates=self.n_dates,
            dividend=self.dividend,
            points_per_sd=points_per_sd,
        )

    def process(self) -> Any:
        """The asset at the exercise dates (:class:`~stochdepth.stopping.finance.GeometricBrownianMotion`)."""
        from .stopping.finance import GeometricBrownianMotion

        return GeometricBrownianMotion(
            self.spot,
            rate=self.rate,
            volatility=self.volatility,
            maturity=self.maturity,
            n_dates=self.n_dates,
            dividend=self.dividend,
        )


def american_options(
    *,
    max_maturity: float = 2.0,
    max_dates: int = 12,
    max_rate: float = 0.1,
    max_dividend: float = 0.05,
    max_moneyness: float = 2.0,
) -> SearchStrategy[AmericanPut]:
    r"""Put options (:class:`AmericanPut`) with random Black--Scholes--Merton parameters.

    :math:`K=100`, :math:`\sigma\in[0.1,0.5]`, :math:`T\in[0.1,` ``max_maturity`` :math:`]`,
    :math:`r\in[0,` ``max_rate`` :math:`]` (:math:`r=0` included: then early exercise is worthless and
    :math:`P_A=P_E`), :math:`q\in[0,` ``max_dividend`` :math:`]`, spot
    :math:`S_0=Ke^{z\sigma\sqrt T}` with :math:`|z|\le` ``max_moneyness`` (in and out of the money by up to
    that many standard deviations, inside the default PDE domain), :math:`1\le L\le` ``max_dates``.

    Parameters
    ----------
    max_maturity : float, optional
        Largest :math:`T` (``>= 0.1``).
    max_dates : int, optional
        Largest number of Bermudan exercise dates (``>= 1``).
    max_rate, max_dividend : float, optional
        Largest :math:`r` and :math:`q` (``>= 0``).
    max_moneyness : float, optional
        Largest :math:`|\ln(S_0/K)|/(\sigma\sqrt T)`, in ``[0, 4]``.

    Returns
    -------
    hypothesis strategy of AmericanPut

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(american_options(max_dates=4))
    ... def check(opt):
    ...     assert opt.european() >= 0.0 and opt.bermudan(points_per_sd=4).value > 0.0
    >>> check()
    """
    max_T = check_real("max_maturity", max_maturity, lo=0.1)
    max_L = check_int("max_dates", max_dates, min=1)
    r_hi = check_real("max_rate", max_rate, lo=0.0)
    q_hi = check_real("max_dividend", max_dividend, lo=0.0)
    z_hi = check_real("max_moneyness", max_moneyness, lo=0.0, hi=4.0)

    @hst.composite
    def draw_option(draw: Any) -> AmericanPut:
        vol = draw(hst.floats(0.1, 0.5))
        T = draw(hst.floats(0.1, max_T))
        r = draw(hst.floats(0.0, r_hi)) if r_hi > 0 else 0.0
        q = draw(hst.floats(0.0, q_hi)) if q_hi > 0 else 0.0
        z = draw(hst.floats(-z_hi, z_hi)) if z_hi > 0 else 0.0
        L = draw(hst.integers(1, max_L))
        K = 100.0
        return AmericanPut(K * math.exp(z * vol * math.sqrt(T)), K, r, vol, T, q, L)

    return draw_option()
