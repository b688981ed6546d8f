r"""numba kernels of the random-network samplers (private).

Everything here is pure: kernels write into preallocated outputs and draw their normal (and gamma)
variates in-kernel from the chunk's :class:`numpy.random.Generator`, in a documented order, so that the
slow references of the test suite can replay the same random numbers.

Built-in activations are selected by an integer code (:data:`ACTIVATION_CODES`) so that the kernels can
be cached on disk; a user activation gets its own (uncached) specialisation of the same source through
:func:`custom_exact_kernels`.

Gram matrices are formed from post-activations rescaled by an exact power of two
(:func:`pow2_exponent`, :func:`scale_pow2`), so that forming :math:`G=\Phi^\top\Phi` neither overflows
nor underflows before the states themselves do; rescaling by :math:`2^{e}` is exact in binary floating
point, so results are the same as without it wherever the plain computation is representable. The Gram
entries are dot products with four interleaved partial sums (:func:`dot4`): a fixed order, the same on
every machine, and the same for every pair of columns (duplicated inputs stay bitwise identical).
"""

from __future__ import annotations

import math
import types
import weakref
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from ..activations import GELU, LINEAR, RELU, TANH, Activation

#: Integer codes of the built-in activations understood by the cached kernels.
ACTIVATION_CODES: dict[int, int] = {id(LINEAR): 0, id(RELU): 1, id(TANH): 2, id(GELU): 3}


def activation_code(act: Activation) -> int:
    """Kernel code of ``act`` (``-1`` for an activation without a cached kernel)."""
    return ACTIVATION_CODES.get(id(act), -1)


# ----------------------------------------------------------------------------------------------------
# Small building blocks
# ----------------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _phi_builtin(x: float, code: int) -> float:
    if code == 0:
        return x
    if code == 1:
        return x if x > 0.0 else 0.0
    if code == 2:
        return math.tanh(x)
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


@numba.njit(cache=True, nogil=True)
def _apply_phi(Y: np.ndarray, PhiT: np.ndarray, code: int) -> None:
    """``PhiT = phi(Y)^T`` coordinatewise (built-in activation ``code``; ``Y`` is n x k, ``PhiT`` k x n)."""
    for r in range(Y.shape[0]):
        for a in range(Y.shape[1]):
            PhiT[a, r] = _phi_builtin(Y[r, a], code)


#: Returned by :func:`pow2_exponent` for an array holding NaN or infinity.
NONFINITE = -1000000


@numba.njit(cache=True, nogil=True)
def pow2_exponent(Phi: np.ndarray) -> int:
    """Exponent ``e`` with ``max|Phi| / 2**e`` in [0.5, 1), clamped to [-1020, 1020] (so that ``2**e`` and
    ``2**-e`` are normal numbers); 0 for a zero array, :data:`NONFINITE` if ``Phi`` holds NaN or inf."""
    mx = 0.0
    for v in Phi.ravel():
        av = abs(v)
        if not av <= 1.7976931348623157e308:  # NaN or inf
            return NONFINITE
        if av > mx:
            mx = av
    if mx == 0.0:
        return 0
    return min(1020, max(-1020, math.frexp(mx)[1]))


@numba.njit(cache=True, nogil=True)
def scale_pow2(Phi: np.ndarray, e: int) -> None:
    """``Phi *= 2**-e`` in place (exact in binary floating point, barring subnormal results)."""
    f = math.ldexp(1.0, -e)
    for r in range(Phi.shape[0]):
        for a in range(Phi.shape[1]):
            Phi[r, a] *= f


@numba.njit(cache=True, nogil=True)
def dot4(u: np.ndarray, v: np.ndarray) -> float:
    """``sum(u * v)`` with four interleaved partial sums (a fixed, machine-independent order)."""
    n = u.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        s0 += u[i] * v[i]
        s1 += u[i + 1] * v[i + 1]
        s2 += u[i + 2] * v[i + 2]
        s3 += u[i + 3] * v[i + 3]
    for i in range(m, n):
        s0 += u[i] * v[i]
    return (s0 + s1) + (s2 + s3)


