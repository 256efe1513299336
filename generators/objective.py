"""KPI scores T_i in [0, 1] from a result.json, and the objective O (eq. 2-3).

  T_rho   = kpis.rho                 share of sensors served (attached, >= 90% delivered)
  T_d     = kpis.d                   on-time packets / packets sent
  T_l     = clip(1 - l / deadline)   l = mean one-way UL latency (ms), deadline = network.deadline_ms:
                                     1 at zero latency, falling linearly to 0 at the deadline
                                     and staying 0 beyond it (monotone non-increasing in l);
                                     0 if nothing was delivered (l undefined)
  T_alpha = 1 - kpis.alpha           alpha = RLC buffer drops / packets sent

O = sum_i w_i T_i over K = {rho, d, l, alpha}; with weights summing to 1, O is in [0, 1].
"""
from __future__ import annotations

import math

from .prioritization import KPIS


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def _num(x) -> float | None:
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def latency_score(latency_ms, deadline_ms: float) -> float:
    """T_l: see module docstring."""
    latency_ms = _num(latency_ms)
    if latency_ms is None or deadline_ms <= 0:
        return 0.0
    return _clip01(1.0 - latency_ms / deadline_ms)


def kpi_scores(result: dict, deadline_ms: float) -> dict:
    """T_i for each KPI of a result.json dict; deadline_ms is the run's network.deadline_ms."""
    k = result["kpis"]
    alpha = _num(k.get("alpha"))
    return {
        "rho": _clip01(_num(k.get("rho")) or 0.0),
        "d": _clip01(_num(k.get("d")) or 0.0),
        "l": latency_score(k.get("l"), deadline_ms),
        "alpha": 0.0 if alpha is None else _clip01(1.0 - alpha),
    }


def objective(scores: dict, weights: dict) -> float:
    """O = sum_i w_i T_i (eq. 2)."""
    missing = [k for k in KPIS if k not in scores or k not in weights]
    if missing:
        raise KeyError(f"scores and weights must cover {KPIS}; missing {missing}")
    return float(sum(weights[k] * scores[k] for k in KPIS))


def score_result(result: dict, weights: dict, deadline_ms: float) -> tuple[float, dict]:
    """(O, T) of one run."""
    t = kpi_scores(result, deadline_ms)
    return objective(t, weights), t
