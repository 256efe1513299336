"""Right-time synchronization: which sensor twins to sync each round, within the twinning-rate budget.

Input    every round's ground truth of a run (run_scenario(..., truth=True):
         outcome.truth, round -> gaidt.truth message, every sensor's state),
         which stands for the physical twin, and the run's historical twin
         (history.sqlite) for the bridge's own sample ("as run").
Action   per round, the set of sensors whose state is transferred (synced)
         into the twin. Join/leave events reach the twin whatever the sample
         (PROTOCOL.md), so `active` follows the truth under every policy.
           fixed-rate r     a seeded uniform sample of round(r x N) sensors per
                            round: what the bridge does (twin.twinning_rate).
           right-time b, th change-triggered within the budget round(b x N):
                            sync a sensor when its predicted drift exceeds th
                            tolerances, largest predicted drift first. Predicted
                            drift of tx_packets / rx_packets = |rate| x rounds
                            since its last sync, the rate from its last two
                            syncs (its mean since the start until it has two); one
                            tolerance = 5% of the predicted value (>= 0.5
                            packet). A sensor never synced has infinite drift.
           forecast-guided b
                            acts on the twin's forecast (generators.forecast): each
                            round, before the transfer, the online ridge model fitted
                            on what the twin has synced so far forecasts every sensor;
                            the round(b x N) sensors whose forecast is least certain
                            or most wrong (forecast.uncertainty: the model's residual
                            spread at the sensor's age plus its own last checked error,
                            in tolerance units; never synced first) are synced.
           as run           the rows the bridge actually transferred (its own
                            r-sample, read back from the history store).
         Decided offline on the truth of one run, so every policy sees the same
         physical twin (common random numbers).
Estimate the twin's state of a sensor not synced this round: its last synced state
         ("last", the bridge's twin), or the forecast of the same online ridge model
         ("+forecast"; forecast-guided always uses it). Fixed r = 0.8 +forecast against
         forecast-guided b = 0.8 is the comparison at equal messages per round. A sensor
         synced this round states its per-round rates as (counter now - counter at its
         previous sync) / rounds between.
Metrics  twin accuracy per round (generators.forecast.score over the dynamic attributes:
         counters, per-round rates, queue, latency, active, report period; the share of
         (sensor, attribute) pairs within tolerance of the truth), messages (sensor
         rows transferred) per round, and the CPU time of the twin side per round
         (time.process_time of the policy's decision, of applying the rows and of the
         forecast). CPU time of ns-3's publisher is not included; messages are its proxy.

The physical twin changes during the run: experiments.fig3's Scenario-3 (sensors
leave and join, reporting periods shift, through bridge commands).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gaidt import ns3_runner
from gaidt.plotting import pyplot
from gaidt.scenario3 import ChurnDriver, scenario3_config
from gaidt_bridge.node_ids import node_index
from generators import forecast as fc

from .twin_data import TwinDataError, require_columns

DRIFT_ATTRS = ("tx_packets", "rx_packets")
TOLERANCE = 0.05
MIN_TOLERANCE = 0.5
PRIOR_ROUNDS = 2  # weight (in rounds) of the fleet's mean rate in a sensor's rate estimate
ESTIMATORS = ("last", "forecast")


def truth_tables(truth: dict, service: str = "sync") -> dict[int, dict[str, dict]]:
    """round -> sensor id -> {attribute: value}, from outcome.truth."""
    if not truth:
        raise TwinDataError(f"{service}: no ground truth: run the scenario with run_scenario(..., truth=True) "
                            "(outcome.truth is empty)")
    out = {}
    for k, msg in sorted(truth.items()):
        tables = [t for t in msg.tables if t.kind == "sensor"]
        if not tables:
            raise TwinDataError(f"{service}: the truth of round {k} has no sensor table")
        t = tables[0]
        missing = [c for c in (*DRIFT_ATTRS, "active") if c not in t.columns]
        if missing:
            raise TwinDataError(f"{service}: the truth of round {k} lacks column(s) {', '.join(missing)}")
        out[int(k)] = t.states()
    return out


class FixedRate:
    """A seeded uniform sample of round(rate x N) sensors per round; estimator "last" or "forecast"."""

    def __init__(self, rate: float, seed: int = 0, estimator: str = "last"):
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator = {estimator!r}: allowed: {', '.join(ESTIMATORS)}")
        self.rate = rate
        self.rng = np.random.default_rng(seed)
        self.estimator = estimator
        self.name = f"fixed r={rate:g}" + (" +forecast" if estimator == "forecast" else "")

    def select(self, k: int, nodes: list[str], twin: "TwinState", active: dict | None = None) -> list[str]:
        """A seeded random fraction `rate` of the nodes, every round."""
        n = int(round(self.rate * len(nodes)))
        return [nodes[i] for i in sorted(self.rng.choice(len(nodes), n, replace=False))]


class RightTime:
    """Change-triggered: predicted drift > threshold tolerances, within round(budget x N) (module docstring)."""

    def __init__(self, budget: float, threshold: float = 1.0):
        self.budget = budget
        self.threshold = threshold
        self.name = f"right-time b={budget:g} th={threshold:g}"

    def drift(self, k: int, twin: "TwinState", nodes: list[str], active: dict | None = None) -> np.ndarray:
        """Each node's expected drift since its last sync (rates learnt from the twin; inf for nodes never
        synced)."""
        rates = twin.rates()
        prior = {a: float(np.mean([r[a] for r in rates.values()])) if rates else 0.0 for a in DRIFT_ATTRS}
        score = np.full(len(nodes), np.inf)
        for j, node in enumerate(nodes):
            last = twin.synced.get(node)
            if last is None:
                continue
            if active is not None and active.get(node) != last[-1][1].get("active"):
                continue  # a join/leave event since its last sync: its counters start or stop moving
            age = k - last[-1][0]
            n_rounds = twin.rate_rounds(node)
            s = 0.0
            for a in DRIFT_ATTRS:
                # shrink the sensor's own rate towards the fleet mean while it rests on few rounds
                rate = (rates[node][a] * n_rounds + prior[a] * PRIOR_ROUNDS) / (n_rounds + PRIOR_ROUNDS)
                pred = last[-1][1][a] + rate * age
                s = max(s, abs(rate) * age / max(TOLERANCE * abs(pred), MIN_TOLERANCE))
            score[j] = s
        return score

    def select(self, k: int, nodes: list[str], twin: "TwinState", active: dict | None = None) -> list[str]:
        """The nodes with the largest drift above the threshold, at most the budget's fraction."""
        score = self.drift(k, twin, nodes, active)
        budget = int(round(self.budget * len(nodes)))
        order = np.argsort(-score, kind="stable")
        return [nodes[j] for j in order[:budget] if score[j] > self.threshold]


