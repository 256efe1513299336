"""Planned Truck Routing (PTR) for waste collection: an SVM picks the bins, a CVRP heuristic routes trucks.

Bins are the city's sensors. ns-3 has no fill-level model (its `fill_level`
column is always 0), so fill levels come from FillModel: a deterministic,
seeded process per bin on the Python side. The twin knows a bin's level only
through the network: in a planning round the twin learns a bin's current
level when it sees that bin's sensor deliver a packet (its rx_packets grew
between two of its synced rows in the historical twin), i.e. the reading
rides on the sensor's delivered packets; lost, late-synced or never-sent
packets leave the twin with an old reading. Collections are known to the twin
(truck logs) and empty the bin.

Input    the historical twin of a run (history.sqlite table: per sensor
         x_m, y_m, rx_packets per round) and a FillModel; a road graph
         (routing.street_grid over the city area, or a GraphML file).
Time     one planning round = `rounds_per_plan` twinning rounds (default 10 =
         1 s at the examples' 0.1 s period; a "day" of the fill process). The
         first `train_fraction` of the planning rounds is the history (bins
         collected on the fixed schedule, as the city did), the rest is evaluated.
Action   per planning round: the bins to collect now, then truck routes.
           svm       scikit-learn SVC (RBF kernel, balanced classes, standardized
                     features), trained on the history, predicts the bins whose
                     level will reach capacity by the next round if left alone.
                     Features from the twin only: last known level (a reading, or
                     0 after a collection), rounds since it, the bin's fill rate
                     estimated from consecutive readings (the fleet mean until it
                     has two), and their projection to the next round.
           rule      the same projection >= 1, no learning (an ablation).
           fixed-F   every bin every F rounds (the fixed collection schedule).
           oracle    the true next-round level >= 1 (a bound, not a policy).
         Routing: routing.solve_cvrp (nearest neighbour with capacity + 2-opt)
         from a depot at the road node nearest the city's corner (0, 0); truck
         capacity in bins (a bin's load is its level, capped at 1).
Metrics  overflow events (bin-rounds at or above capacity before collection),
         overflowed bins (distinct), distance driven (km), bins collected, truck
         routes; for svm also precision and recall of its picks on the evaluated rounds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gaidt.plotting import pyplot
from gaidt_bridge.node_ids import node_index

from . import routing
from .twin_data import TwinDataError, require_columns

FEATURES = ("projected", "last_level", "age_rounds", "rate_per_round")


@dataclass
class FillModel:
    """Seeded fill process: bin i gains rate_i x Gamma(4, 1/4) of its capacity per planning round.

    A planning round stands for a collection day. Rates are log-uniform in
    [rate_lo, rate_hi]: by default a bin fills in 2 to 14 days on average, the
    spread between busy street bins and quiet residential ones. Initial levels
    are uniform in [0, initial_hi]. Increments are drawn once per (round, bin),
    so every policy meets the same waste (common random numbers).
    """
    n_bins: int
    seed: int = 1
    rate_lo: float = 1 / 14
    rate_hi: float = 1 / 2
    initial_hi: float = 0.6

    def draw(self, n_rounds: int) -> tuple[np.ndarray, np.ndarray]:
        """Seeded initial fill levels and per-round fill increments (rounds x bins)."""
        rng = np.random.default_rng([self.seed, 424242])
        rates = np.exp(rng.uniform(math.log(self.rate_lo), math.log(self.rate_hi), self.n_bins))
        initial = rng.uniform(0.0, self.initial_hi, self.n_bins)
        inc = rates[None, :] * rng.gamma(4.0, 0.25, (n_rounds, self.n_bins))
        return initial, inc


def bins_from_history(history: pd.DataFrame) -> pd.DataFrame:
    """Bin positions (one row per sensor: node, x_m, y_m), from the historical twin."""
    require_columns(history, ("x_m", "y_m", "rx_packets"), "ptr")
    s = history[history["kind"] == "sensor"]
    if s.empty:
        raise TwinDataError("ptr: the historical twin has no sensor rows (bins)")
    pos = s.sort_values("round").groupby("node")[["x_m", "y_m"]].last().reset_index()
    pos["i"] = pos["node"].map(node_index)
    return pos.sort_values("i").reset_index(drop=True)


def deliveries(history: pd.DataFrame, n_bins: int, rounds_per_plan: int) -> np.ndarray:
    """bool [planning round, bin]: the twin saw the bin's sensor deliver a packet in that planning round."""
    require_columns(history, ("rx_packets",), "ptr")
    s = history[history["kind"] == "sensor"].sort_values(["node", "round"])
    n_plan = int(history["round"].max()) // rounds_per_plan + 1
    out = np.zeros((n_plan, n_bins), dtype=bool)
    for node, part in s.groupby("node"):
        i = node_index(node)
        rx = part["rx_packets"].to_numpy()
        grew = np.diff(rx, prepend=0.0) > 0
        for r in part["round"].to_numpy()[grew]:
            out[int(r) // rounds_per_plan, i] = True
    if not out.any():
        raise TwinDataError("ptr: no fill-level reading reached the twin: no sensor's rx_packets ever grew in the "
                            "historical twin (no packet delivered); bins cannot be observed")
    return out


def check_twin_fill_telemetry(history: pd.DataFrame) -> None:
    """For fill levels published by the physical twin itself: raise unless the twin carries them."""
    if "fill_level" not in history.columns:
        raise TwinDataError("ptr: the twin has no fill-level telemetry (no sensor column fill_level)")
    s = history[history["kind"] == "sensor"]["fill_level"]
    if s.isna().all() or (s.fillna(0) == 0).all():
        raise TwinDataError("ptr: the twin's fill_level is 0 for every sensor and round: the physical twin "
                            "(ns-3) has no fill-level model; use the Python fill model (services.ptr.FillModel)")


@dataclass
class Knowledge:
    """What the twin knows of each bin (from readings and truck logs)."""
    n: int
    prior_level: float = 0.3
    prior_rate: float = 0.15
    last_level: np.ndarray = None
    last_round: np.ndarray = None
    read_level: np.ndarray = None  # the latest reading since the last collection (nan: none)
    read_round: np.ndarray = None
    rate_sum: np.ndarray = None
    rate_n: np.ndarray = None

    def __post_init__(self):
        self.last_level = np.full(self.n, np.nan)
        self.last_round = np.full(self.n, -1.0)
        self.read_level = np.full(self.n, np.nan)
        self.read_round = np.full(self.n, np.nan)
        self.rate_sum = np.zeros(self.n)
        self.rate_n = np.zeros(self.n)

    def reading(self, p: int, bins: np.ndarray, levels: np.ndarray) -> None:
        """Take the fill levels read from bins at planning round p (updates each bin's measured rate)."""
        for i, lv in zip(bins, levels):
            if not np.isnan(self.read_level[i]) and lv < 1.0 and p > self.read_round[i]:
                self.rate_sum[i] += (lv - self.read_level[i]) / (p - self.read_round[i])
                self.rate_n[i] += 1
            self.read_level[i], self.read_round[i] = lv, p
            self.last_level[i], self.last_round[i] = lv, p

    def collected(self, p: int, bins) -> None:
        """Record that bins were emptied at planning round p."""
        for i in bins:
            self.last_level[i], self.last_round[i] = 0.0, p
            self.read_level[i], self.read_round[i] = 0.0, p  # a rate may be measured from empty

    def features(self, p: int) -> np.ndarray:
        """Per-bin features at planning round p: projected level, last level, age of the reading, rate."""
        known = self.rate_n > 0
        fleet = float(np.mean(self.rate_sum[known] / self.rate_n[known])) if known.any() else self.prior_rate
        rate = np.where(known, self.rate_sum / np.maximum(self.rate_n, 1), fleet)
        last = np.where(np.isnan(self.last_level), self.prior_level, self.last_level)
        age = p - self.last_round
        projected = last + rate * (age + 1)
        return np.column_stack([projected, last, age, rate])


@dataclass
class Plan:
    """The city's PTR set-up: road graph, depot, bin stops and their distance matrix."""
    graph: object
    depot_node: object
    bin_nodes: list
    dist: np.ndarray  # [0] depot, [1 + i] bin i
    capacity_bins: float = 12.0

    @classmethod
    def build(cls, bins: pd.DataFrame, graph=None, area_m: float | None = None, capacity_bins: float = 12.0,
              block_m: float = 100.0):
        """A collection plan over bins: the road graph (default: a street grid over the area), the depot and the
        truck's capacity."""
        if graph is None:
            if area_m is None:
                area_m = float(max(bins["x_m"].max(), bins["y_m"].max()))
            graph = routing.street_grid(area_m, block_m)
        routing.check_road_graph(graph, graph.graph.get("name", "road graph"))
        xy = bins[["x_m", "y_m"]].to_numpy()
        bin_nodes = routing.nearest_nodes(graph, xy)
        depot = routing.nearest_nodes(graph, np.array([[0.0, 0.0]]))[0]
        dist = routing.distance_matrix(graph, [depot, *bin_nodes])
        return cls(graph, depot, bin_nodes, dist, capacity_bins)

    def route(self, bins: list[int], loads: np.ndarray) -> tuple[float, int]:
        """(distance m, routes) to collect `bins` with the given loads (bins of capacity)."""
        if not bins:
            return 0.0, 0
        idx = [0] + [1 + i for i in bins]
        sub = self.dist[np.ix_(idx, idx)]
        demands = np.concatenate([[0.0], np.minimum(loads, 1.0)])
        routes = routing.solve_cvrp(sub, demands, self.capacity_bins, depot=0)
        return sum(routing.route_length(sub, r, 0) for r in routes), len(routes)


@dataclass
class Episode:
    """One policy over planning rounds [start, end): metrics and the per-round log."""
    policy: str
    overflow_events: int = 0
    overflowed_bins: set = field(default_factory=set)
    distance_m: float = 0.0
    collections: int = 0
    routes: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    samples: list = field(default_factory=list)  # (features, label) per bin and round (training data)

    def metrics(self) -> dict:
        """The episode's results: overflow events and bins, distance (km), collections, routes, and
        precision/recall of the collection decisions."""
        out = {"overflow_events": self.overflow_events, "overflowed_bins": len(self.overflowed_bins),
               "distance_km": self.distance_m / 1e3, "collections": self.collections, "routes": self.routes}
        if self.tp + self.fp + self.fn:
            out["precision"] = self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan
            out["recall"] = self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan
        return out


def simulate(policy, plan: Plan, delivered: np.ndarray, initial: np.ndarray, inc: np.ndarray,
             start: int, end: int, level0: np.ndarray | None = None, knowledge: Knowledge | None = None,
             name: str = "") -> tuple[Episode, np.ndarray, Knowledge]:
    """Run one collection policy over planning rounds [start, end) (module docstring: timeline).

    policy(p, features, knowledge, true_next) -> indices of the bins to collect.
    Returns the episode, the true levels at `end` and the twin's knowledge.
    """
    n = len(initial)
    level = (initial if level0 is None else level0).copy()
    know = knowledge or Knowledge(n)
    ep = Episode(name)
    for p in range(start, end):
        over = np.flatnonzero(level >= 1.0)
        ep.overflow_events += len(over)
        ep.overflowed_bins.update(over.tolist())
        seen = np.flatnonzero(delivered[p]) if p < len(delivered) else np.array([], int)
        know.reading(p, seen, np.minimum(level[seen], 1.0))
        feats = know.features(p)
        true_next = level + inc[p]
        label = true_next >= 1.0
        ep.samples.append((feats, label))
        chosen = sorted(set(int(i) for i in policy(p, feats, know, true_next)))
        picked = np.zeros(n, bool)
        picked[chosen] = True
        ep.tp += int((picked & label).sum())
        ep.fp += int((picked & ~label).sum())
        ep.fn += int((~picked & label).sum())
        d, r = plan.route(chosen, level[chosen])
        ep.distance_m += d
        ep.routes += r
        ep.collections += len(chosen)
        know.collected(p, chosen)
        level[chosen] = 0.0
        level = level + inc[p]
    return ep, level, know


def fixed_schedule(every: int, offset: int = 0):
    """A policy collecting every bin every `every` planning rounds (shifted by offset)."""
    def policy(p, feats, know, true_next):
        return range(len(feats)) if (p - offset) % every == every - 1 else []
    return policy


def rule_policy(p, feats, know, true_next):
    """Collect the bins whose projected level reaches 1 (full)."""
    return np.flatnonzero(feats[:, 0] >= 1.0)


def oracle_policy(p, feats, know, true_next):
    """Collect the bins that will really be full next round (an upper bound; it sees the truth)."""
    return np.flatnonzero(true_next >= 1.0)


def train_svm(samples: list, seed: int = 0):
    """Fit the SVM on (features, label) samples of the historical twins; raises TwinDataError
    when the history holds a single class (nothing to learn from)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X = np.vstack([f for f, _ in samples])
    y = np.concatenate([lab for _, lab in samples]).astype(int)
    if len(np.unique(y)) < 2:
        raise TwinDataError(f"ptr: the historical twins hold only {'full' if y.all() else 'non-full'} bins "
                            f"({len(y)} samples); the SVM needs both classes: use a longer history")
    model = make_pipeline(StandardScaler(), SVC(kernel="rbf", C=10.0, gamma="scale", class_weight="balanced",
                                                random_state=seed))
    model.fit(X, y)
    return model


def svm_policy(model):
    """A policy collecting the bins a trained SVM classifies as due."""
    def policy(p, feats, know, true_next):
        return np.flatnonzero(model.predict(feats) == 1)
    return policy


def evaluate(history: pd.DataFrame, fill: FillModel, *, rounds_per_plan: int = 10, train_fraction: float = 0.5,
             schedule_every=(2, 3), history_schedule: int = 3, graph=None, area_m: float | None = None,
             capacity_bins: float = 12.0) -> dict:
    """Train on the first part of the history, evaluate every policy on the rest: name -> metrics."""
    bins = bins_from_history(history)
    if len(bins) != fill.n_bins:
        raise TwinDataError(f"ptr: the fill model has {fill.n_bins} bins but the twin has {len(bins)} sensors")
    delivered = deliveries(history, fill.n_bins, rounds_per_plan)
    n_plan = len(delivered)
    split = int(round(train_fraction * n_plan))
    if split < 2 or n_plan - split < 2:
        raise TwinDataError(f"ptr: the historical twin spans {n_plan} planning rounds of {rounds_per_plan} "
                            f"twinning rounds; need >= 4 (>= 2 to train and >= 2 to evaluate)")
    plan = Plan.build(bins, graph, area_m, capacity_bins)
    initial, inc = fill.draw(n_plan)
    hist_ep, level_split, know_split = simulate(fixed_schedule(history_schedule), plan, delivered, initial, inc,
                                                0, split, name="history")
    model = train_svm(hist_ep.samples)
    policies = {"svm": svm_policy(model), "rule": rule_policy,
                **{f"fixed-{f}": fixed_schedule(f, offset=split) for f in schedule_every}, "oracle": oracle_policy}
    out = {}
    for name, pol in policies.items():
        know = Knowledge(fill.n_bins)
        for attr in ("last_level", "last_round", "read_level", "read_round", "rate_sum", "rate_n"):
            setattr(know, attr, getattr(know_split, attr).copy())
        ep, _, _ = simulate(pol, plan, delivered, initial, inc, split, n_plan, level0=level_split, knowledge=know,
                            name=name)
        n_train = int(sum(len(lab) for _, lab in hist_ep.samples))
        out[name] = ep.metrics() | {"rounds": n_plan - split, "train_samples": n_train}
    return out


def plot(df: pd.DataFrame, path: Path) -> None:
    """Overflow events vs distance driven, one point per policy and seed."""
    plt = pyplot()

    d = df[df.service == "ptr"]
    fig, ax = plt.subplots(figsize=(6.4, 4.3))
    colors = {"svm": "#1f77b4", "rule": "#2ca02c", "oracle": "#000000", "fixed-2": "#7f7f7f", "fixed-3": "#bcbd22"}
    extra = iter(("#8c564b", "#e377c2", "#17becf", "#ff7f0e"))
    for variant, part in d.groupby("variant"):
        c = colors.get(variant) or next(extra, "#999999")
        marker = "*" if variant == "oracle" else ("s" if variant.startswith("fixed") else "o")
        ax.scatter(part.distance_km, part.overflow_events, color=c, marker=marker, s=25, alpha=0.45)
        mx, my = part.distance_km.mean(), part.overflow_events.mean()
        ax.scatter([mx], [my], color=c, marker=marker, s=110, edgecolor="white", label=f"{variant} (mean)")
        ax.annotate(variant, (mx, my), fontsize=8, xytext=(6, 4), textcoords="offset points", color=c)
    ax.set_xlabel("distance driven (km)")
    ax.set_ylabel("overflow events (bin-rounds)")
    ax.set_title("PTR: SVM-picked collection vs fixed schedule\n(small points: one seed; large: mean)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
