r"""numba kernels of the SDE integrators.

Each :class:`~stochdepth.sde.SDE` gets its own kernels: the user's coefficient functions are closed over
(numba inlines them), so the kernels are compiled once per SDE and solver (about a second) and cannot be
cached on disk. They are kept on the SDE object.

Kernels run one chunk of paths, path after path, drawing the standard normals *inside numba* from the
chunk's :class:`numpy.random.Generator` (numba reproduces numpy's stream exactly), in the order
path, step, noise component. They write the states at the recorded steps into a preallocated output,
release the GIL, and return the number of paths whose final state is not finite (a non-finite
coordinate stays non-finite under the additive updates, so this detects every blow-up).

The slow references (:mod:`stochdepth.testing.references.sde`) run the same arithmetic in python with
the same random numbers; the tests compare them with the kernels.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from .problem import SDE, _no_drift

__all__ = ["make_levels_kernel", "make_path_kernel", "make_step"]


# ----------------------------------------------------------------------------------------------------
# One step of a scheme: step(t, h, x, dw, b, s, ds) updates x in place.
# ----------------------------------------------------------------------------------------------------


def make_step(sde: SDE, *, milstein: bool) -> Any:
    """The numba step function ``step(t, h, x, dw, b, s, ds)`` of one scheme for ``sde``.

    ``dw`` holds the Brownian increments over the step (variance ``h``); ``b``, ``s``, ``ds`` are
    work buffers for the drift, the diffusion and the Milstein derivative.
    """
    has_drift = sde.drift is not None
    drift = sde.drift if has_drift else _no_drift
    diffusion = sde.diffusion
    deriv = sde.diffusion_derivative if milstein else None
    noise = sde.noise
    jit = numba.njit(nogil=True)

    if noise == "diagonal" and not milstein:

        def step(t, h, x, dw, b, s, ds):  # pragma: no cover - numba
            if has_drift:
                drift(t, x, b)
            diffusion(t, x, s)
            for i in range(x.shape[0]):
                inc = s[i] * dw[i]
                if has_drift:
                    inc += b[i] * h
                x[i] += inc

    elif noise == "scalar" and not milstein:

        def step(t, h, x, dw, b, s, ds):  # pragma: no cover - numba
            if has_drift:
                drift(t, x, b)
            diffusion(t, x, s)
            w = dw[0]
            for i in range(x.shape[0]):
                inc = s[i] * w
                if has_drift:
                    inc += b[i] * h
                x[i] += inc

    elif noise == "isotropic" and not milstein:

        def step(t, h, x, dw, b, s, ds):  # pragma: no cover - numba
            if has_drift:
                drift(t, x, b)
            diffusion(t, x, s)
            sc = s[0]
            for i in range(x.shape[0]):
                inc = sc * dw[i]
                if has_drift:
                    inc += b[i] * h
                x[i] += inc

    elif noise == "general" and not milstein:

        def step(t, h, x, dw, b, s, ds):  # pragma: no cover - numba
            if has_drift:
                drift(t, x, b)
            diffusion(t, x, s)
            q = dw.shape[0]
            for i in range(x.shape[0]):
                inc = 0.0
                for j in range(q):
                    inc += s[i, j] * dw[j]
                if has_drift:
                    inc += b[i] * h
                x[i] += inc

    elif noise == "diagonal" and milstein:

        def step(t, h, x, dw, b, s, ds):  # pragma: no cover - numba
            if has_drift:
                drift(t, x, b)
            diffusion(t, x, s)
            deriv(t, x, ds)
            for i in range(x.shape[0]):
                w = dw[i]
                inc = s[i] * w + 0.5 * s[i] * ds[i] * (w * w - h)
                if has_drift:
                    inc += b[i] * h
                x[i] += inc

    elif noise == "scalar" and milstein:

        def step(t, h, x, dw, b, s, ds):  # pragma: no cover - numba
            if has_drift:
                drift(t, x, b)
            diffusion(t, x, s)
            deriv(t, x, ds)
            w = dw[0]
            c = 0.5 * (w * w - h)
            for i in range(x.shape[0]):
                inc = s[i] * w + ds[i] * c
                if has_drift:
                    inc += b[i] * h
                x[i] += inc

    elif noise == "isotropic" and milstein:  # dim == 1 (checked by Milstein.check)

        def step(t, h, x, dw, b, s, ds):  # pragma: no cover - numba
            if has_drift:
                drift(t, x, b)
            diffusion(t, x, s)
            deriv(t, x, ds)
            w = dw[0]
            inc = s[0] * w + 0.5 * s[0] * ds[0] * (w * w - h)
            if has_drift:
                inc += b[0] * h
            x[0] += inc

    else:  # pragma: no cover - guarded by SDE and Solver.check
        raise ValueError(f"no scheme for noise={noise!r}")
    return jit(step)


# ----------------------------------------------------------------------------------------------------
# Drivers
# ----------------------------------------------------------------------------------------------------


def make_path_kernel(step: Any) -> Any:
    """Kernel ``kernel(x0, t0, dt, n_steps, rec, gen, out, dw, b, s, ds) -> n_bad``.

    ``x0`` is ``(m, dim)`` or ``(1, dim)`` (shared), ``rec`` sorted step indices, ``out`` of shape
    ``(m, len(rec), dim)``.
    """

    @numba.njit(nogil=True)
    def kernel(x0, t0, dt, n_steps, rec, gen, out, dw, b, s, ds):  # pragma: no cover - numba
        m = out.shape[0]
        n_rec = rec.shape[0]
        dim = out.shape[2]
        q = dw.shape[0]
        stride = 0 if x0.shape[0] == 1 else 1
        sq = math.sqrt(dt)
        x = np.empty(dim)
        n_bad = 0
        for p in range(m):
            for i in range(dim):
                x[i] = x0[p * stride, i]
            r = 0
            while r < n_rec and rec[r] == 0:
                for i in range(dim):
                    out[p, r, i] = x[i]
                r += 1
            for k in range(n_steps):
                for j in range(q):
                    dw[j] = sq * gen.standard_normal()
                step(t0 + k * dt, dt, x, dw, b, s, ds)
                while r < n_rec and rec[r] == k + 1:
                    for i in range(dim):
                        out[p, r, i] = x[i]
                    r += 1
            for i in range(dim):
                if not np.isfinite(x[i]):
                    n_bad += 1
                    break
        return n_bad

    return kernel


def make_levels_kernel(step: Any) -> Any:
    """Coupled kernel ``kernel(x0, t0, dt, n_fine, ratios, rec, gen, out, X, DW, dw, b, s, ds) -> n_bad``.

    All levels of one path are driven by the same fine Brownian increments: level ``l`` takes a step of
    ``ratios[l]`` fine steps with the sum of their increments. ``rec`` holds fine-grid indices that are
    multiples of every ratio; ``out`` has shape ``(m, len(rec), n_levels, dim)``.
    """

    @numba.njit(nogil=True)
    def kernel(x0, t0, dt, n_fine, ratios, rec, gen, out, X, DW, dw, b, s, ds):  # pragma: no cover
        m = out.shape[0]
        n_rec = rec.shape[0]
        n_lev = ratios.shape[0]
        dim = out.shape[3]
        q = dw.shape[0]
        stride = 0 if x0.shape[0] == 1 else 1
        sq = math.sqrt(dt)
        n_bad = 0
        count = np.zeros(n_lev, np.int64)
        for p in range(m):
            for lev in range(n_lev):
                for i in range(dim):
                    X[lev, i] = x0[p * stride, i]
                for j in range(q):
                    DW[lev, j] = 0.0
            r = 0
            while r < n_rec and rec[r] == 0:
                for lev in range(n_lev):
                    for i in range(dim):
                        out[p, r, lev, i] = X[lev, i]
                r += 1
            for lev in range(n_lev):
                count[lev] = 0
            for k in range(n_fine):
                for j in range(q):
                    dw[j] = sq * gen.standard_normal()
                for lev in range(n_lev):
                    rl = ratios[lev]
                    for j in range(q):
                        DW[lev, j] += dw[j]
                    count[lev] += 1
                    if count[lev] == rl:
                        step(t0 + (k + 1 - rl) * dt, rl * dt, X[lev], DW[lev], b, s, ds)
                        count[lev] = 0
                        for j in range(q):
                            DW[lev, j] = 0.0
                while r < n_rec and rec[r] == k + 1:
                    for lev in range(n_lev):
                        for i in range(dim):
                            out[p, r, lev, i] = X[lev, i]
                    r += 1
            bad = False
            for lev in range(n_lev):
                for i in range(dim):
                    if not np.isfinite(X[lev, i]):
                        bad = True
            if bad:
                n_bad += 1
        return n_bad

    return kernel