class ForecastSync:
    """Sync the round(budget x N) sensors whose forecast is least certain or most wrong (module docstring)."""

    estimator = "forecast"

    def __init__(self, budget: float):
        self.budget = budget
        self.name = f"forecast-guided b={budget:g}"

    def select(self, k: int, nodes: list[str], twin: "TwinState", active: dict | None = None) -> list[str]:
        """The nodes whose forecast is least certain, at most the budget's fraction."""
        model, pred = twin.forecast(k, nodes)
        unc = fc.uncertainty(twin.obs, model, pred, k, nodes, twin.last_error)
        budget = int(round(self.budget * len(nodes)))
        order = sorted(nodes, key=lambda n: (-unc[n] if not np.isinf(unc[n]) else -np.inf, node_index(n)))
        return fc.node_order(order[:budget])


class AsRun:
    """The bridge's own sample: the rows stored in the history store per round."""

    def __init__(self, synced_by_round: dict[int, set], rate: float):
        self.synced = synced_by_round
        self.name = f"as run r={rate:g}"

    def select(self, k: int, nodes: list[str], twin: "TwinState", active: dict | None = None) -> list[str]:
        """The nodes the bridge really transferred at round k (the run's own twinning)."""
        return [n for n in nodes if n in self.synced.get(k, ())]


