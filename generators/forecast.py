"""Forecasting the physical twin's dynamic state from what the twin has observed (Fig. 3, right-time sync).

The twin observes a sensor only in the rounds the twinning-rate sample transfers it. An *observation
set* is plain data: ``{node: [(round, {attribute: value}), ...]}``, rounds ascending (`observations`
builds it from a HistoryStore table; services.sync builds it from the rows a policy synced). Events
(join / leave / period change) reach a forecaster through the twinning rate: they are the `active` and
`report_period_s` columns of the transferred rows. The store's `events` table (delivered for every
sensor whatever the sample) is not read, so an event is seen when its sensor is next sampled.

Scored attributes (DYNAMIC; static ones such as position or `attached_gateway` are never scored) and
their tolerances (`within_tolerance`):

  tx_packets, rx_packets, buffer_drops   cumulative counters   |err| <= max(0.5, 5% of truth)
  tx_rate, rx_rate                       packets in the round  |err| <= max(1, 20% of truth)
                                         (counter at t minus counter at t-1, or the
                                         rate a twin states)
  in_flight_packets                      queue proxy           |err| <= 0.5 (exact)
  latency_mean_ms                        running mean, ms      |err| <= max(1 ms, 10% of truth),
                                                               scored only where truth rx_packets > 0
  active, report_period_s                events                exact

Accuracy at a round = the share of (sensor, attribute) pairs within tolerance (`score`); per attribute,
the share of sensors.

Predictors, all on the same observation set (each returns ``{node: {round: state}}``):
  last     the last observed state.
  linear   counters, queue and latency extrapolated from the last two observations (a counter's slope
           after a single observation: its mean per round since round 0); `active`, period: last value.
  ridge    one scikit-learn Ridge per numeric attribute that corrects the linear forecast, fitted online
           on the observation set itself: every pair of a sensor's observations (round i -> round j,
           j - i <= max_gap) is a training row, target = value(j) - linear forecast of j from i, features
           from the observations up to i (`_features`: slope, mean rate since round 0 and the reporting
           period's expected packets, each times the gap; gap; level; active; delivery seen). Events
           keep their last value (the churn is a random process: nothing in the history predicts it).
  llm      generators.llm_forecast (the model alone).
  generator  (Fig. 3's H+R+GAI) ridge plus one more feature: the model's forecast minus the linear one, where the model forecast
           that sensor (0 elsewhere). Its coefficient is fitted online like the others, on the rounds whose
           forecasts can already be checked against observations, so the data decides how far the model is
           trusted (with no evidence, ridge shrinks it to 0). No hand-set blend.

`uncertainty` ranks sensors by how wrong their forecast is expected to be: in tolerance units, the
sensor's own last checked forecast error plus the ridge model's residual spread, grown with the square
root of the rounds since its last observation; infinite for a sensor never observed.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gaidt_bridge.node_ids import node_index

COUNTERS = ("tx_packets", "rx_packets", "buffer_drops")
RATES = {"tx_rate": "tx_packets", "rx_rate": "rx_packets"}
NUMERIC = (*COUNTERS, "in_flight_packets", "latency_mean_ms")
EVENTS = ("active", "report_period_s")
STATE = (*NUMERIC, *EVENTS)  # what a predictor forecasts
ERROR_CAP = 10.0  # tolerance units: one wild counter must not hide every other sensor
DYNAMIC = (*COUNTERS, *RATES, "in_flight_packets", "latency_mean_ms", *EVENTS)  # what is scored

__all__ = ["COUNTERS", "DYNAMIC", "STATE", "observations", "tolerance", "within_tolerance", "score", "overall",
           "predict_last", "predict_linear", "RidgeForecaster", "uncertainty", "errors", "node_order"]


def node_order(nodes) -> list[str]:
    """Node names in index order (sensor-2 before sensor-10)."""
    return sorted(nodes, key=node_index)


def _f(x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


def observations(table: pd.DataFrame, upto_round: int) -> dict[str, list[tuple[int, dict]]]:
    """The sensors' transferred rows of a HistoryStore.table() up to a round, as an observation set."""
    if table is None or len(table) == 0:
        return {}
    t = table[(table["kind"] == "sensor") & (table["round"] <= upto_round)]
    cols = [c for c in STATE if c in t.columns]
    obs: dict = {}
    for node, rnd, *vals in t[["node", "round", *cols]].itertuples(index=False):
        obs.setdefault(node, []).append((int(rnd), {c: _f(v) for c, v in zip(cols, vals)}))
    for v in obs.values():
        v.sort(key=lambda x: x[0])
    return obs


