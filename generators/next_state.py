"""Next-state fill-in of the stale sensors of one round (issue 4 item 7).

Fig. 3 no longer uses this module: it forecasts with generators.forecast (last value, linear, online
ridge, the ridge-stacked generator) and generators.llm_forecast (the model's schema-validated forecast),
which score against the truth per attribute and measure the model's contribution by ablation. This
module stays for callers that want a one-round fill-in with a hand-set blend.

Given the historical twins H (a HistoryStore.window() table) and the partially
synced real-time twin R (a TwinGraph whose stale sensors were not transferred
in its latest round), predict the state at round R.round + horizon of the
sensors R marks as not fresh.

Predicted attributes (PREDICTED): the cumulative counters tx_packets,
rx_packets, buffer_drops (never decrease) and latency_mean_ms (a running mean).
Other attributes (position, attached_gateway, ...) are carried from the last
transferred state.

1. Deterministic baseline (always computed):
   counter(target) = last transferred value + rate * (target_round - synced_round)
   rate: the sensor's own per-round rate from its last two transfers in H, or,
   if it has fewer than two, the mean per-round rate of the fresh sensors on the
   same gateway in H, else of all sensors, else 0. latency_mean_ms keeps its
   last value (a running mean moves slowly).
2. Generative step (when a client is given): the stale sensors, in chunks of
   max_llm_sensors, go to the model with their history and the baseline; its
   output is constrained by a per-call JSON Schema with one object per stale
   sensor whose numeric ranges are plausible bounds (counters between the last
   transferred value and baseline + band, band from the observed rates;
   latency within +-20% of its last value, or up to the peers' largest if the
   sensor has none yet). A
   valid answer is blended: value = (1 - llm_weight) * baseline + llm_weight * llm
   (counters rounded). An invalid answer (after the client's retries) leaves
   the baseline. With a 135M model on CPU, the baseline carries the accuracy;
   the schema keeps the model's numbers inside plausible bounds.

predict_next_state() returns a Prediction: per-node values, the source of each
(baseline / blend) and the audit of the model calls.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

COUNTERS = ("tx_packets", "rx_packets", "buffer_drops")
PREDICTED = (*COUNTERS, "latency_mean_ms")


@dataclass
class Prediction:
    round: int  # the predicted round
    values: dict  # node -> {attribute: value} for every stale sensor
    source: dict  # node -> "baseline" | "blend"
    baseline: dict  # node -> {attribute: value}, the deterministic prediction
    llm_calls: list = field(default_factory=list)  # {"nodes", "valid", "error"} per call


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _transfers(window, node: str):
    """The node's transferred rows in H (fresh rows), oldest first."""
    rows = window[(window["node"] == node) & (window["fresh"])]
    return rows.sort_values("round")


def _rates(window) -> tuple[dict, dict, dict]:
    """(per-sensor rate, per-gateway mean rate, population mean rate) for each counter."""
    own, by_gw, pop = {}, {}, {c: [] for c in COUNTERS}
    gw_acc: dict = {}
    if window is None or len(window) == 0:
        return own, by_gw, {c: 0.0 for c in COUNTERS}
    sens = window[(window["kind"] == "sensor") & (window["fresh"])]
    for node, rows in sens.groupby("node"):
        rows = rows.sort_values("round")
        if len(rows) < 2:
            continue
        a, b = rows.iloc[-2], rows.iloc[-1]
        gap = float(b["round"] - a["round"])
        if gap <= 0:
            continue
        r = {c: max(0.0, (_num(b.get(c)) or 0.0) - (_num(a.get(c)) or 0.0)) / gap for c in COUNTERS if c in rows}
        own[node] = r
        gw = _num(b.get("attached_gateway"))
        for c, v in r.items():
            pop[c].append(v)
            gw_acc.setdefault(gw, {}).setdefault(c, []).append(v)
    by_gw = {gw: {c: sum(v) / len(v) for c, v in d.items()} for gw, d in gw_acc.items()}
    return own, by_gw, {c: (sum(v) / len(v) if v else 0.0) for c, v in pop.items()}


def stale_sensors(realtime) -> list[str]:
    return sorted((n for n in realtime.sensors() if not realtime.nodes[n].get("fresh")),
                  key=lambda n: int(n.rsplit("-", 1)[1]))


def baseline_prediction(window, realtime, horizon: int = 1) -> tuple[int, dict, dict]:
    """(target round, node -> predicted values, node -> per-counter rate used) for R's stale sensors."""
    target = int(realtime.graph.get("round", 0)) + horizon
    own, by_gw, pop = _rates(window)
    values, rates = {}, {}
    for node in stale_sensors(realtime):
        d = realtime.nodes[node]
        synced = (d.get("$lastSync") or {}).get("round")
        synced = int(synced) if synced is not None else target - horizon
        gw = _num(d["properties"].get("attached_gateway"))
        rate = own.get(node) or by_gw.get(gw) or pop
        pred = {}
        for c in COUNTERS:
            last = _num(realtime.value(node, c)) or 0.0
            pred[c] = float(round(last + rate.get(c, 0.0) * max(0, target - synced)))
        lat = _num(realtime.value(node, "latency_mean_ms"))
        pred["latency_mean_ms"] = lat if lat is not None else 0.0
        values[node], rates[node] = pred, rate
    return target, values, rates


