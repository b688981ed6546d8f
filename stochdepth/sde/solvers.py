r"""Time-stepping schemes for :class:`~stochdepth.sde.SDE` (solver objects passed to ``simulate``).

One step of size :math:`h` with Brownian increment :math:`\Delta W\sim\mathcal N(0, hI)`:

* :class:`EulerMaruyama` -- :math:`X_{k+1}=X_k+b(t_k,X_k)h+\sigma(t_k,X_k)\Delta W_k`; strong order 1/2,
  weak order 1 for smooth coefficients (Kloeden & Platen 1992, Thms 10.2.2 and 14.5.1). By docs/science.md §A2
  a random ResNet of depth :math:`L` *is* this scheme for its limit SDE with :math:`h=1/L`.
* :class:`Milstein` -- adds :math:`\tfrac12\sum_j L^j\sigma^{\cdot j}\,(\Delta W_j^2-h)` for commutative
  noise, where the iterated Itô integrals reduce to squares of increments; strong order 1 (Kloeden &
  Platen 1992, Sec. 10.3, eq. (10.3.7) and Thm 10.3.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .problem import SDE

__all__ = ["EulerMaruyama", "Milstein", "Solver"]


@dataclass(frozen=True)
class Solver:
    """Base class of the time-stepping schemes (use :class:`EulerMaruyama` or :class:`Milstein`)."""

    name: ClassVar[str] = "solver"
    strong_order: ClassVar[float] = 0.0
    weak_order: ClassVar[float] = 0.0

    def check(self, sde: SDE) -> None:
        """Raise ``ValueError`` if the scheme does not apply to ``sde``."""
        if not isinstance(sde, SDE):
            raise TypeError(f"sde must be an SDE, got {type(sde).__name__}")

    def _step(self, sde: SDE) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class EulerMaruyama(Solver):
    r"""The Euler--Maruyama scheme.

    .. math::
        X_{k+1} = X_k + b(t_k, X_k)\,h + \sigma(t_k, X_k)\,\Delta W_k,\qquad
        \Delta W_k = W_{t_{k+1}} - W_{t_k}.

    Applies to every noise structure. Strong order 1/2 and weak order 1 under the usual smoothness and
    growth conditions (Kloeden & Platen 1992, Thm 10.2.2 and Thm 14.5.1).

    Examples
    --------
    >>> from stochdepth.sde import EulerMaruyama
    >>> EulerMaruyama().strong_order, EulerMaruyama().weak_order
    (0.5, 1.0)
    """

    name: ClassVar[str] = "EulerMaruyama"
    strong_order: ClassVar[float] = 0.5
    weak_order: ClassVar[float] = 1.0

    def _step(self, sde: SDE) -> Any:
        from ._kernels import make_step

        return make_step(sde, milstein=False)


@dataclass(frozen=True)
class Milstein(Solver):
    r"""The Milstein scheme for commutative noise.

    .. math::
        X^i_{k+1} = X^i_k + b^i h + \sum_j \sigma^{ij}\Delta W^j
        + \tfrac12\sum_{j}\big(L^j\sigma^{ij}\big)\big((\Delta W^j)^2 - h\big),
        \qquad L^j = \sum_l \sigma^{lj}\partial_l,

    which for the noise structures it supports reads

    * diagonal noise with :math:`s^i=s^i(t,x^i)`: :math:`+\tfrac12 s^i\,\partial_i s^i\,((\Delta W^i)^2-h)`;
    * scalar noise: :math:`+\tfrac12 ((s\cdot\nabla)s)^i\,((\Delta W)^2-h)`;
    * isotropic noise in dimension 1: :math:`+\tfrac12 s\,s'\,((\Delta W)^2-h)`.

    The SDE must provide ``diffusion_derivative`` (see :class:`~stochdepth.sde.SDE`). Strong order 1
    (Kloeden & Platen 1992, Sec. 10.3, eq. (10.3.7) and Thm 10.3.5). General noise and isotropic noise
    in dimension > 1 are not commutative: the Lévy areas would be needed, and :meth:`check` raises.

    Examples
    --------
    >>> from stochdepth.sde import Milstein, affine_sde
    >>> Milstein().check(affine_sde([[0.05]], diffusion_scale=[0.2]))  # GBM: commutative, fine
    """

    name: ClassVar[str] = "Milstein"
    strong_order: ClassVar[float] = 1.0
    weak_order: ClassVar[float] = 1.0

    def check(self, sde: SDE) -> None:
        super().check(sde)
        if sde.noise == "general":
            raise ValueError(
                "Milstein does not apply to noise='general' (not commutative in general; the scheme would "
                "need Lévy areas): use EulerMaruyama, or declare scalar/diagonal noise if it is one"
            )
        if sde.noise == "isotropic" and sde.dim > 1:
            raise ValueError(
                f"Milstein does not apply to noise='isotropic' with dim={sde.dim} > 1: the noise is not "
                "commutative (s depends on all coordinates, each driven by its own Brownian motion); "
                "use EulerMaruyama"
            )
        if sde.diffusion_derivative is None:
            what = {
                "diagonal": "ds_i/dx_i (declaring that s_i depends on x_i only)",
                "scalar": "the vector (s . grad) s",
                "isotropic": "ds/dx",
            }[sde.noise]
            raise ValueError(f"Milstein needs the SDE's diffusion_derivative for noise={sde.noise!r}: {what}")

    def _step(self, sde: SDE) -> Any:
        from ._kernels import make_step

        return make_step(sde, milstein=True)
