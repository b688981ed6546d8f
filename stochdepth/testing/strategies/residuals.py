"""Strategies for residual families (:class:`stochdepth.depth.ResidualFamily`) that satisfy (or
observably violate) the hypotheses of the depth bounds of docs/science.md §B2."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as hst

from ..._checks import check_bool, check_choice, check_int
from ...random import as_generator
from ._common import SEEDS

if TYPE_CHECKING:  # pragma: no cover
    from hypothesis.strategies import SearchStrategy

    from ...depth import ResidualFamily

__all__ = ["residual_families"]


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
    docs/science.md §B2 (derived bounds); :mod:`stochdepth.stopping.bounds`.

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
    check_bool("satisfying", satisfying)
    kinds = _RESIDUAL_KINDS if kind is None else (check_choice("kind", kind, _RESIDUAL_KINDS),)
    max_dim = check_int("max_dim", max_dim, min=1)
    max_paths = check_int("max_paths", max_paths, min=1)
    growth_possible = not satisfying and "geometric" in kinds
    max_L = check_int("max_horizon", max_horizon, min=2 if growth_possible else 1)

    @hst.composite
    def draw_family(draw: Any) -> ResidualFamily:
        from ...depth import ResidualFamily, residual_path_problem
        from ...stopping import PathStoppingProblem

        fam_kind = draw(hst.sampled_from(kinds))
        violation = "" if satisfying else draw(hst.sampled_from(_VIOLATIONS[fam_kind]))
        d = draw(hst.integers(1, max_dim))
        L = draw(hst.integers(2 if violation == "growth" else 1, max_L))
        m = draw(hst.integers(1, max_paths))
        gen = as_generator(draw(SEEDS))
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
                prob.features, prob.gains, prob.costs, discount=beta, deterministic=True, gains_observed=True
            )
        return ResidualFamily(prob, fam_kind, lip, C, rho, declared, cost, not violation, violation, params)

    return draw_family()
