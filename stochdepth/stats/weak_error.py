r"""Weak-error rates: fit :math:`|E_N - E_\infty| \approx C N^{-p}` from Monte Carlo estimates.

The depth error of a random ResNet is the weak error of the Euler–Maruyama scheme of its limit diffusion
(docs/science.md §A2–A3), expected to decay like :math:`1/L`. Measuring that rate from Monte Carlo estimates
needs care: each estimate carries a statistical error, and at fine steps the discretisation error drowns
in it. The fits here weigh every level by its Monte Carlo precision, propagate that precision into a
confidence interval for the rate, and flag levels whose error is not resolved instead of fitting noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _st

from .._checks import check_array, check_finite_result, check_real
from .._results import Estimate, Status, StatusResult, check_status

__all__ = ["WeakErrorFit", "weak_error_fit", "weak_error_fit_differences"]

# The fit is flagged "poor_fit" when the chi-square goodness-of-fit p-value falls below this.
POOR_FIT_PVALUE = 1e-3
_IRLS_ITERATIONS = 20
#: Smallest standard error of a resolved error relative to its size that the fit accepts: the delta
#: method squares it (``Cov(log|e_i|, log|e_j|) = Sigma_ij / (e_i e_j)``), and below 1e-150 the square
#: leaves float64's normal range (the covariance underflows to a singular matrix).
_MIN_RELATIVE_STDERR = 1e-150
_SCALE_ADVICE = "are the standard errors on the scale of the values?"


@dataclass(frozen=True)
class WeakErrorFit(StatusResult):
    r"""A fitted power law :math:`\text{errors} \approx C\,N^{-p}`.

    Attributes
    ----------
    rate : float
        The fitted rate :math:`p` (NaN only when fewer than two levels are resolved; see ``status``).
    rate_stderr : float
        Its standard error from the Monte Carlo errors of the estimates (delta method).
    rate_ci : tuple of float
        Normal confidence interval for :math:`p` at ``level``.
    constant : float
        The prefactor :math:`C` of the fitted ``errors`` (for differences, of :math:`E_N - E_{rN}`; the
        prefactor of :math:`E_N - E_\infty` is then :math:`C/(1-r^{-p})`).
    constant_ci : tuple of float
        Confidence interval for :math:`C` at ``level``.
    steps : ndarray
        Step counts :math:`N` of the errors (the coarse level of each difference).
    errors, errors_stderr : ndarray
        The errors (:math:`E_N - E_{\rm ref}` or level differences) and their standard errors.
    resolved : ndarray of bool
        Levels with :math:`|\text{error}| \ge z_{\rm resolve}\,\text{stderr}`; only these enter the fit.
    chi2, dof, chi2_pvalue : float, int, float
        Goodness of fit of the power law on the resolved levels (``dof = n_resolved - 2``; ``chi2`` and
        ``chi2_pvalue`` are NaN for exact data, status ``DETERMINISTIC``).
    level : float
        Confidence level.
    kind : str
        ``"reference"`` or ``"differences"``.
    status : Status
        ``OK``; ``UNRESOLVED`` (some level's error is below :math:`z_{\rm resolve}` standard errors:
        the fit uses the others, or is NaN when fewer than two remain); ``POOR_FIT`` (chi-square
        p-value below 1e-3: the power law does not describe the resolved levels within their errors,
        typically higher-order terms at coarse steps; drop them); ``DETERMINISTIC`` (all standard
        errors are 0: an unweighted fit with no interval). ``OK`` and ``DETERMINISTIC`` are successes.
    message : str
        A human-readable account of the status.
    """

    rate: float
    rate_stderr: float
    rate_ci: tuple[float, float]
    constant: float
    constant_ci: tuple[float, float]
    steps: np.ndarray
    errors: np.ndarray
    errors_stderr: np.ndarray
    resolved: np.ndarray
    chi2: float
    dof: int
    chi2_pvalue: float
    level: float
    kind: str
    status: Status
    message: str

    nonfinite_fields = ("chi2", "chi2_pvalue")

    def predict(self, steps: Any) -> np.ndarray:
        """The fitted magnitude :math:`C N^{-p}` at ``steps``."""
        n = check_array("steps", steps, ndim=(0, 1))
        return self.constant * n ** (-self.rate)


def _as_estimates(name: str, estimates: Any) -> tuple[np.ndarray, np.ndarray]:
    """(values, stderrs) from a sequence of Estimates or of (value, stderr) pairs."""
    if isinstance(estimates, Estimate):
        raise TypeError(f"{name} must be a sequence of estimates, got a single Estimate")
    try:
        items = list(estimates)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of Estimate or (value, stderr) pairs, got {type(estimates).__name__}"
        ) from None
    values, errs = [], []
    for k, item in enumerate(items):
        if isinstance(item, Estimate):
            values.append(item.value)
            errs.append(item.stderr)
        else:
            pair = np.asarray(item, dtype=float) if not isinstance(item, (str, bytes)) else None
            if pair is None or pair.shape != (2,):
                raise TypeError(f"{name}[{k}] must be an Estimate or a (value, stderr) pair, got {item!r}")
            values.append(float(pair[0]))
            errs.append(float(pair[1]))
    v = check_array(name + " values", values, ndim=1, min_size=1)
    s = check_array(name + " stderrs", errs, ndim=1)
    if np.any(s < 0):
        raise ValueError(f"{name} stderrs must be >= 0, got {s.min():.6g}")
    return v, s


def _check_steps(steps: Any, min_size: int) -> np.ndarray:
    n = check_array("steps", steps, ndim=1, min_size=min_size)
    if np.any(n <= 0):
        raise ValueError(f"steps must be positive, got {n.min():.6g}")
    if np.any(np.diff(n) <= 0):
        raise ValueError(f"steps must be strictly increasing, got {n.tolist()}")
    return n


def check_geometric_steps(n: np.ndarray) -> float:
    """The common ratio of geometric step counts ``n``; ValueError if the ratios differ."""
    ratios = n[1:] / n[:-1]
    if not np.allclose(ratios, ratios[0], rtol=1e-9, atol=0.0):
        raise ValueError(
            "steps must form a geometric sequence (constant ratio N_{k+1}/N_k) when fitting level "
            f"differences, got ratios {np.round(ratios, 6).tolist()}"
        )
    return float(ratios[0])


def _fit(
    steps: np.ndarray,
    errors: np.ndarray,
    cov: np.ndarray,
    level: float,
    z_resolve: float,
    kind: str,
    source: str,
    advice: str,
) -> WeakErrorFit:
    """The fit; ``source`` names the argument whose values set the errors and ``advice`` what to check,
    for the messages."""
    se = np.sqrt(np.diag(cov))
    check_finite_result("errors", errors)
    deterministic = bool(np.all(se == 0))
    resolved = (np.abs(errors) > 0) & (np.abs(errors) >= z_resolve * se)
    common = dict(steps=steps, errors=errors, errors_stderr=se, resolved=resolved, level=level, kind=kind)
    z = float(_st.norm.ppf(0.5 + level / 2.0))
    idx = np.flatnonzero(resolved)
    unresolved_steps = steps[~resolved].tolist()
    if idx.size < 2:
        nan2 = (math.nan, math.nan)
        return WeakErrorFit(
            rate=math.nan,
            rate_stderr=math.nan,
            rate_ci=nan2,
            constant=math.nan,
            constant_ci=nan2,
            chi2=math.nan,
            dof=0,
            chi2_pvalue=math.nan,
            status=Status.UNRESOLVED,
            message=(
                f"only {idx.size} level(s) have |error| >= {z_resolve:g} stderr (unresolved at steps "
                f"{unresolved_steps}); no rate can be fitted: reduce the Monte Carlo error or use "
                "coarser steps"
            ),
            **common,
        )
    e = errors[idx]
    y = np.log(np.abs(e))
    design = np.column_stack([np.ones(idx.size), -np.log(steps[idx])])
    dof = idx.size - 2
    if deterministic:
        beta, *_ = np.linalg.lstsq(design, y, rcond=None)
        rate, log_c = float(beta[1]), float(beta[0])
        return WeakErrorFit(
            rate=rate,
            rate_stderr=0.0,
            rate_ci=(rate, rate),
            constant=math.exp(log_c),
            constant_ci=(math.exp(log_c), math.exp(log_c)),
            chi2=math.nan,
            dof=dof,
            chi2_pvalue=math.nan,
            status=Status.DETERMINISTIC,
            message="all standard errors are 0: unweighted least squares, no confidence interval",
            **common,
        )
    rel = se[idx] / np.abs(e)
    lost = (se[idx] > 0) & (rel < _MIN_RELATIVE_STDERR)
    if lost.any():
        raise ValueError(
            f"the errors set by {source} reach {float(np.max(np.abs(e))):.3g}, more than "
            f"{1.0 / _MIN_RELATIVE_STDERR:g} times their standard errors (down to "
            f"{float(np.min(se[idx][lost])):.3g}, at steps {steps[idx][lost].tolist()}): the delta-method "
            "covariance of log|error| squares that ratio out of float64's range; " + advice
        )
    sub = cov[np.ix_(idx, idx)]
    # Delta method: d log|e| = de / e. The weights use the *fitted* magnitudes (iteratively reweighted),
    # so that they do not correlate with the noise of the observed errors.
    mag = np.abs(e)
    for _ in range(_IRLS_ITERATIONS):
        scale = np.sign(e) * mag
        v = sub / np.outer(scale, scale)
        try:
            chol = np.linalg.cholesky(v)
        except np.linalg.LinAlgError:
            raise ValueError(
                "the covariance of the errors is singular (e.g. some stderrs are 0 and others not); "
                "give every estimate a positive stderr, or all zero"
            ) from None
        wx = np.linalg.solve(chol, design)
        wy = np.linalg.solve(chol, y)
        beta, *_ = np.linalg.lstsq(wx, wy, rcond=None)
        new_mag = np.exp(design @ beta)
        if np.allclose(new_mag, mag, rtol=1e-12, atol=0.0):
            mag = new_mag
            break
        mag = new_mag
    cov_beta = np.linalg.inv(wx.T @ wx)
    resid = wy - wx @ beta
    chi2 = float(resid @ resid)
    chi2_p = float(_st.chi2.sf(chi2, dof)) if dof > 0 else 1.0
    log_c, rate = float(beta[0]), float(beta[1])
    se_log_c, se_rate = float(math.sqrt(cov_beta[0, 0])), float(math.sqrt(cov_beta[1, 1]))
    check_finite_result("weak_error_fit", np.array([rate, se_rate, log_c, se_log_c, chi2]))
    if idx.size < errors.size:
        status = Status.UNRESOLVED
        message = (
            f"errors at steps {unresolved_steps} are below {z_resolve:g} standard errors and were left out "
            f"of the fit ({idx.size} of {errors.size} levels used)"
        )
    elif chi2_p < POOR_FIT_PVALUE:
        status = Status.POOR_FIT
        message = (
            f"chi2 = {chi2:.3g} on {dof} dof (p = {chi2_p:.2g}): a single power law does not fit within the "
            "Monte Carlo errors; drop the coarsest levels (higher-order terms) and refit"
        )
    else:
        status = Status.OK
        message = "" if dof > 0 else "two levels: the fit is exact and its quality cannot be checked"
    return WeakErrorFit(
        rate=rate,
        rate_stderr=se_rate,
        rate_ci=(rate - z * se_rate, rate + z * se_rate),
        constant=math.exp(log_c),
        constant_ci=(math.exp(log_c - z * se_log_c), math.exp(log_c + z * se_log_c)),
        chi2=chi2,
        dof=dof,
        chi2_pvalue=chi2_p,
        status=status,
        message=message,
        **common,
    )


def _check_common(level: Any, z_resolve: Any) -> tuple[float, float]:
    level = check_real("level", level, lo=0.0, hi=1.0, lo_open=True, hi_open=True)
    z_resolve = check_real("z_resolve", z_resolve, lo=0.0)
    return level, z_resolve


def _check_covariance(covariance: Any, stderrs: np.ndarray, what: str) -> np.ndarray:
    """The covariance of the estimates: given (checked against the stderrs), or diagonal."""
    k = stderrs.size
    if covariance is None:
        return np.diag(stderrs**2)
    cov = check_array("covariance", covariance, shape=(k, k))
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=0.0):
        raise ValueError("covariance must be symmetric")
    if not np.allclose(np.diag(cov), stderrs**2, rtol=1e-6, atol=0.0):
        raise ValueError(
            f"the diagonal of covariance must equal the squared stderrs of the {what}, got "
            f"{np.diag(cov).tolist()} vs {(stderrs**2).tolist()}"
        )
    if np.min(np.linalg.eigvalsh(cov)) < -1e-10 * max(float(np.max(np.diag(cov))), 1e-300):
        raise ValueError("covariance must be positive semi-definite")
    return cov


def _check_estimates(name: str, estimates: Any, size: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    values, stderrs = _as_estimates(name, estimates)
    if values.size != size:
        raise ValueError(f"{name} must have {what} = {size} entries, got {values.size}")
    return values, stderrs


def weak_error_fit(
    steps: Any,
    estimates: Any,
    *,
    reference: float | Estimate | None = None,
    covariance: Any = None,
    level: float = 0.95,
    z_resolve: float = 3.0,
    throw: bool = False,
) -> WeakErrorFit:
    r"""Fit the weak-error rate :math:`p` in :math:`|E_N - E_\infty| \approx C N^{-p}`.

    With a ``reference`` :math:`E_\infty` the errors are :math:`e_N = E_N - E_\infty`. Without one they
    are the differences of consecutive levels, :math:`e_{N_k} = E_{N_k} - E_{N_{k+1}}`, which obey the
    same law with the same rate when the steps are geometric (:math:`N_{k+1} = rN_k`):
    :math:`E_N - E_{rN} \approx C(1-r^{-p})N^{-p}`. (For estimates of coupled differences themselves,
    use :func:`weak_error_fit_differences`.)

    The fit is generalised least squares on :math:`\log|e_N| = \log C - p\log N`, with the covariance of
    :math:`\log|e_N|` obtained from the covariance :math:`\Sigma` of the errors by the delta method,
    :math:`\mathrm{Cov}(\log|e_i|,\log|e_j|) \approx \Sigma_{ij}/(e_ie_j)`, evaluated at the fitted
    magnitudes (iteratively reweighted). :math:`\Sigma` is built from the covariance :math:`S` of the
    estimates (``covariance``, or diagonal from their stderrs when the levels are independent): with a
    reference, :math:`\Sigma = S + s_{\rm ref}^2\,\mathbf 1\mathbf 1^\top` (:math:`s_{\rm ref}` the
    reference's stderr, 0 for an exact value); without, :math:`\Sigma = ASA^\top` with :math:`A` the
    differencing matrix (tridiagonal for independent levels,
    :math:`\mathrm{Cov}(e_{N_k},e_{N_{k+1}})=-s_{k+1}^2`). The interval for :math:`p` is the normal
    interval of this linearised model. *Justification*: only resolved levels enter the fit
    (:math:`|e| \ge z_{\rm resolve}\,\mathrm{se}`, 3 by default), where the relative error of :math:`|e|`
    is at most 1/3 and the log is close to linear; the tests check on synthetic data that the interval
    covers the true rate at its nominal level and that the standard error matches the spread of the
    fitted rates. The interval accounts for the Monte Carlo error only, not for higher-order terms of the
    error expansion: those show up as a large chi-square (status ``POOR_FIT``).

    Parameters
    ----------
    steps : array_like, 1-D
        Step counts :math:`N` (or depths :math:`L`), positive and strictly increasing; geometric when
        ``reference`` is None.
    estimates : sequence of Estimate or of (value, stderr) pairs
        :math:`E_N` at each step count, with its standard error (>= 0), same length as ``steps``
        (at least 2 with a reference, 3 without).
    reference : float, Estimate or None
        The limit :math:`E_\infty` (exact, or with its own standard error, independent of the
        estimates), or None for differences of consecutive levels.
    covariance : array_like (K, K) or None
        Covariance matrix of the estimates when they are correlated (e.g. all levels computed from the
        same paths: ``np.cov(samples, rowvar=False) / n_paths``); its diagonal must equal the squared
        stderrs. None: independent levels.
    level : float in (0, 1), default 0.95
        Confidence level of the intervals.
    z_resolve : float >= 0, default 3
        A level is resolved when :math:`|e| \ge z_{\rm resolve}` standard errors.
    throw : bool, default False
        Raise :class:`~stochdepth.ConvergenceError` when the status is not a success (``UNRESOLVED``,
        ``POOR_FIT``). Off by default: these statuses describe the data rather than a failure of the fit,
        which always returns its numbers, and callers read them.

    Returns
    -------
    WeakErrorFit

    References
    ----------
    Derived for this library (docs/science.md §A2–A3: the depth error is the weak error of Euler–Maruyama);
    the expected rate :math:`p=1` is classical (Talay & Tubaro 1990, Stoch. Anal. Appl. 8, 483–509).

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.stats import weak_error_fit
    >>> steps = np.array([4, 8, 16, 32, 64])
    >>> exact = 1.0 + 2.0 / steps  # E_N = E_inf + C / N
    >>> fit = weak_error_fit(steps, [(v, 1e-4) for v in exact], reference=1.0)
    >>> round(fit.rate, 6), fit.status.name, fit.success
    (1.0, 'OK', True)
    """
    level, z_resolve = _check_common(level, z_resolve)
    n = _check_steps(steps, 2 if reference is not None else 3)
    values, stderrs = _check_estimates("estimates", estimates, n.size, "one entry per step")
    cov = _check_covariance(covariance, stderrs, "estimates")
    if reference is None:
        check_geometric_steps(n)
        k = n.size - 1
        diff = np.zeros((k, n.size))
        diff[np.arange(k), np.arange(k)] = 1.0
        diff[np.arange(k), np.arange(1, k + 1)] = -1.0
        fit = _fit(
            n[:-1],
            diff @ values,
            diff @ cov @ diff.T,
            level,
            z_resolve,
            "differences",
            "estimates",
            _SCALE_ADVICE,
        )
        return check_status(fit, "weak_error_fit", throw)
    if isinstance(reference, Estimate):
        ref = check_real("reference.value", reference.value)
        ref_se = check_real("reference.stderr", reference.stderr, lo=0.0)
    else:
        ref = check_real("reference", reference)
        ref_se = 0.0
    with np.errstate(over="ignore"):
        errors = values - ref
    fit = _fit(
        n,
        errors,
        cov + ref_se**2,
        level,
        z_resolve,
        "reference",
        f"reference={ref:g}",
        "is reference on the scale of the estimates?",
    )
    return check_status(fit, "weak_error_fit", throw)


def weak_error_fit_differences(
    steps: Any,
    differences: Any,
    *,
    covariance: Any = None,
    level: float = 0.95,
    z_resolve: float = 3.0,
    throw: bool = False,
) -> WeakErrorFit:
    r"""Fit the weak-error rate from coupled level differences :math:`D_k \approx E_{N_k} - E_{N_{k+1}}`.

    Coupled differences (fine and coarse paths driven by the same Brownian increments, as in multilevel
    Monte Carlo and in ``stochdepth.sde.simulate_levels``) have much smaller variance than the difference
    of two independent estimates. With geometric steps :math:`N_{k+1}=rN_k`,

    .. math:: |D_k| \approx C' N_k^{-p},\qquad C' = C\,(1-r^{-p}),

    where :math:`C` is the constant of :math:`|E_N - E_\infty|\approx CN^{-p}`. The fit and its interval
    are those of :func:`weak_error_fit` (generalised least squares on logs, delta method, unresolved
    levels flagged and left out).

    Parameters
    ----------
    steps : array_like, 1-D
        All level step counts :math:`N_0 < N_1 < \dots < N_K`, geometric, positive.
    differences : sequence of Estimate or of (value, stderr) pairs
        :math:`K` estimates, ``differences[k]`` of :math:`E_{N_k} - E_{N_{k+1}}` (either sign convention:
        only magnitudes are fitted); at least 2. From ``simulate_levels`` (fine minus coarse, scalar
        observable ``"f"``, recorded time index ``i``):
        ``d = res["f"].differences; list(zip(d.mean[i], d.stderr[i]))``.
    covariance : array_like (K, K) or None
        Covariance of the difference estimates. ``simulate_levels`` computes every level from the same
        paths, so its differences are correlated; pass their covariance when it is available (e.g. from
        ``Samples()`` of the differences: ``np.cov(D, rowvar=False) / n_paths``). None: independent
        levels (fresh paths per level, as in multilevel Monte Carlo).
    level : float in (0, 1), default 0.95
        Confidence level.
    z_resolve : float >= 0, default 3
        A difference is resolved when it is at least ``z_resolve`` standard errors from 0.
    throw : bool, default False
        Raise :class:`~stochdepth.ConvergenceError` when the status is not a success (see
        :func:`weak_error_fit`).

    Returns
    -------
    WeakErrorFit
        ``steps`` holds the coarse step of each difference, ``constant`` is :math:`C'`.

    References
    ----------
    Giles (2008), Multilevel Monte Carlo path simulation, Oper. Res. 56, 607–617 (coupled levels);
    the fit as in :func:`weak_error_fit` (derived for this library).

    Examples
    --------
    >>> import numpy as np
    >>> from stochdepth.stats import weak_error_fit_differences
    >>> steps = np.array([4, 8, 16, 32])
    >>> d = 3.0 / steps[:-1] - 3.0 / steps[1:]  # E_N = E + 3/N
    >>> fit = weak_error_fit_differences(steps, [(v, 1e-5) for v in d])
    >>> round(fit.rate, 6), round(fit.constant, 6)  # C' = 3 (1 - 1/2)
    (1.0, 1.5)
    """
    level, z_resolve = _check_common(level, z_resolve)
    n = _check_steps(steps, 3)
    values, stderrs = _check_estimates(
        "differences", differences, n.size - 1, "len(steps) - 1 (one per pair of consecutive levels)"
    )
    check_geometric_steps(n)
    cov = _check_covariance(covariance, stderrs, "differences")
    fit = _fit(n[:-1], values, cov, level, z_resolve, "differences", "differences", _SCALE_ADVICE)
    return check_status(fit, "weak_error_fit_differences", throw)
