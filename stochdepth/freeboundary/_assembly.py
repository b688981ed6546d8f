r"""Evaluation of coefficients on the grid and finite-difference assembly of the generator.

On a non-uniform grid with :math:`h_-=x_i-x_{i-1}`, :math:`h_+=x_{i+1}-x_i`, the diffusion term
:math:`D\,V''` (:math:`D=\sigma^2/2`) uses the three-point formula

.. math::
    V''_i\approx\frac{2}{h_-+h_+}\Big(\frac{V_{i+1}-V_i}{h_+}-\frac{V_i-V_{i-1}}{h_-}\Big),

and the convection term :math:`b\,V'` the second-order centred formula

.. math::
    V'_i\approx\frac{-h_+}{h_-(h_-+h_+)}V_{i-1}+\frac{h_+-h_-}{h_-h_+}V_i+\frac{h_-}{h_+(h_-+h_+)}V_{i+1}

where both off-diagonal coefficients stay non-negative (then the LCP matrix is an M-matrix), and the
one-sided upwind difference (forward for :math:`b>0`, backward for :math:`b<0`) elsewhere (Kushner &
Dupuis, *Numerical Methods for Stochastic Control Problems in Continuous Time*, Springer 2001, ch. 5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .problems import BoundaryCondition, Dirichlet, Natural, Neumann

__all__ = ["axis_operator", "evaluate", "is_constant"]


def is_constant(coef: Any) -> bool:
    """Whether a coefficient is a number (not a callable)."""
    return not callable(coef)


def evaluate(
    name: str,
    coef: Any,
    args: tuple[Any, ...],
    shape: tuple[int, ...],
    names: tuple[str, ...] = ("t", "x"),
) -> np.ndarray:
    """Evaluate ``coef`` (number or callable) at ``args`` and broadcast to ``shape``, checking finiteness.

    ``names`` labels ``args`` in error messages.

    Raises
    ------
    ValueError
        If the result does not broadcast to ``shape`` or holds NaN/inf (the message gives the first bad
        point's coordinates).
    """
    if callable(coef):
        try:
            raw = coef(*args)
        except Exception as exc:
            try:
                call = f"{name.split('[')[0]}({', '.join(names)})"
                wrapped = type(exc)(f"{name}: evaluating {call} on the grid failed: {exc}")
            except Exception:  # pragma: no cover - exception types with other signatures
                raise exc from None
            raise wrapped from exc
        arr = np.asarray(raw, dtype=float)
    else:
        arr = np.asarray(float(coef))
    try:
        out = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"{name} must broadcast to the grid shape {shape}, got an array of shape {arr.shape}"
        ) from None
    if not np.all(np.isfinite(out)):
        idx = np.unravel_index(int(np.argmin(np.isfinite(out))), shape)
        where = ", ".join(
            f"{n}={float(np.broadcast_to(np.asarray(a, dtype=float), shape)[idx]):.6g}"
            for n, a in zip(names, args)
        )
        raise ValueError(f"{name} must be finite, got {float(out[idx])!r} at {where}")
    return out


def edge_values(
    name: str,
    spec: Any,
    default: Callable[[], np.ndarray],
    args: tuple[Any, ...],
    shape: tuple[int, ...],
    names: tuple[str, ...] = ("t", "x"),
) -> np.ndarray:
    """Values of a boundary specification (``None`` means ``default()``)."""
    if spec is None:
        return np.broadcast_to(default(), shape)
    return evaluate(name, spec, args, shape, names)


def axis_operator(
    x: np.ndarray,
    b: np.ndarray,
    d: np.ndarray,
    lower: BoundaryCondition,
    upper: BoundaryCondition,
    upwind: bool | None,
    lower_slope: np.ndarray | None = None,
    upper_slope: np.ndarray | None = None,
    axis_name: str = "x",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Bands of :math:`b\,\partial + D\,\partial^2` along axis 0 of ``b`` and ``d`` (shape ``(N, ...)``).

    Returns ``lo, di, up, src`` of the same shape: ``lo`` multiplies the node before, ``up`` the node
    after, ``src`` is the affine part coming from Neumann edges. Rows of Dirichlet edges are zero (the
    caller replaces them). Raises ``ValueError`` for a :class:`Natural` edge where the diffusion is not
    zero or the drift points out of the domain.
    """
    n = x.size
    shape = b.shape
    ext = (slice(None),) + (None,) * (len(shape) - 1)
    lo = np.zeros(shape)
    di = np.zeros(shape)
    up = np.zeros(shape)
    src = np.zeros(shape)
    hm = (x[1:-1] - x[:-2])[ext]
    hp = (x[2:] - x[1:-1])[ext]
    bi, dint = b[1:-1], d[1:-1]
    s = hm + hp
    # diffusion
    d_lo = dint * 2.0 / (hm * s)
    d_up = dint * 2.0 / (hp * s)
    # centred convection
    c_lo = bi * (-hp / (hm * s))
    c_di = bi * ((hp - hm) / (hm * hp))
    c_up = bi * (hm / (hp * s))
    # upwind convection
    bp, bm = np.maximum(bi, 0.0), np.minimum(bi, 0.0)
    u_lo = -bm / hm
    u_up = bp / hp
    u_di = -bp / hp + bm / hm
    # centred where the result is monotone (upwind=None), or as forced by the caller
    monotone = (d_lo + c_lo >= 0.0) & (d_up + c_up >= 0.0)
    central = monotone if upwind is None else np.full(bi.shape, not upwind)
    lo[1:-1] = d_lo + np.where(central, c_lo, u_lo)
    up[1:-1] = d_up + np.where(central, c_up, u_up)
    di[1:-1] = -(d_lo + d_up) + np.where(central, c_di, u_di)
    # edges
    for side, bc, slope in ((0, lower, lower_slope), (n - 1, upper, upper_slope)):
        inner = 1 if side == 0 else n - 2
        h = abs(x[inner] - x[side])
        bs, ds = b[side], d[side]
        label = f"{'lower' if side == 0 else 'upper'} {axis_name} edge ({axis_name}={x[side]:.6g})"
        if isinstance(bc, Dirichlet):
            continue
        if isinstance(bc, Neumann):
            assert slope is not None
            # ghost node mirrored across the edge: V_ghost = V_inner -/+ 2 h p
            sign = -1.0 if side == 0 else 1.0
            coupling = 2.0 * ds / h**2
            di[side] = -coupling
            if side == 0:
                up[side] = coupling
            else:
                lo[side] = coupling
            src[side] = bs * slope + sign * 2.0 * ds * slope / h
        elif isinstance(bc, Natural):
            if np.any(ds != 0.0):
                raise ValueError(
                    f"Natural() needs zero volatility at the {label}, got sigma^2/2 up to "
                    f"{float(np.max(np.abs(ds))):.6g}"
                )
            outward = bs < 0.0 if side == 0 else bs > 0.0
            if np.any(outward):
                raise ValueError(
                    f"Natural() needs a drift pointing into the domain at the {label}, got drift "
                    f"{float(bs.flat[int(np.argmax(outward))]):.6g}"
                )
            coef = np.abs(bs) / h
            di[side] = -coef
            if side == 0:
                up[side] = coef
            else:
                lo[side] = coef
        else:  # pragma: no cover - guarded by the problem classes
            raise TypeError(f"unknown boundary condition {bc!r}")
    return lo, di, up, src
