r"""Theorem book, docs/science.md §A2: the network is an Euler scheme, in law.

A layer of a random ResNet has the law of one Euler step driven by a factor of the Gram matrix of the
post-activations; the mean squared norm obeys an exact layer identity. Checked against an independent
numpy implementation of the formula, two samplers of the library, and Gaussian moments in sympy.
Conventions: :mod:`theory.common`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import sympy as sp

from stochdepth.networks import (
    ExplicitWeights,
    post_squared_norms,
    sample_network,
    squared_norms,
)

from .book import Claim, Verdict, claim
from .common import (
    ALPHA,
    Z_MAX,
    Criteria,
    gaussian_expectation,
    mean_se,
    params,
    stream,
)

__all__ = ["CLAIMS"]

_A2_INPUTS = np.array([[1.0, 0.75], [0.0, 0.75 * math.sqrt(3.0)], [0.0, 0.0]])  # |x2| = 1.5, cos = 1/2


def _a2_formula_sampler(
    X: np.ndarray, width: int, depth: int, m: int, rng: Any, *, factor: str, gram_of: str
) -> np.ndarray:
    r"""The formula of docs/science.md §A2, implemented here independently of the library (numpy, vectorised):

    :math:`Y_0=W_{\rm in}X`, :math:`Y_l=Y_{l-1}+\frac1{\sqrt{nL}}Z_lC_{l-1}^\top` with
    :math:`C C^\top=G=\phi(Y)^\top\phi(Y)` (symmetric square root from ``eigh``, valid for singular
    :math:`G`). ``factor="diagonal"`` and ``gram_of="preactivations"`` are the wrong variants (independent
    noise per input; the Gram matrix of the pre-activations)."""
    gen = np.random.Generator(np.random.SFC64(rng))
    d, k = X.shape
    Y = gen.standard_normal((m, width, d)) @ X / math.sqrt(d)
    for _ in range(depth):
        P = np.maximum(Y, 0.0) if gram_of == "post-activations" else Y
        G = np.einsum("mia,mib->mab", P, P)
        if factor == "gram":
            w, V = np.linalg.eigh(G)
            C = V * np.sqrt(np.clip(w, 0.0, None))[:, None, :]
        else:
            C = np.zeros_like(G)
            idx = np.arange(k)
            C[:, idx, idx] = np.sqrt(G[:, idx, idx])
        Z = gen.standard_normal((m, width, k))
        Y = Y + np.einsum("mia,mba->mib", Z, C) / math.sqrt(width * depth)
    return Y


def _a2_observables(Y: np.ndarray) -> dict[str, np.ndarray]:
    n1 = np.linalg.norm(Y[..., 0], axis=-1)
    n2 = np.linalg.norm(Y[..., 1], axis=-1)
    return {
        "log_norm_1": np.log(n1),
        "log_norm_2": np.log(n2),
        "cosine": np.einsum("mi,mi->m", Y[..., 0], Y[..., 1]) / (n1 * n2),
        "neuron": Y[:, 0, 0],
    }


@functools.cache
def _a2_library_samples(seed: int, sampler: str, width: int, depth: int, m: int) -> dict[str, np.ndarray]:
    res = sample_network(
        _A2_INPUTS,
        width,
        depth,
        "relu",
        n_paths=m,
        sampler=ExplicitWeights() if sampler == "explicit" else None,
        record=[depth],
        rng=stream(seed, "A2", sampler, width, depth),
    )
    return _a2_observables(res["preactivations"].samples[:, 0])


@claim(
    "A2.euler-in-law",
    tags="derived",
    title="A random ResNet is, in law, the Euler scheme driven by Gram factors",
    statement=r"Y_l\overset d=Y_{l-1}+\frac{1}{\sqrt{nL}}\,Z_lC_{l-1}^\top,\quad C_{l-1}C_{l-1}^\top="
    r"G_{l-1}=\phi(Y_{l-1})^\top\phi(Y_{l-1}),\quad Z_l\sim\mathcal N(0,I_n\otimes I_k)\ \text{i.i.d.}",
    hypotheses=(
        "W_l v ~ N(0, |v|^2 I/n) given the past, W_l independent of the past",
        "k = 2 inputs through the same weights (|x1| = 1, |x2| = 1.5, cosine 1/2), ReLU, n = 6, L = 12",
        "C any factor of G (the law of Z C^T depends on C C^T only); G may be singular",
    ),
    method="monte carlo: two-sample KS (explicit weights vs exact-law sampler vs the formula), Holm",
    wrong={
        "independent noise per input": {"factor": "diagonal"},
        "Gram of pre-activations": {"gram_of": "preactivations"},
    },
)
def _check_a2_euler(
    level: str, seed: int, *, factor: str = "gram", gram_of: str = "post-activations"
) -> Verdict:
    from stochdepth.stats import KolmogorovSmirnov, holm, two_sample_test

    p = params(level, quick={"m": 20_000, "width": 6, "depth": 12}, full={"m": 200_000})
    ref = _a2_library_samples(seed, "explicit", p["width"], p["depth"], p["m"])
    exact = _a2_library_samples(seed, "exact", p["width"], p["depth"], p["m"])
    Y = _a2_formula_sampler(
        _A2_INPUTS,
        p["width"],
        p["depth"],
        p["m"],
        stream(seed, "A2", "formula", factor, gram_of),
        factor=factor,
        gram_of=gram_of,
    )
    formula = _a2_observables(Y)
    crit = Criteria()
    crit.note(networks=p["m"], width=p["width"], depth=p["depth"], factor=factor, gram_of=gram_of)
    ks = KolmogorovSmirnov(exact=False)
    names, pvals = [], []
    for other, sample in (("exact_law", exact), ("formula", formula)):
        for key in ref:
            names.append(f"{other}:{key}")
            pvals.append(two_sample_test(ref[key], sample[key], method=ks).pvalue)
    h = holm(pvals, alpha=ALPHA)
    for group in ("exact_law", "formula"):
        idx = [i for i, nm in enumerate(names) if nm.startswith(group)]
        crit.add(
            f"{group}_vs_explicit",
            not np.any(h.rejected[idx]),
            min_holm_p=float(np.min(h.adjusted[idx])),
            pvalues=[float(pvals[i]) for i in idx],
        )
    return crit.verdict(
        "monte carlo: two-sample KS (explicit weights vs exact-law sampler vs the formula), Holm"
    )


def _a2_symbolic_identity(factor: float, pre: bool, n: int = 2) -> tuple[bool, str]:
    r""":math:`\mathbb E_W\|y+sWv\|^2` for :math:`W` with i.i.d. :math:`\mathcal N(0,1/n)` entries, by the
    Gaussian moments of the entries, against the claimed :math:`\|y\|^2+c\,s^2\|v\|^2` (``pre``: with
    :math:`\|y\|^2` in place of :math:`\|v\|^2`)."""
    W = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
    y = sp.Matrix(sp.symbols(f"y_0:{n}", real=True))
    v = sp.Matrix(sp.symbols(f"v_0:{n}", real=True))
    s = sp.Symbol("s", positive=True)
    z = y + s * W * v
    expr = sp.expand((z.T * z)[0])
    for w in W:  # E w = 0, E w^2 = 1/n, independent entries
        expr = gaussian_expectation(expr, w, sp.Rational(1, n))
    derived = sp.simplify(expr)
    yy, vv = (y.T * y)[0], (v.T * v)[0]
    claimed = yy + sp.nsimplify(factor) * s**2 * (yy if pre else vv)
    return sp.simplify(derived - claimed) == 0, str(derived)


@functools.cache
def _a2_layer_norms(
    seed: int, activation: str, sampler: str, width: int, depth: int, m: int
) -> tuple[np.ndarray, ...]:
    res = sample_network(
        np.ones(2),
        width,
        depth,
        activation,
        n_paths=m,
        sampler=ExplicitWeights() if sampler == "explicit" else None,
        record=np.arange(depth + 1),
        observe=[squared_norms(), post_squared_norms(activation)],
        rng=stream(seed, "A2-identity", activation, sampler, width, depth),
    )
    return res["squared_norms"].samples[:, :, 0], res["post_squared_norms"].samples[:, :, 0]


@claim(
    "A2.mean-square-identity",
    tags="derived",
    title="Exact layer identity of the mean squared norm",
    statement=r"\mathbb E\|Y_l\|^2=\mathbb E\|Y_{l-1}\|^2+\frac1L\,\mathbb E\|\phi(Y_{l-1})\|^2,"
    r"\quad l=1,\dots,L",
    hypotheses=(
        "any activation, any width and depth (exact, not asymptotic)",
        "checked for ReLU and tanh, n = 4, L = 8, with both samplers",
    ),
    method="symbolic (Gaussian moments of W) + monte carlo per layer (exact-law and explicit weights)",
    wrong={"factor 1/2": {"factor": 0.5}, "pre-activation norm": {"increment": "preactivations"}},
)
def _check_a2_identity(
    level: str, seed: int, *, factor: float = 1.0, increment: str = "post-activations"
) -> Verdict:
    p = params(level, quick={"m": 20_000, "width": 4, "depth": 8}, full={"m": 400_000})
    pre = increment == "preactivations"
    crit = Criteria()
    ok, derived = _a2_symbolic_identity(factor, pre)
    crit.add("symbolic", ok, derived="E|y + sWv|^2 = " + derived)
    L = p["depth"]
    for act in ("relu", "tanh"):
        for sampler in ("exact", "explicit"):
            sq, post = _a2_layer_norms(seed, act, sampler, p["width"], L, p["m"])
            inc = sq if pre else post
            D = np.diff(sq, axis=1) - factor / L * inc[:, :-1]  # per layer, mean zero under the claim
            m_, se_ = D.mean(axis=0), D.std(axis=0, ddof=1) / math.sqrt(D.shape[0])
            z = m_ / se_
            tot, tot_se = mean_se(D.sum(axis=1))
            zmax = float(max(np.max(np.abs(z)), abs(tot / tot_se)))
            crit.add(f"{act}_{sampler}", zmax <= Z_MAX, max_abs_z=zmax, total=tot, total_se=tot_se)
    crit.note(networks=p["m"], width=p["width"], depth=L)
    return crit.verdict(
        "symbolic (Gaussian moments of W) + monte carlo per layer (exact-law, explicit weights)"
    )


#: The claims of this section, in the order of the science.
CLAIMS: tuple[Claim, ...] = (_check_a2_euler, _check_a2_identity)