@dataclass
class TwinState:
    """The twin a policy builds: per sensor its last two synced (round, state), every synced row as an
    observation set (generators.forecast), and the forecast of the current round (cached)."""
    synced: dict  # node -> [(round, state)] (at most two)
    obs: dict = field(default_factory=dict)  # node -> [(round, state)], every sync
    last_error: dict = field(default_factory=dict)  # node -> {attr: error of its last checked forecast}
    round_s: float = 1.0
    _forecast: tuple | None = None  # (round, model, node -> {round: state})

    def apply(self, k: int, rows: dict[str, dict]) -> None:
        """Take round k's synced rows into the twin (and score the forecast made for k)."""
        if self._forecast is not None and self._forecast[0] == k:
            pred = {n: v[k] for n, v in self._forecast[2].items()}
            self.last_error.update(fc.errors(pred, rows))
        for node, state in rows.items():
            hist = self.synced.setdefault(node, [])
            hist.append((k, state))
            del hist[:-2]
            self.obs.setdefault(node, []).append((k, {a: state.get(a) for a in fc.STATE}))

    def forecast(self, k: int, nodes) -> tuple:
        """(model, node -> {k: state}): the online ridge model on the rows synced before round k."""
        if self._forecast is None or self._forecast[0] != k:
            model = fc.RidgeForecaster(self.round_s).fit(self.obs)
            self._forecast = (k, model, model.predict(self.obs, [k], nodes))
        return self._forecast[1], self._forecast[2]

    def rates(self) -> dict[str, dict]:
        """Per synced sensor, counters per round between its last two syncs; after one sync, the
        mean since the start of the run (counters are cumulative from 0 at round 0)."""
        out = {}
        for node, hist in self.synced.items():
            if len(hist) == 2 and hist[1][0] > hist[0][0]:
                (k1, s1), (k2, s2) = hist
            else:
                (k1, s1), (k2, s2) = (0, {a: 0.0 for a in DRIFT_ATTRS}), hist[-1]
            out[node] = {a: (s2[a] - s1[a]) / max(k2 - k1, 1) for a in DRIFT_ATTRS}
        return out

    def rate_rounds(self, node: str) -> int:
        """Rounds the sensor's rate estimate rests on."""
        hist = self.synced[node]
        return hist[1][0] - hist[0][0] if len(hist) == 2 else hist[-1][0]

    def estimate(self, truth_k: dict[str, dict], k: int | None = None, estimator: str = "last") -> dict[str, dict]:
        """The twin at round k: synced sensors as synced, the others their last state or the forecast."""
        est = {}
        pred = self._forecast[2] if (estimator == "forecast" and self._forecast is not None
                                     and self._forecast[0] == k) else {}
        for node, hist in self.synced.items():
            state = dict(hist[-1][1])
            if hist[-1][0] != k and node in pred:
                state.update(pred[node][k])
            elif hist[-1][0] == k:  # synced now: its rate over the rounds since its previous sync
                (k0, s0) = hist[-2] if len(hist) == 2 else (0, {})
                for rate, counter in (("tx_rate", "tx_packets"), ("rx_rate", "rx_packets")):
                    state[rate] = (state[counter] - s0.get(counter, 0.0)) / max(1, k - k0)
            if node in truth_k:  # join/leave events reach the twin whatever the sample
                state["active"] = truth_k[node]["active"]
            est[node] = state
        return est


def replay(truths: dict[int, dict[str, dict]], policy, round_s: float = 1.0) -> pd.DataFrame:
    """Run a policy over every round of the truth; one row per round (accuracy: generators.forecast.score)."""
    estimator = getattr(policy, "estimator", "last")
    twin = TwinState({}, round_s=round_s)
    rows, prev_est, prev_truth = [], None, None
    for k in sorted(truths):
        truth_k = truths[k]
        nodes = sorted(truth_k, key=node_index)
        t0 = time.process_time()
        if estimator == "forecast":
            twin.forecast(k, nodes)
        chosen = policy.select(k, nodes, twin, {n: truth_k[n]["active"] for n in nodes})
        twin.apply(k, {n: truth_k[n] for n in chosen})
        est = twin.estimate(truth_k, k, estimator)
        cpu = time.process_time() - t0
        per = fc.score(est, truth_k, prev_est, prev_truth)
        rows.append({"round": k, "messages": len(chosen), "cpu_s": cpu, "sensors": len(nodes),
                     "accuracy": fc.overall(per)})
        prev_est, prev_truth = est, truth_k
    return pd.DataFrame(rows)