@numba.njit(cache=True, nogil=True)
def gram_into(PhiT: np.ndarray, G: np.ndarray) -> None:
    r"""``G = PhiT PhiT^T`` (``PhiT`` is k x n); every entry by :func:`dot4`, so duplicate rows of ``PhiT``
    give bitwise-equal entries."""
    k = PhiT.shape[0]
    for a in range(k):
        for b in range(a, k):
            G[a, b] = dot4(PhiT[a], PhiT[b])
            G[b, a] = G[a, b]


@numba.njit(cache=True, nogil=True)
def psd_factor_inplace(G: np.ndarray, rtol: float, C: np.ndarray, S: np.ndarray, active: np.ndarray) -> int:
    r"""Pivoted outer-product Cholesky of a symmetric positive semidefinite ``G`` (k x k).

    Writes ``C`` with :math:`CC^\top\approx G` whose columns ``rank..k-1`` are zero, and returns the
    rank (``-1`` if ``G`` holds NaN or infinity). Column ``j`` of ``C`` belongs to the ``j``-th pivot,
    the index of largest remaining Schur-complement diagonal. Index ``i`` is *retired* (its remaining
    entries set to zero) as soon as its Schur diagonal drops to ``rtol * G[i, i]`` or below, i.e. once
    :math:`\sin^2` of its angle to the span of the pivots is at most ``rtol``. Inputs that are exact
    duplicates therefore get bitwise-identical rows of ``C`` (the multiplier ``S[i,p]/S[p,p]`` is exactly
    one), and zero rows/columns get zero rows.
    """
    k = G.shape[0]
    for i in range(k):
        for j in range(k):
            g = G[i, j]
            if not abs(g) <= 1.7976931348623157e308:
                return -1
            S[i, j] = g
            C[i, j] = 0.0
    for i in range(k):
        active[i] = G[i, i] > 0.0
    rank = 0
    while rank < k:
        p = -1
        best = 0.0
        for i in range(k):
            if active[i] and S[i, i] > best:
                best = S[i, i]
                p = i
        if p < 0:
            break
        active[p] = False
        spp = S[p, p]
        d = math.sqrt(spp)
        C[p, rank] = d
        for i in range(k):
            if active[i]:
                C[i, rank] = (S[i, p] / spp) * d
        for i in range(k):
            if active[i]:
                ci = C[i, rank]
                for j in range(i, k):
                    if active[j]:
                        S[i, j] -= ci * C[j, rank]
                        S[j, i] = S[i, j]
        for i in range(k):
            if active[i] and S[i, i] <= rtol * G[i, i]:
                active[i] = False
        rank += 1
    return rank


def default_rtol(k: int) -> float:
    """Default retirement tolerance of :func:`psd_factor_inplace`: ``16 k`` machine epsilons."""
    return 16.0 * max(k, 1) * float(np.finfo(np.float64).eps)


@numba.njit(cache=True, nogil=True)
def _store(out: np.ndarray, net: int, ir: int, Y: np.ndarray) -> None:
    """``out[net, ir] = Y`` (explicit loops: cheaper to compile into the kernels than slicing)."""
    for r in range(Y.shape[0]):
        for a in range(Y.shape[1]):
            out[net, ir, r, a] = Y[r, a]


@numba.njit(cache=True, nogil=True)
def _fill(Y: np.ndarray, value: float) -> None:
    for r in range(Y.shape[0]):
        for a in range(Y.shape[1]):
            Y[r, a] = value


