"""Risk-controlled exits (Learn then Test, docs/science.md §B7.4): valid p-values, the guarantee held."""

from __future__ import annotations

import numpy as np
import pytest
from exit_chain import MARGINS, chain_trace
from scipy import stats as st

from stochdepth.depth import ExitProblem, RiskControlledExit, first_exit, risk_p_values
from stochdepth.testing import ALPHA


@pytest.mark.parametrize("method", ["binomial", "hoeffding-bentkus"])
@pytest.mark.parametrize(("n", "eps"), [(50, 0.1), (400, 0.02), (1000, 0.05)])
def test_p_values_are_valid_at_the_boundary_of_the_null(method: str, n: int, eps: float) -> None:
    """Exact: with risk = epsilon, P(p <= a) = sum of the Bin(n, eps) pmf over {k : p(k) <= a} <= a."""
    k = np.arange(n + 1)
    p = risk_p_values(k, n, eps, method)
    pmf = st.binom.pmf(k, n, eps)
    for a in (0.01, 0.05, 0.1, 0.3):
        assert pmf[p <= a].sum() <= a + 1e-12
    assert np.all(np.diff(p) >= -1e-15)  # more losses, less evidence


def test_hoeffding_bentkus_is_more_conservative_than_binomial() -> None:
    """Chernoff: exp(-n h(k/n, eps)) bounds the binomial tail P(Bin(n, eps) <= k) from above."""
    k = np.arange(0, 60)
    assert np.all(risk_p_values(k, 500, 0.05, "hoeffding-bentkus") >= risk_p_values(k, 500, 0.05) - 1e-15)


def test_guarantee_holds_over_resampled_calibration_sets(seed: int) -> None:
    """Population: a fixed trace of 200 000 samples; calibration sets of N = 1000 drawn from it with
    replacement (exchangeable with any test draw), so the true risk of a threshold is its population
    mean loss, computed exactly. epsilon is set 10% below the risk of the threshold that exits only in
    the confident state, a true null the procedure must almost never reject. Over R = 300 draws the
    number of violations V must be compatible with a rate <= delta = 0.1 (Bin(R, 0.1) tail p >= ALPHA).
    The same draws with a naive rule (deploy the last threshold whose empirical risk is <= epsilon)
    must violate far more often: the check can fail."""
    rng = np.random.default_rng(seed)
    trace, _ = chain_trace(rng, 200_000, 8)
    pop = ExitProblem.from_trace(trace, features=("confidence",))
    proto = RiskControlledExit(0.02, 0.1).fit(pop.subset(np.arange(10)))
    lam = proto._thresholds(pop)
    tau = first_exit(pop.confidence[None] >= lam[:, None, None])
    right = pop.correct[np.arange(pop.n_samples)[None], tau]
    risk = np.mean(pop.correct[None, :, -1] & ~right, axis=1)  # exact population risk per threshold
    conf3 = np.exp(MARGINS[3]) / (np.exp(MARGINS[3]) + 1)
    state3_risk = risk[np.nonzero(lam <= conf3)[0][0]]
    eps = 0.9 * state3_risk
    R, N, delta = 300, 1000, 0.1
    bad = naive_bad = 0
    for _ in range(R):
        cal = pop.subset(rng.integers(0, pop.n_samples, N))
        pol = RiskControlledExit(eps, delta).fit(cal)
        j = int(np.nonzero(lam == pol.threshold_)[0][0])
        bad += risk[j] > eps
        ok = np.cumprod(pol.losses_ / N <= eps).astype(bool)
        naive_bad += risk[max(int(ok.sum()) - 1, 0)] > eps
    assert st.binom.sf(bad - 1, R, delta) >= ALPHA
    assert st.binom.sf(naive_bad - 1, R, delta) < ALPHA


def test_the_deployed_threshold_exits_early_when_risk_allows(seed: int) -> None:
    """With epsilon above the confident state's risk, the threshold exits before full depth."""
    trace, _ = chain_trace(seed, 20_000, 8)
    cal, test = ExitProblem.from_trace(trace, features=("confidence",)).split(0.5, rng=seed)
    pol = RiskControlledExit(0.1, 0.05).fit(cal)
    ev = pol.evaluate(test)
    assert ev.mean_depth < 8 and np.isfinite(pol.threshold_)
    # too few samples to reject anything at all: never exit early
    tiny = RiskControlledExit(0.01, 0.05).fit(cal.subset(np.arange(50)))
    assert tiny.threshold_ == np.inf and np.all(tiny.exits(test) == 7)


def test_entropy_score_and_bad_input(seed: int) -> None:
    trace, _ = chain_trace(seed, 2000, 8)
    prob = ExitProblem.from_trace(trace, features=("confidence",))
    pol = RiskControlledExit(0.1, 0.1, score="entropy").fit(prob)
    assert np.all(pol.exits(prob) == first_exit(prob.entropy <= pol.threshold_))
    for kwargs, match in (
        ({"epsilon": 0.0}, "epsilon"),
        ({"delta": 1.5}, "delta"),
        ({"score": "margin"}, "score"),
        ({"p_value": "hoeffding"}, "p_value"),
    ):
        with pytest.raises(ValueError, match=match):
            RiskControlledExit(**kwargs)
