"""stochdepth.testing.strategies as a package: optional hypothesis, argument validation at build time,
docstrings."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import stochdepth.testing.strategies as S


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_stochdepth_never_imports_hypothesis() -> None:
    """``import stochdepth`` leaves the testing package unloaded; ``import stochdepth.testing`` (and its
    generators) leaves hypothesis, QuantLib and the strategies unloaded."""
    res = _run(
        "import sys, stochdepth\n"
        "assert 'stochdepth.testing' not in sys.modules\n"
        "import stochdepth.testing, stochdepth.testing.generators\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis imported'\n"
        "assert 'QuantLib' not in sys.modules, 'QuantLib imported'\n"
        "assert 'stochdepth.testing.strategies' not in sys.modules\n"
        "print('ok')"
    )
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_missing_hypothesis_says_how_to_install() -> None:
    """Without hypothesis, importing the module (directly or as an attribute) raises ImportError with the
    install command."""
    code = (
        "import sys\n"
        "sys.modules['hypothesis'] = None  # makes 'import hypothesis' fail\n"
        "import stochdepth\n"
        "import stochdepth.testing\n"
        "for get in (\n"
        "    lambda: __import__('stochdepth.testing.strategies'),\n"
        "    lambda: stochdepth.testing.strategies,\n"
        "):\n"
        "    try:\n"
        "        get()\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
        "        sys.modules.pop('stochdepth.testing.strategies', None)\n"
        "    else:\n"
        "        raise SystemExit('no ImportError')\n"
    )
    res = _run(code)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 2 and all("pip install hypothesis" in line for line in lines), res.stdout


def test_public_names_are_documented() -> None:
    """Every public name exists and carries a docstring with a references or examples section."""
    for name in S.__all__:
        obj = getattr(S, name)
        assert obj.__doc__ and len(obj.__doc__) > 200, name


@pytest.mark.parametrize(
    ("build", "exc", "match"),
    [
        (lambda: S.widths(0), ValueError, "min_width"),
        (lambda: S.widths(4, 2), ValueError, "max_width"),
        (lambda: S.depths(max_depth=0), ValueError, "max_depth"),
        (lambda: S.depths(1.5), TypeError, "min_depth"),
        (lambda: S.activations(names=["swish"]), ValueError, "names"),
        (lambda: S.activations(names=[]), ValueError, "names"),
        (lambda: S.activations(leaky_slopes=[1.5]), ValueError, "leaky_slopes"),
        (lambda: S.activations(leaky_slopes=0.1), TypeError, "leaky_slopes"),
        (lambda: S.activations(homogeneous="yes"), TypeError, "homogeneous"),
        (
            lambda: S.activations(names=["tanh"], leaky_slopes=(), closed_form=True),
            ValueError,
            "no activation",
        ),
        (lambda: S.network_inputs(d=0), ValueError, "d must"),
        (lambda: S.network_inputs(min_norm=0.0), ValueError, "min_norm"),
        (lambda: S.network_inputs(min_norm=2.0, max_norm=1.0), ValueError, "max_norm"),
        (lambda: S.network_inputs(collinear=1), TypeError, "collinear"),
        (lambda: S.network_configs(max_width=0), ValueError, "max_width"),
        (lambda: S.network_configs(activation="relu"), TypeError, "activation"),
        (lambda: S.network_configs(t1=-1.0), ValueError, "t1"),
        (lambda: S.diffusions_with_known_laws(["bessel"]), ValueError, "kinds"),
        (lambda: S.diffusions_with_known_laws(max_dim=0), ValueError, "max_dim"),
        (lambda: S.diffusions_with_known_laws(max_horizon=0.01), ValueError, "max_horizon"),
        (lambda: S.stochastic_matrices(0), ValueError, "n must"),
        (lambda: S.stochastic_matrices(2, max_weight=0), ValueError, "max_weight"),
        (lambda: S.markov_stopping_problems(0), ValueError, "max_states"),
        (lambda: S.markov_stopping_problems(1, monotone=True), ValueError, "max_states"),
        (lambda: S.markov_stopping_problems(max_horizon=0), ValueError, "max_horizon"),
        (lambda: S.markov_stopping_problems(discount=1.5), ValueError, "discount"),
        (lambda: S.markov_stopping_problems(monotone=True, discount=0.9), ValueError, "discount"),
        (lambda: S.markov_stopping_problems(infinite="no"), TypeError, "infinite"),
        (lambda: S.residual_families(kind="linear"), ValueError, "kind"),
        (lambda: S.residual_families(satisfying=None), TypeError, "satisfying"),
        (lambda: S.residual_families(False, max_horizon=1), ValueError, "max_horizon"),
        (lambda: S.residual_families(max_paths=0), ValueError, "max_paths"),
        (lambda: S.obstacle_problems_with_closed_forms(["heat"]), ValueError, "kinds"),
        (lambda: S.obstacle_problems_with_closed_forms(n_nodes=2), ValueError, "n_nodes"),
        (
            lambda: S.obstacle_problems_with_closed_forms(["perpetual_put"], stationary=False),
            ValueError,
            "stationary=False",
        ),
        (lambda: S.american_options(max_maturity=0.0), ValueError, "max_maturity"),
        (lambda: S.american_options(max_dates=0), ValueError, "max_dates"),
        (lambda: S.american_options(max_rate=-0.1), ValueError, "max_rate"),
        (lambda: S.american_options(max_moneyness=5.0), ValueError, "max_moneyness"),
    ],
)
def test_bad_arguments_raise_when_the_strategy_is_built(build, exc, match) -> None:
    """Validation happens when the strategy is built, naming the parameter (not later, at draw time)."""
    with pytest.raises(exc, match=match):
        build()


def test_residual_family_without_growth_accepts_horizon_one() -> None:
    """max_horizon=1 is fine where no 'growth' violation can be drawn (it needs two layers)."""
    S.residual_families(False, kind="summable", max_horizon=1)
    S.residual_families(True, kind="geometric", max_horizon=1)


def test_docstring_examples() -> None:
    """Every example in the package's docstrings runs (they run @given properties under this profile)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    names = [f"{S.__name__}.{m.name}" for m in pkgutil.iter_modules(S.__path__)]
    modules = [S, *map(importlib.import_module, names)]
    tests = [t for mod in modules for t in finder.find(mod, mod.__name__, extraglobs={"np": np})]
    assert sum(len(t.examples) for t in tests) >= 30
    for test in tests:
        runner.run(test)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{res.failed} docstring example(s) failed"
