"""Statistics shared by the figures: confidence intervals and throughput stability."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval (Table I: 95%).

    One value gives (v, nan, nan): no interval can be claimed from one run.
    """
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, math.nan, math.nan
    half = float(sps.t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


def paired_change(treated, control, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Mean of per-pair relative changes, % (100 * (t - c) / |c|), with its Student-t CI.

    The point estimate and the interval measure the same thing (the mean per-pair change);
    pairs share a seed (common random numbers). Returns (mean, low, high, n_pairs); pairs with a
    missing value or c = 0 are dropped.
    """
    pairs = [(float(t), float(c)) for t, c in zip(treated, control)
             if t is not None and c is not None and not math.isnan(t) and not math.isnan(c) and c != 0]
    changes = [100.0 * (t - c) / abs(c) for t, c in pairs]
    m, lo, hi = mean_ci(changes, confidence)
    return m, lo, hi, len(changes)


def period_series(bps, window_s: float, period_s: float) -> np.ndarray:
    """Sum a goodput series of window_s windows into windows of one report period (a trailing
    partial period is dropped). Mean bit/s per period window."""
    x = np.asarray(bps, dtype=float)
    ratio = period_s / window_s
    if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
        raise ValueError(f"a period of {period_s} s is not a whole number of {window_s} s windows")
    per = int(round(ratio))
    n = len(x) // per
    return x[: n * per].reshape(n, per).mean(axis=1) if n else np.asarray([], dtype=float)


def stability(bps, skip_windows: int = 0) -> float:
    """Throughput stability: 1 / (1 + CV), CV the coefficient of variation
    (population std / mean) of the windowed goodput.

    bps: the result's throughput_series.bps (aggregate UL goodput at the city
    server per window of sim.throughput_window_s). 1 means perfectly flat
    throughput, 0.5 a CV of 1; it stays in (0, 1] however bursty the traffic
    (1 - CV would go negative). An all-zero series has no stability (nan).
    """
    x = np.asarray(bps[skip_windows:], dtype=float)
    if len(x) < 2 or x.mean() <= 0:
        return math.nan
    return float(1.0 / (1.0 + x.std(ddof=0) / x.mean()))