# ---------------------------------------------------------------- scoring

def tolerance(attr: str, truth: float) -> float:
    """The absolute tolerance of an attribute at a true value (module docstring)."""
    if attr in COUNTERS:
        return max(0.5, 0.05 * abs(truth))
    if attr in RATES:
        return max(1.0, 0.2 * abs(truth))
    if attr == "in_flight_packets":
        return 0.5
    if attr == "latency_mean_ms":
        return max(1.0, 0.1 * abs(truth))
    return 1e-6  # events: exact


def within_tolerance(attr: str, pred, truth) -> bool:
    """True if pred is within attr's tolerance of truth (module docstring); NaN never is."""
    p, t = _f(pred), _f(truth)
    if math.isnan(p) or math.isnan(t):
        return False
    if attr == "report_period_s":
        return abs(p - t) <= 1e-6 * max(1.0, abs(t))
    return abs(p - t) <= tolerance(attr, t)


def _value(attr: str, state: dict | None, prev: dict | None) -> float:
    if state is None:
        return math.nan
    if attr in RATES:
        if attr in state and not math.isnan(_f(state[attr])):
            return _f(state[attr])  # a twin that states its rate
        c = RATES[attr]
        return _f(state.get(c)) - _f(prev.get(c)) if prev is not None else math.nan
    return _f(state.get(attr))


def score(pred: dict, truth: dict, pred_prev: dict | None = None, truth_prev: dict | None = None,
          nodes=None) -> dict[str, tuple[int, int]]:
    """Per scored attribute, (pairs within tolerance, pairs scored) over `nodes` (default: the truth's).

    pred / truth: node -> state at round t; *_prev: the same at round t-1 (for the rates; without them the
    rates are not scored). A predicted state may state its rates (tx_rate, rx_rate: packets per round);
    otherwise its rate is its counter at t minus its counter at t-1. A node the prediction lacks counts as
    wrong; an attribute the truth lacks is not scored.
    """
    out = {a: [0, 0] for a in DYNAMIC}
    for node in (truth if nodes is None else nodes):
        tv = truth.get(node)
        if tv is None:
            continue
        pv = pred.get(node)
        for a in DYNAMIC:
            if a in RATES and (truth_prev is None or pred_prev is None):
                continue
            if a == "latency_mean_ms" and not _f(tv.get("rx_packets")) > 0:
                continue
            tprev = truth_prev.get(node) if truth_prev is not None else None
            pprev = pred_prev.get(node) if pred_prev is not None else None
            if a in RATES and tprev is None:
                continue
            tval = _value(a, tv, tprev)
            if math.isnan(tval):
                continue  # an attribute the truth lacks is not scored
            out[a][1] += 1
            out[a][0] += within_tolerance(a, _value(a, pv, pprev), tval)
    return {a: (ok, n) for a, (ok, n) in out.items() if n}


def overall(per_attr: dict[str, tuple[int, int]]) -> float:
    """The share of all scored (sensor, attribute) pairs within tolerance (nan if none)."""
    ok = sum(v[0] for v in per_attr.values())
    n = sum(v[1] for v in per_attr.values())
    return ok / n if n else math.nan


# ---------------------------------------------------------------- simple predictors

def _slope(hist: list[tuple[int, dict]], attr: str) -> float:
    (r1, s1) = hist[-1]
    if len(hist) >= 2:
        r0, s0 = hist[-2]
        if r1 > r0:
            return (_nz(s1.get(attr)) - _nz(s0.get(attr))) / (r1 - r0)
    if attr in COUNTERS and r1 > 0:
        return _nz(s1.get(attr)) / r1  # counters are 0 at round 0
    return 0.0


