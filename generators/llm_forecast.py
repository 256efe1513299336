"""The generator's forecast: the LLM reads per-sensor histories and answers a JSON-schema-validated forecast.

In   for each chosen sensor, its last observations (round, tx/rx/drop counters, queue, latency, active,
     report period), eq. 1's case and KPI weights, and the rounds to forecast.
Out  one object per sensor (schema built per call, `forecast_schema`):
       tx, rx, drop   packets per round from the last observation on (number, 0 .. a bound from the
                      fastest reporting period seen)
       q              packets in flight (integer >= 0)
       lat            mean latency, ms (number)
       act            0 or 1
       per            report period, s (one of the periods seen in the fleet, and half / double the
                      sensor's last)
     The state at a target round t follows: counter = last + rate x (t - last observed round), the rest as
     given. One answer serves every horizon.
Calls go through LLMClient.generate (schema validation, retries, audit, per-request seed). An invalid
answer forecasts nothing for its sensors.

How eq. 1's weights steer the generator (`attribute_weights`, `choose`): each KPI maps to the twin
attributes that carry it,
  rho (served share) -> active, rx_packets      d (on deadline) -> tx_packets, report_period_s
  l (latency)        -> latency_mean_ms         alpha (buffer)  -> buffer_drops, in_flight_packets
and the call budget goes to the sensors whose weighted expected forecast error
(generators.forecast.uncertainty with these attribute weights) is largest. The prompt also names the
case and the prioritized KPIs. In the accuracy case (rho, alpha) get 0.35 each, so sensors whose
activity, delivery or buffer state is least certain are generated first.
"""
from __future__ import annotations

import json
import math

from gaidt_bridge.node_ids import node_index

from . import forecast as fc

KPI_ATTRIBUTES = {"rho": ("active", "rx_packets"), "d": ("tx_packets", "report_period_s"),
                  "l": ("latency_mean_ms",), "alpha": ("buffer_drops", "in_flight_packets")}
KEYS = {"tx": "tx_packets", "rx": "rx_packets", "drop": "buffer_drops", "q": "in_flight_packets",
        "lat": "latency_mean_ms", "act": "active", "per": "report_period_s"}
HISTORY_ROWS = 4

__all__ = ["attribute_weights", "choose", "forecast_schema", "forecast_messages", "llm_forecast", "max_tokens_for"]


def attribute_weights(kpi_weights: dict) -> dict[str, float]:
    """Eq. 1's KPI weights as weights over the forecast attributes (module docstring)."""
    out = {}
    for kpi, attrs in KPI_ATTRIBUTES.items():
        for a in attrs:
            out[a] = out.get(a, 0.0) + float(kpi_weights.get(kpi, 0.0))
    return out


def choose(unc: dict[str, float], budget: int) -> list[str]:
    """The `budget` sensors of largest weighted uncertainty (ties: sensor index), in sensor order."""
    ranked = sorted(unc, key=lambda n: (-unc[n] if not math.isinf(unc[n]) else -1e18, node_index(n)))
    return fc.node_order(ranked[:max(0, budget)])


def _periods(obs: dict, node: str) -> list[float]:
    seen = {round(fc._nz(s.get("report_period_s")), 6) for h in obs.values() for _, s in h}
    last = fc._nz(obs[node][-1][1].get("report_period_s"))
    seen |= {round(last / 2, 6), round(last * 2, 6), round(last, 6)}
    return sorted(p for p in seen if p > 0)


def forecast_schema(obs: dict, nodes: list[str], round_s: float) -> dict:
    """Per-call JSON Schema: one object per sensor (module docstring)."""
    periods = [p for h in obs.values() for _, s in h if (p := fc._nz(s.get("report_period_s"))) > 0]
    max_rate = math.ceil(2 * round_s / min(periods or [round_s])) + 1
    props = {}
    for n in nodes:
        sub = {"tx": {"type": "number", "minimum": 0, "maximum": max_rate},
               "rx": {"type": "number", "minimum": 0, "maximum": max_rate},
               "drop": {"type": "number", "minimum": 0, "maximum": max_rate},
               "q": {"type": "integer", "minimum": 0, "maximum": 100},
               "lat": {"type": "number", "minimum": 0, "maximum": 1000},
               "act": {"enum": [0, 1]},
               "per": {"enum": _periods(obs, n)}}
        props[n] = {"type": "object", "additionalProperties": False, "required": list(sub), "properties": sub}
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