# ----------------------------------------------------------------------------------------------------
# Input layer (shared by the exact sampler and sample_input_layer)
# ----------------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def add_gaussian_rows(gen: Any, C: np.ndarray, rank: int, step: float, z: np.ndarray, Y: np.ndarray) -> None:
    r"""``Y += step * Z C^T`` with ``Z`` an ``n x rank`` standard normal matrix drawn row by row
    (``rank`` normals per row, in order) into the work vector ``z``: the Gaussian increment of every
    layer of the exact sampler, and (from ``Y = 0``, ``step = 1``) its input layer."""
    n, k = Y.shape
    for r in range(n):
        for j in range(rank):
            z[j] = gen.standard_normal()
        for a in range(k):
            s = 0.0
            for j in range(rank):
                s += C[a, j] * z[j]
            Y[r, a] += step * s


@numba.njit(cache=True, nogil=True)
def input_layer_into(gen: Any, C0: np.ndarray, rank0: int, Y: np.ndarray) -> None:
    r"""One draw of :math:`Y_0=Z_0C_0^\top` into ``Y`` (n x k): for each row, ``rank0`` normals in order."""
    _fill(Y, 0.0)
    add_gaussian_rows(gen, C0, rank0, 1.0, np.empty(max(rank0, 1)), Y)


@numba.njit(cache=True, nogil=True)
def input_layer_kernel(gen: Any, C0: np.ndarray, rank0: int, out: np.ndarray) -> None:
    """``m`` independent input layers into ``out`` (m x n x k)."""
    for i in range(out.shape[0]):
        input_layer_into(gen, C0, rank0, out[i])


# ----------------------------------------------------------------------------------------------------
# The exact-in-law sampler (docs/science.md §A2). Source shared by the cached built-in kernels and by the
# specialisations for user activations (which replace the global ``_apply_phi``).
# ----------------------------------------------------------------------------------------------------


def _exact_kernel_py(
    gen: Any,
    C0: np.ndarray,
    rank0: int,
    scale: float,
    rec: np.ndarray,
    code: int,
    rtol: float,
    out: np.ndarray,
) -> None:
    # out: (m, n_record, n, k). Draw order per network: input layer (n rows x rank0 normals), then for
    # every layer l = 1..rec[-1], n rows x rank_l normals, rank_l the rank of the Gram factor.
    m, _, n, k = out.shape
    Y = np.empty((n, k))
    Phi = np.empty((k, n))  # transposed post-activations: contiguous columns for the Gram products
    G = np.empty((k, k))
    C = np.empty((k, k))
    S = np.empty((k, k))
    active = np.empty(k, np.bool_)
    z = np.empty(k)
    last = rec[-1]
    for net in range(m):
        input_layer_into(gen, C0, rank0, Y)
        ir = 0
        if rec[0] == 0:
            _store(out, net, 0, Y)
            ir = 1
        for l in range(1, last + 1):
            _apply_phi(Y, Phi, code)
            e = pow2_exponent(Phi)
            rank = -1
            if e != NONFINITE:
                scale_pow2(Phi, e)
                gram_into(Phi, G)
                rank = psd_factor_inplace(G, rtol, C, S, active)
            if rank < 0:
                # non-finite post-activations: poison the state so that the driver raises
                _fill(Y, np.nan)
                rank = 0
                e = 0
            # C C^T = G 4^-e: the increment is sqrt(t1 / (n L)) 2^e Z C^T (2^e exact)
            add_gaussian_rows(gen, C, rank, scale * math.ldexp(1.0, e), z, Y)
            if l == rec[ir]:
                _store(out, net, ir, Y)
                ir += 1