def _nz(x) -> float:
    x = _f(x)
    return 0.0 if math.isnan(x) else x


def _finish(last: dict, state: dict) -> dict:
    """Counters never decrease and are integers; the queue is a non-negative integer; latency >= 0."""
    for c in COUNTERS:
        state[c] = float(max(round(state[c]), _nz(last.get(c))))
    state["in_flight_packets"] = float(max(0, round(state["in_flight_packets"])))
    state["latency_mean_ms"] = max(0.0, state["latency_mean_ms"])
    return state


def predict_last(obs: dict, targets, nodes=None) -> dict:
    """Every target round: the last observed state."""
    return {n: {t: dict(obs[n][-1][1]) for t in targets} for n in (nodes or obs) if n in obs}


def predict_linear(obs: dict, targets, nodes=None) -> dict:
    """Numeric attributes extrapolated from the last two observations; events keep their last value."""
    out = {}
    for n in (nodes or obs):
        if n not in obs:
            continue
        hist = obs[n]
        r_last, last = hist[-1]
        slopes = {a: _slope(hist, a) for a in NUMERIC}
        out[n] = {}
        for t in targets:
            s = dict(last)
            for a in NUMERIC:
                s[a] = _nz(last.get(a)) + slopes[a] * max(0, t - r_last)
            out[n][t] = _finish(last, s)
    return out


# ---------------------------------------------------------------- the online ridge (and the GAI stack)

def _linear(hist: list[tuple[int, dict]], attr: str, gap: int) -> float:
    return _nz(hist[-1][1].get(attr)) + _slope(hist, attr) * gap


def _features(hist: list[tuple[int, dict]], attr: str, gap: int, round_s: float) -> list[float]:
    """Features of one forecast `gap` rounds after a sensor's last observation in `hist`."""
    r_last, last = hist[-1]
    slope = _slope(hist, attr)
    mean_rate = _nz(last.get(attr)) / r_last if r_last > 0 else 0.0
    period = _nz(last.get("report_period_s")) or 1.0
    active = _nz(last.get("active"))
    level = _nz(last.get(attr))
    rx_seen = float(_nz(last.get("rx_packets")) > 0)  # a running mean starts at the first delivery
    return [slope * gap, mean_rate * gap, active * gap * round_s / period, float(gap), level, active,
            rx_seen, rx_seen * level]


