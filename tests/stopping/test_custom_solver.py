"""A stopping solver written by a user plugs into solve_stopping through the public StoppingSolver contract.

The user's solver here is brute force: it enumerates every Markov stopping rule of a tiny finite-horizon
chain (each layer-state pair stops or continues), evaluates each rule exactly by forward propagation, and
keeps the best. On a finite Markov chain an optimal stopping time exists among these rules (the Snell
rule is one), so its value must equal the backward-induction value.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from stochdepth import ConvergenceError, Status
from stochdepth.stopping import (
    BackwardInduction,
    MarkovStoppingProblem,
    PathStoppingProblem,
    StoppingProblem,
    StoppingSolution,
    StoppingSolver,
    solve_stopping,
)


@dataclass(frozen=True, repr=False)
class BruteForceSolution(StoppingSolution):
    value: float
    stop: np.ndarray
    n_rules: int
    status: Status = Status.OPTIMAL
    message: str = ""


def rule_value(problem: MarkovStoppingProblem, stop: np.ndarray) -> float:
    """Exact E Z_tau of "stop at layer l in the states stop[l]" (forced stop at the horizon)."""
    L = problem.horizon
    assert L is not None
    states = np.arange(problem.n_states)
    mass = problem.initial_law()
    total = 0.0
    for layer in range(L + 1):
        here = stop[layer] if layer < L else np.ones(problem.n_states, dtype=bool)
        z = problem.payoffs(np.full(problem.n_states, layer), states)
        total += float(mass[here] @ z[here])
        if layer < L:
            P = problem.chain.csr(layer).toarray()
            mass = np.where(here, 0.0, mass) @ P
    return total


class BruteForce(StoppingSolver):
    """Every Markov stopping rule of a finite-horizon chain, evaluated exactly: 2^(L S) rules."""

    problems = (MarkovStoppingProblem,)

    def __init__(self, max_rules: int = 1 << 16) -> None:
        self.max_rules = max_rules

    def applies_to(self, problem: StoppingProblem) -> bool:
        return super().applies_to(problem) and problem.horizon is not None

    def solve(self, problem: StoppingProblem, rng: object = None) -> BruteForceSolution:
        assert isinstance(problem, MarkovStoppingProblem) and problem.horizon is not None
        L, S = problem.horizon, problem.n_states
        best, best_stop, n = -np.inf, None, 0
        for bits in itertools.product((False, True), repeat=L * S):
            n += 1
            if n > self.max_rules:
                return BruteForceSolution(best, best_stop, n - 1, Status.MAX_ITERATIONS, "too many rules")
            stop = np.array(bits, dtype=bool).reshape(L, S)
            v = rule_value(problem, stop)
            if v > best:
                best, best_stop = v, stop
        return BruteForceSolution(best, best_stop, n)


def _tiny_chain(seed: int, n_states: int = 3, horizon: int = 3) -> MarkovStoppingProblem:
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(n_states), size=n_states)
    gains = rng.normal(size=(horizon + 1, n_states))
    costs = rng.uniform(0.0, 0.2, size=horizon)
    return MarkovStoppingProblem(P, gains, costs, horizon=horizon, initial=rng.dirichlet(np.ones(n_states)))


@pytest.mark.parametrize("offset", range(5))
def test_user_solver_matches_backward_induction(seed: int, offset: int) -> None:
    prob = _tiny_chain(seed + offset)
    mine = solve_stopping(prob, BruteForce())
    assert isinstance(mine, BruteForceSolution) and mine.success and mine.n_rules == 2**9
    exact = solve_stopping(prob, BackwardInduction())
    assert mine.value == pytest.approx(exact.value(), rel=1e-12, abs=1e-12)
    # the Snell rule is one of the optimal rules the enumeration sees
    assert rule_value(prob, exact.stop[:-1]) == pytest.approx(mine.value, rel=1e-12, abs=1e-12)


def test_user_solver_dispatch_and_status(seed: int) -> None:
    prob = _tiny_chain(seed)
    # applies_to decides: an infinite horizon and recorded paths are refused before solving
    with pytest.raises(TypeError, match="BruteForce does not apply to a MarkovStoppingProblem"):
        solve_stopping(MarkovStoppingProblem(np.eye(2), [0.0, 1.0], 0.1, initial=0), BruteForce())
    paths = PathStoppingProblem(np.zeros((4, 3)), np.ones((4, 3)))
    with pytest.raises(TypeError, match="does not apply to a PathStoppingProblem"):
        solve_stopping(paths, BruteForce())
    # an unsuccessful status raises by default, and is returned with throw=False
    with pytest.raises(ConvergenceError, match=r"BruteForce.*MAX_ITERATIONS.*too many rules") as err:
        solve_stopping(prob, BruteForce(max_rules=10))
    assert err.value.status is Status.MAX_ITERATIONS and err.value.result.n_rules == 10
    capped = solve_stopping(prob, BruteForce(max_rules=10), throw=False)
    assert capped.status is Status.MAX_ITERATIONS and not capped.success
    # not a StoppingSolver at all
    with pytest.raises(TypeError, match="solver must be a StoppingSolver"):
        solve_stopping(prob, object())  # type: ignore[arg-type]


def test_architecture_page_example_runs() -> None:
    """The user-solver example of docs/architecture.md ("Plugging in a solver of one's own") runs."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = page.split("## Plugging in a solver of one's own", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    # compiled on its own (dont_inherit: not under this module's ``from __future__ import annotations``)
    code = compile(blocks[0], "docs/architecture.md[user solver]", "exec", dont_inherit=True)
    exec(code, {"__name__": "architecture_example"})