def _exact_kernel_1_py(
    gen: Any,
    c0: float,
    scale: float,
    rec: np.ndarray,
    code: int,
    out: np.ndarray,
) -> None:
    # k = 1: C = ||phi(Y)||. out: (m, n_record, n, 1). Draw order: n normals for the input layer (none
    # if c0 == 0), then n normals per layer while phi(Y) != 0.
    m, _, n, _ = out.shape
    y = np.empty((n, 1))
    phi = np.empty((1, n))
    last = rec[-1]
    for net in range(m):
        for r in range(n):
            y[r, 0] = c0 * gen.standard_normal() if c0 > 0.0 else 0.0
        ir = 0
        if rec[0] == 0:
            _store(out, net, 0, y)
            ir = 1
        for l in range(1, last + 1):
            _apply_phi(y, phi, code)
            e = pow2_exponent(phi)
            if e == NONFINITE:
                _fill(y, np.nan)
            else:
                scale_pow2(phi, e)
                ss = dot4(phi[0], phi[0])
                if ss > 0.0:
                    step = scale * math.ldexp(1.0, e)
                    c = math.sqrt(ss)
                    for r in range(n):
                        y[r, 0] += step * (c * gen.standard_normal())
            if l == rec[ir]:
                _store(out, net, ir, y)
                ir += 1


exact_kernel = numba.njit(cache=True, nogil=True)(_exact_kernel_py)
exact_kernel_1 = numba.njit(cache=True, nogil=True)(_exact_kernel_1_py)

_CUSTOM: weakref.WeakKeyDictionary[Activation, tuple[Callable[..., None], Callable[..., None]]] = (
    weakref.WeakKeyDictionary()
)


def _respecialise(fn: Callable[..., Any], apply_phi: Any) -> Any:
    glb = dict(fn.__globals__)
    glb["_apply_phi"] = apply_phi
    clone = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    return numba.njit(nogil=True)(clone)


def custom_exact_kernels(act: Activation) -> tuple[Callable[..., None], Callable[..., None]]:
    """(general, k = 1) exact kernels specialised for a user activation (compiled once per object)."""
    found = _CUSTOM.get(act)
    if found is not None:
        return found
    phi = act.numba_fn

    @numba.njit(nogil=True)
    def apply_custom(Y: np.ndarray, PhiT: np.ndarray, code: int) -> None:
        for r in range(Y.shape[0]):
            for a in range(Y.shape[1]):
                PhiT[a, r] = phi(Y[r, a])

    kernels = (_respecialise(_exact_kernel_py, apply_custom), _respecialise(_exact_kernel_1_py, apply_custom))
    _CUSTOM[act] = kernels
    return kernels


# ----------------------------------------------------------------------------------------------------
# The exact finite-L log-norm walk of the linear network (docs/science.md §A4)
# ----------------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def log_xi(a: float, b: float) -> float:
    r""":math:`\log((1+a)^2+b)` accurately for small ``a``, ``b`` (log1p) and for ``a`` near -1."""
    if a < -0.5:
        u = 1.0 + a
        return math.log(u * u + b)
    return math.log1p(a * (2.0 + a) + b)


@numba.njit(cache=True, nogil=True)
def log_norm_walk_kernel(gen: Any, c: float, half_dof: float, rec: np.ndarray, out: np.ndarray) -> None:
    r"""Paths of :math:`\tfrac12\sum_{j\le l}\log\xi_j` at the recorded layers into ``out`` (m x n_record).

    :math:`\xi=(1+cg)^2+c^2\chi^2_{n-1}` with :math:`c=\sqrt{h/n}`; :math:`\chi^2_{n-1}=2\Gamma((n-1)/2)`.
    Draw order per layer: one normal, then (if ``half_dof > 0``) one standard gamma.
    """
    m = out.shape[0]
    last = rec[-1]
    c2 = c * c
    for p in range(m):
        acc = 0.0
        ir = 0
        if rec[0] == 0:
            out[p, 0] = 0.0
            ir = 1
        for l in range(1, last + 1):
            a = c * gen.standard_normal()
            b = 0.0
            if half_dof > 0.0:
                b = c2 * 2.0 * gen.standard_gamma(half_dof)
            acc += 0.5 * log_xi(a, b)
            if l == rec[ir]:
                out[p, ir] = acc
                ir += 1