def as_run_policy(history: pd.DataFrame, rate: float) -> AsRun:
    """The policy replaying which sensors the run's bridge transferred each round (from the historical twin)."""
    require_columns(history, ("tx_packets",), "sync")
    s = history[history["kind"] == "sensor"]
    return AsRun({int(k): set(g["node"]) for k, g in s.groupby("round")}, rate)


def summarize(per_round: pd.DataFrame, skip_rounds: int = 1) -> dict:
    """Mean accuracy after the first skip_rounds rounds, final accuracy, messages and CPU per round."""
    tail = per_round[per_round["round"] > per_round["round"].min() + skip_rounds - 1]
    return {"accuracy_mean": float(tail["accuracy"].mean()), "accuracy_final": float(per_round["accuracy"].iloc[-1]),
            "messages_per_round": float(per_round["messages"].mean()),
            "messages_total": int(per_round["messages"].sum()),
            "cpu_ms_per_round": 1e3 * float(per_round["cpu_s"].mean()),
            "rounds": int(len(per_round))}


def truth_run(topology: str, seed: int, rounds: int, period_s: float, out_dir: str | Path):
    """One Scenario-3 run (fig3's config and churn through bridge commands) with the truth topic."""
    cfg = scenario3_config(topology, seed, rounds, period_s)
    driver = ChurnDriver(cfg["topology"]["sensors"], seed, rounds)
    try:
        outcome = ns3_runner.run_scenario(cfg, out_dir, bridge=True, truth=True, on_start=driver.on_start,
                                          on_message=driver.on_message)
    finally:
        driver.close()
    return cfg, outcome


def default_policies(rate: float, seed: int) -> list:
    """The policies compared: fixed rates 0.2..1.0, right-time budgets 0.2..0.8 and the forecast policies."""
    fixed = [FixedRate(r, seed) for r in (0.2, 0.4, 0.6, 0.8, 1.0)]
    right = [RightTime(b, 1.0) for b in (0.2, 0.4, 0.6, 0.8)]
    return fixed + right + forecast_policies(seed)


def forecast_policies(seed: int, budgets=(0.4, 0.6, 0.8)) -> list:
    """Forecast-guided sync and fixed-rate sync with the same forecast, at equal messages per round."""
    return [p for b in budgets for p in (FixedRate(b, seed, estimator="forecast"), ForecastSync(b))]


def plot(df: pd.DataFrame, path: Path) -> None:
    """Twin accuracy vs messages per round (left) and CPU time per round (right)."""
    plt = pyplot()

    d = df[df.service == "sync"].copy()
    d["family"] = d.variant.str.split(" ").str[0].where(~d.variant.str.endswith("+forecast"), "fixed+forecast")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = {"fixed": ("#999999", "o", "--"), "right-time": ("#1f77b4", "s", "-"), "as": ("#d62728", "*", ""),
              "fixed+forecast": ("#2ca02c", "o", ":"), "forecast-guided": ("#9467bd", "D", "-")}
    for fam, part in d.groupby("family"):
        g = part.groupby("variant")[["messages_per_round", "accuracy_mean", "cpu_ms_per_round"]].mean()
        g = g.sort_values("messages_per_round")
        color, marker, ls = styles.get(fam, ("k", "x", ":"))
        label = {"as": "as run (bridge's sample)"}.get(fam, fam)
        axes[0].plot(g.messages_per_round, 100 * g.accuracy_mean, marker=marker, ls=ls or "none", color=color,
                     label=label, ms=9 if fam == "as" else 6)
        axes[1].plot(g.messages_per_round, g.cpu_ms_per_round, marker=marker, ls=ls or "none", color=color, label=label)
    axes[0].set_xlabel("sensor twins synced per round (messages)")
    axes[0].set_ylabel("twin accuracy (%), mean over rounds")
    axes[1].set_xlabel("sensor twins synced per round (messages)")
    axes[1].set_ylabel("twin-side CPU per round (ms)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Right-time (change-triggered, forecast-guided) vs fixed-rate synchronization", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