class RidgeForecaster:
    """Per numeric attribute a Ridge on (sensor, last observation, target) rows of the observation set.

    llm: optional model forecasts for the GAI stack, ``{(node, last_obs_round, target_round): state}``;
    each adds the feature (model value - linear value) to its row. Fit once per origin round with
    `fit(obs)`, then `predict`.
    """

    MIN_ROWS = 8

    def __init__(self, round_s: float, max_gap: int = 4, alpha: float = 1.0, llm: dict | None = None):
        self.round_s = round_s
        self.max_gap = max_gap
        self.alpha = alpha
        self.llm = llm
        self.models: dict = {}
        self.residual_std: dict = {}  # attr -> residual std of the training rows per sqrt(gap)
        self.rows = 0

    def _row(self, hist, attr, gap, node, target):
        x = _features(hist, attr, gap, self.round_s)
        if self.llm is not None:
            m = self.llm.get((node, hist[-1][0], target))
            if m is not None and not math.isnan(_f(m.get(attr))):
                x.append(_f(m[attr]) - _linear(hist, attr, gap))
            else:
                x.append(0.0)
        return x

    def fit(self, obs: dict) -> "RidgeForecaster":
        """Fit one ridge model per numeric attribute on the observations' per-round changes; returns self."""
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X = {a: [] for a in NUMERIC}
        y = {a: [] for a in NUMERIC}
        g_all = []
        for node, hist in obs.items():
            for i in range(len(hist)):
                for j in range(i + 1, len(hist)):
                    gap = hist[j][0] - hist[i][0]
                    if gap > self.max_gap:
                        break
                    g_all.append(gap)
                    for a in NUMERIC:
                        X[a].append(self._row(hist[:i + 1], a, gap, node, hist[j][0]))
                        y[a].append(_nz(hist[j][1].get(a)) - _linear(hist[:i + 1], a, gap))
        self.rows = len(g_all)
        self.models, self.residual_std = {}, {}
        if self.rows < self.MIN_ROWS:
            return self
        g = np.sqrt(np.asarray(g_all, float))
        for a in NUMERIC:
            Xa, ya = np.asarray(X[a], float), np.asarray(y[a], float)
            model = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha)).fit(Xa, ya)
            self.models[a] = model
            self.residual_std[a] = float(np.sqrt(np.mean(((model.predict(Xa) - ya) / g) ** 2)))
        return self

    def coefficient(self, attr: str, index: int = -1) -> float:
        """A fitted coefficient in the scaled feature space (index -1: the model feature of the GAI stack)."""
        m = self.models.get(attr)
        return float(m[-1].coef_[index]) if m is not None else math.nan

    def predict(self, obs: dict, targets, nodes=None) -> dict:
        """node -> target round -> state; the linear forecast until enough rows were seen to fit."""
        if not self.models:
            return predict_linear(obs, targets, nodes)
        nodes = [n for n in (nodes or obs) if n in obs]
        rows, keys = {a: [] for a in NUMERIC}, []
        for n in nodes:
            hist = obs[n]
            for t in targets:
                gap = max(0, t - hist[-1][0])
                keys.append((n, t, gap))
                for a in NUMERIC:
                    rows[a].append(self._row(hist, a, gap, n, t))
        pred = {a: self.models[a].predict(np.asarray(rows[a], float)) if keys else [] for a in NUMERIC}
        out: dict = {}
        for i, (n, t, gap) in enumerate(keys):
            last = obs[n][-1][1]
            s = dict(last)
            if gap > 0:
                for a in NUMERIC:
                    s[a] = _linear(obs[n], a, gap) + float(pred[a][i])
                s = _finish(last, s)
            out.setdefault(n, {})[t] = s
        return out


# ---------------------------------------------------------------- uncertainty (which sensors to look at)

def uncertainty(obs: dict, model: RidgeForecaster, forecast: dict, target: int, nodes,
                last_error: dict | None = None, attr_weights: dict | None = None) -> dict[str, float]:
    """node -> expected forecast error at `target`, in tolerance units, weighted over attributes.

    Per attribute: the sensor's own last checked error (`errors`; "most wrong") plus the model's residual
    spread over the fleet ("least certain"), times sqrt(rounds since the sensor's last observation); a
    sensor never observed is infinite. forecast: node -> {target: state} (the
    model's); last_error: node -> {attr: error}; attr_weights: attr -> weight (default 1 each; eq. 1's KPI
    weights enter here through generators.llm_forecast.attribute_weights).
    """
    w = attr_weights or {a: 1.0 for a in NUMERIC + EVENTS}
    out = {}
    for n in nodes:
        if n not in obs or n not in forecast:
            out[n] = math.inf
            continue
        age = math.sqrt(max(1, target - obs[n][-1][0]))
        p = forecast[n][target]
        own = (last_error or {}).get(n)
        s = 0.0
        for a, wa in w.items():
            e = own.get(a, 0.0) if own is not None else 0.0
            if a in NUMERIC:
                e += min(ERROR_CAP, model.residual_std.get(a, 1.0) / tolerance(a, _nz(p.get(a))))
            s += wa * e * age
        out[n] = s
    return out


def errors(forecast_t: dict, observed_t: dict) -> dict[str, dict]:
    """node -> {attr: error} for the nodes observed at the forecast's round: numeric attributes
    |forecast - observation| / tolerance (capped at ERROR_CAP), events 1 if wrong else 0."""
    out = {}
    for n, o in observed_t.items():
        p = forecast_t.get(n)
        if p is None:
            continue
        e = {a: min(ERROR_CAP, abs(_nz(p.get(a)) - _nz(o.get(a))) / tolerance(a, _nz(o.get(a)))) for a in NUMERIC}
        e.update({a: float(not within_tolerance(a, p.get(a), o.get(a))) for a in EVENTS})
        out[n] = e
    return out
