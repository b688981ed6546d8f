"""Each plotting function of stochdepth.plot renders a small result of the library, saved as PDF and PNG.

Besides rendering, each test reads back what was drawn and compares it with the numbers of the result
(the plotted data are the result's, not a picture of something else).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from scipy import stats

from stochdepth import plot
from stochdepth.depth import linear_resnet_optimal_depth, log_norm_bridge
from stochdepth.freeboundary import american_put_problem, solve_obstacle
from stochdepth.limits import relu_regime, simulate_limit, weak_error_study
from stochdepth.networks import log_norms, sample_network
from stochdepth.sde import log_norm
from stochdepth.stopping import DepthLaw


def _saved(fig: Figure, tmp_path, name: str) -> None:
    """Save ``fig`` and check that the PDF is a PDF and the PNG decodes to a non-blank image."""
    pdf, png = plot.save(fig, tmp_path / name)
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 1000
    image = imread(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert np.ptp(image[..., :3]) > 0.5  # not a blank canvas


def _letters(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text().startswith("(")]


def test_network_law_of_networks_against_the_limit(seed, tmp_path):
    x = np.ones(3)
    nets = sample_network(x, 4, 8, "relu", 1.0, n_paths=300, observe=log_norms(), rng=seed)
    limit = simulate_limit(x, 4, "relu", 1.0, n_steps=32, n_paths=200, observe=log_norm(), rng=seed + 1)
    fig = plot.network_law(nets, limit, quantity=r"$\log\|Y\|$")
    assert _letters(fig) == ["(a)", "(b)"]
    qq = fig.axes[1]
    ref_q, diff = qq.lines[0].get_data()
    p = (np.arange(1, 201) - 0.5) / 200
    x_q = np.quantile(nets["log_norms"].samples[:, -1], p)
    y_q = np.quantile(limit["log_norm"].samples[:, -1], p)
    np.testing.assert_allclose(ref_q, y_q)
    np.testing.assert_allclose(diff, x_q - y_q)
    _saved(fig, tmp_path, "law")


def test_network_law_band_against_a_distribution_is_the_quantile_standard_error(seed):
    """For a N(0, 1) reference the band is 1.96 sqrt(p(1-p)/N) / phi(q_p) (sample-quantile asymptotics);
    the plot reads 1/f off the quantile curve by finite differences, so they agree to a few percent."""
    x = np.random.default_rng(seed).normal(size=400)
    fig = plot.network_law(x, stats.norm())
    band = fig.axes[1].collections[0].get_paths()[0].vertices
    m = 200
    p = (np.arange(1, m + 1) - 0.5) / m
    q = stats.norm.ppf(p)
    exact = plot.Z95 * np.sqrt(p * (1 - p) / 400) / stats.norm.pdf(q)
    upper = np.interp(q[10:-10], band[m + 1 : 2 * m + 1, 0][::-1], band[m + 1 : 2 * m + 1, 1][::-1])
    np.testing.assert_allclose(upper, exact[10:-10], rtol=0.05)


def test_weak_error_draws_the_fit_of_the_study(seed, tmp_path):
    study = weak_error_study(np.ones(3), 3, "linear", steps=(4, 8, 16), n_paths=2000, rng=seed)
    fig = plot.weak_error(study)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    fits = [line for line in ax.lines if line.get_label().startswith("fit")]
    assert len(fits) == sum(np.isfinite(f.rate) for f in study.fits.values())
    for line, fit in zip(fits, [f for f in study.fits.values() if np.isfinite(f.rate)]):
        L, y = line.get_data()
        np.testing.assert_allclose(y, fit.predict(L))
    _saved(fig, tmp_path, "weak")


def test_width_regime_dashes_the_narrow_widths(seed, tmp_path):
    reg = relu_regime([3, 4], n_paths=500, n_times=5, rng=seed)
    fig = plot.width_regime(reg)
    curves = [line for line in fig.axes[0].lines if line.get_label().startswith("$n=")]
    assert [c.get_linestyle() for c in curves] == ["--", "-"]
    np.testing.assert_allclose(curves[1].get_ydata(), reg.mean[1])
    _saved(fig, tmp_path, "regime")


def test_free_boundary_of_an_american_put(tmp_path):
    sol = solve_obstacle(american_put_problem(1.0, 0.05, 0.3, 0.5))
    fig = plot.free_boundary(sol, reference=(sol.times, np.asarray(sol.free_boundary.location)))
    fb = sol.free_boundary
    assert fig.axes[0].lines[2].get_xdata()[0] == pytest.approx(float(np.asarray(fb.location)[0]))
    _, loc = fig.axes[1].lines[0].get_data()
    np.testing.assert_allclose(loc, np.asarray(fb.location)[np.asarray(fb.defined)])
    _saved(fig, tmp_path, "boundary")


def test_depth_law_of_the_bridge_against_its_limit(tmp_path):
    closed = linear_resnet_optimal_depth(8, 1.0, 0.2)
    bridge = log_norm_bridge(8, 16, 1.0, 0.2, law=True)
    fig = plot.depth_law(bridge.depth_law, reference=closed.depth_law(0.0), step=1 / 16)
    _, cdf = fig.axes[1].lines[0].get_data()
    np.testing.assert_allclose(cdf, np.cumsum(bridge.depth_law.pmf))
    _saved(fig, tmp_path, "depth")


def test_depth_law_band_of_an_empirical_law():
    """An empirical law of N samples gets the DKW band of half-width sqrt(log(40) / (2N))."""
    law = DepthLaw.from_pmf(np.array([0.2, 0.5, 0.3]))
    empirical = SimpleNamespace(pmf=law.pmf, exact=False, mean=SimpleNamespace(n=100))
    fig = plot.depth_law(empirical)
    band = fig.axes[1].collections[0].get_paths()[0].vertices
    assert np.max(band[:, 1]) - np.min(band[:, 1]) > 0
    assert np.isclose(band[:, 1], 0.2 + np.sqrt(np.log(40) / 200)).any()


def _policy(label: str, n_exits: int = 4) -> SimpleNamespace:
    """A stand-in for stochdepth.depth.PolicyCurve: three thresholds of a policy over 4 exits."""
    hist = np.array([[6, 3, 1, 0], [2, 4, 3, 1], [0, 1, 3, 6]])[:, :n_exits]
    depth = (hist * np.arange(1, n_exits + 1)).sum(1) / hist.sum(1)
    acc = np.array([0.7, 0.8, 0.9])
    return SimpleNamespace(
        label=label,
        mean_depth=depth,
        mean_flops=1e3 * depth,
        accuracy=acc,
        accuracy_low=acc - 0.04,
        accuracy_high=acc + 0.03,
        exit_histograms=hist,
    )


@pytest.mark.parametrize("x", ["depth", "flops"])
def test_accuracy_curve_of_policies(x, tmp_path):
    curves = [_policy("confidence"), _policy("patience")]
    fig = plot.accuracy_curve(curves, x=x, full=(4.0 if x == "depth" else 4e3, 0.92))
    ax = fig.axes[0]
    line = ax.lines[0]
    cost = curves[0].mean_depth if x == "depth" else curves[0].mean_flops
    order = np.argsort(cost)
    np.testing.assert_allclose(line.get_xdata(), cost[order])
    np.testing.assert_allclose(line.get_ydata(), curves[0].accuracy[order])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(0.66) and band.max() == pytest.approx(0.93)
    _saved(fig, tmp_path, f"accuracy_{x}")


def test_exit_histograms_are_fractions(tmp_path):
    fig = plot.exit_histograms([_policy("confidence"), _policy("patience")], points=[0, 2])
    assert _letters(fig) == ["(a)", "(b)"]
    first = fig.axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(first, np.array([6, 3, 1, 0]) / 10)
    _saved(fig, tmp_path, "exits")


def test_palette_is_okabe_ito_and_outcomes_differ():
    assert plot.palette(3) == ["#0072B2", "#D55E00", "#009E73"]
    assert len(set(plot.palette(8))) == 8 and plot.palette(9)[8] == plot.palette(1)[0]
    fail, counter = plot.outcome("fail"), plot.outcome("counterexample")
    assert fail["color"] != counter["color"] and fail["marker"] != counter["marker"]


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------


def test_save_refuses_an_unwritable_folder_before_rendering(tmp_path):
    fig, _ = plot.figure()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="path: cannot create"):
        plot.save(fig, blocker / "sub" / "fig")
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        plot.save("not a figure", tmp_path / "fig")
    with pytest.raises(ValueError, match="formats"):
        plot.save(fig, tmp_path / "fig", formats=("jpeg",))
    assert list(tmp_path.iterdir()) == [blocker]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: plot.network_law([1.0], stats.norm()), ValueError, "at least 2 finite samples"),
        (lambda: plot.network_law(object(), stats.norm()), TypeError, "sample must be"),
        (lambda: plot.network_law([1.0, 2.0, 3.0], stats.norm(), bins=2), ValueError, "bins"),
        (lambda: plot.weak_error(3.0), TypeError, "study must be"),
        (lambda: plot.width_regime(object()), TypeError, "regime must be a ReluRegime"),
        (lambda: plot.free_boundary(object()), TypeError, "solution must be"),
        (lambda: plot.depth_law([0.5, 0.5]), TypeError, "law must be a DepthLaw"),
        (lambda: plot.depth_law(DepthLaw.from_pmf([1.0]), step=0), ValueError, "step"),
        (lambda: plot.depth_law(DepthLaw.from_moments(3.0, 10.0)), ValueError, "only its moments"),
        (lambda: plot.accuracy_curve(_policy("a"), x="time"), ValueError, "x must be"),
        (lambda: plot.accuracy_curve([object()]), TypeError, r"curves\[0\] is not a PolicyCurve"),
        (lambda: plot.exit_histograms(_policy("a"), points=[5]), ValueError, "points must index"),
        (lambda: plot.figure(0), ValueError, "ncols must be >= 1"),
        (lambda: plot.palette(-1), ValueError, "k must be"),
        (lambda: plot.outcome("ok"), ValueError, "kind must be one of"),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
