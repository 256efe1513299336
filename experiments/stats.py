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