def prediction_schema(baseline: dict, rates: dict, realtime, horizon_rounds: dict) -> dict:
    """Per-call JSON Schema: one object per stale sensor, numeric ranges = plausible bounds."""
    lats = [_num(realtime.value(n, "latency_mean_ms")) for n in realtime.sensors()]
    latency_cap = max([x for x in lats if x] or [1.0])
    props = {}
    for node, pred in baseline.items():
        sub = {}
        for c in COUNTERS:
            last = int(_num(realtime.value(node, c)) or 0)
            band = max(2, math.ceil(2 * rates[node].get(c, 0.0) * horizon_rounds[node]) + 1)
            sub[c] = {"type": "integer", "minimum": last, "maximum": int(pred[c]) + band}
        lat = pred["latency_mean_ms"]
        # a running mean moves slowly: +-20% of the last value; none yet: up to the peers' largest
        lo, hi = (0.8 * lat, 1.2 * lat) if lat > 0 else (0.0, latency_cap)
        sub["latency_mean_ms"] = {"type": "number", "minimum": round(lo, 3), "maximum": round(max(hi, lo + 0.001), 3)}
        props[node] = {"type": "object", "additionalProperties": False, "required": list(sub), "properties": sub}
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


def _messages(chunk: list[str], baseline: dict, realtime, window, target: int, schema: dict) -> list[dict]:
    lines = []
    for node in chunk:
        d = realtime.nodes[node]
        synced = (d.get("$lastSync") or {}).get("round")
        hist = []
        if window is not None and len(window):
            for _, r in _transfers(window, node).tail(3).iterrows():
                hist.append(f"r{int(r['round'])}:" + "/".join(str(int(_num(r.get(c)) or 0)) for c in COUNTERS))
        last = {c: realtime.value(node, c) for c in PREDICTED}
        lines.append(f"{node}: gateway {int(_num(d['properties'].get('attached_gateway')) or -1)}, last sync round "
                     f"{synced}, last {json.dumps(last, separators=(',', ':'))}, history (tx/rx/drops) "
                     f"{' '.join(hist) or 'none'}, trend estimate {json.dumps(baseline[node], separators=(',', ':'))}")
    user = (f"Digital twin of an IoT network at round {realtime.graph.get('round')}. These sensors were not "
            f"synchronized; predict their state at round {target} (counters are cumulative and never decrease).\n"
            + "\n".join(lines) + "\nAnswer JSON Schema: " + json.dumps(schema, separators=(",", ":")))
    return [{"role": "system", "content": "You predict the next state of IoT sensor twins. Answer with one JSON "
                                          "object that follows the given JSON Schema, nothing else."},
            {"role": "user", "content": user}]


def predict_next_state(window, realtime, client=None, *, horizon: int = 1, llm_weight: float = 0.5,
                       max_llm_sensors: int = 6, max_llm_calls: int | None = None) -> Prediction:
    """Predict R's stale sensors at round R.round + horizon (see module docstring).

    window: HistoryStore.window(m) table (H); realtime: TwinGraph (R); client: an LLMClient or None
    (baseline only). max_llm_calls bounds the model calls (the rest stay baseline).
    """
    if not 0.0 <= llm_weight <= 1.0:
        raise ValueError(f"llm_weight = {llm_weight}: must be in [0, 1]")
    target, base, rates = baseline_prediction(window, realtime, horizon)
    values = {n: dict(v) for n, v in base.items()}
    source = {n: "baseline" for n in base}
    calls = []
    if client is not None and base and llm_weight > 0:
        nodes = list(base)
        chunks = [nodes[i:i + max_llm_sensors] for i in range(0, len(nodes), max(1, max_llm_sensors))]
        if max_llm_calls is not None:
            chunks = chunks[:max_llm_calls]
        for chunk in chunks:
            gap = {n: max(1, target - int(((realtime.nodes[n].get("$lastSync") or {}).get("round")) or target))
                   for n in chunk}
            schema = prediction_schema({n: base[n] for n in chunk}, rates, realtime, gap)
            msgs = _messages(chunk, base, realtime, window, target, schema)
            cand = client.generate(msgs, schema, n=1, name="next_state", purpose="next-state",
                                   extra_body={"max_tokens": max_tokens_for(len(chunk))})[0]
            calls.append({"nodes": chunk, "valid": cand.valid, "error": cand.error})
            if not cand.valid:
                continue
            for n in chunk:
                for c in PREDICTED:
                    b, m = base[n][c], float(cand.value[n][c])
                    v = (1 - llm_weight) * b + llm_weight * m
                    values[n][c] = float(round(v)) if c in COUNTERS else v
                source[n] = "blend"
    return Prediction(target, values, source, base, calls)


def max_tokens_for(n_sensors: int) -> int:
    """A max_tokens budget for one call of n_sensors (about 45 tokens per sensor object)."""
    return 64 + 48 * n_sensors