def _row(rnd: int, s: dict) -> str:
    v = {k: fc._nz(s.get(a)) for k, a in KEYS.items()}
    return (f"r{rnd}: tx {v['tx']:g} rx {v['rx']:g} drop {v['drop']:g} q {v['q']:g} lat {v['lat']:.1f} "
            f"act {v['act']:g} per {v['per']:g}")


def forecast_messages(obs: dict, nodes: list[str], origin: int, targets, round_s: float, schema: dict,
                      case: str = "", prioritized=()) -> list[dict]:
    """The chat messages asking the model to forecast nodes' states for the target rounds from their last
    observed rows."""
    lines = [f"{n}: " + "; ".join(_row(r, s) for r, s in obs[n][-HISTORY_ROWS:]) for n in nodes]
    focus = f" Scenario case: {case}; prioritized KPIs: {', '.join(prioritized)}." if case else ""
    user = (f"IoT sensor twins, round {origin} (one round = {round_s:g} s). Counters tx/rx/drop are cumulative "
            f"packets. Forecast each sensor for rounds {min(targets)}-{max(targets)}: packets per round from its "
            f"last row on (tx, rx, drop), packets in flight q, mean latency lat (ms), active act, report period "
            f"per (s).{focus}\n" + "\n".join(lines)
            + "\nAnswer JSON Schema: " + json.dumps(schema, separators=(",", ":")))
    return [{"role": "system", "content": "You forecast IoT sensor digital twins. Answer with one JSON object "
                                          "that follows the given JSON Schema, nothing else."},
            {"role": "user", "content": user}]


def max_tokens_for(n_sensors: int) -> int:
    """max_tokens for one call (about 50 tokens per sensor object)."""
    return 48 + 64 * n_sensors


def llm_forecast(client, obs: dict, nodes: list[str], origin: int, targets, round_s: float, *,
                 case: str = "", prioritized=(), sensors_per_call: int = 4) -> tuple[dict, list[dict]]:
    """(node -> target -> state, audit) for the given sensors; see the module docstring.

    audit: one {"nodes", "valid", "error"} per call.
    """
    targets = sorted(targets)
    nodes = [n for n in nodes if n in obs]
    out, audit = {}, []
    for i in range(0, len(nodes), max(1, sensors_per_call)):
        chunk = nodes[i:i + sensors_per_call]
        schema = forecast_schema(obs, chunk, round_s)
        msgs = forecast_messages(obs, chunk, origin, targets, round_s, schema, case, prioritized)
        cand = client.generate(msgs, schema, n=1, name="forecast", purpose="forecast",
                               extra_body={"max_tokens": max_tokens_for(len(chunk))})[0]
        audit.append({"nodes": chunk, "valid": cand.valid, "error": cand.error})
        if not cand.valid:
            continue
        for n in chunk:
            r_last, last = obs[n][-1]
            ans = cand.value[n]
            out[n] = {}
            for t in targets:
                s = dict(last)
                gap = max(0, t - r_last)
                for k, a in (("tx", "tx_packets"), ("rx", "rx_packets"), ("drop", "buffer_drops")):
                    s[a] = fc._nz(last.get(a)) + float(ans[k]) * gap
                s["in_flight_packets"] = float(ans["q"])
                s["latency_mean_ms"] = float(ans["lat"])
                s["active"] = float(ans["act"])
                s["report_period_s"] = float(ans["per"])
                out[n][t] = fc._finish(last, s)
    return out, audit
