"""Chat prompt for the scenario generator: compact, size-bounded, schema-carrying.

build_messages() turns the generator's inputs into [system, user] messages:
  - the scenario (fixed part) and the current values of the generatable fields;
  - the case of eq. 1 and the weights, and what O means;
  - the real-time twin R (latest TwinGraph): totals and per-gateway load;
  - the historical twins H (a HistoryStore window): per-round deltas and trends;
  - scored earlier candidates, worst to best (OPRO: the model sees what scored well);
  - the JSON Schema of the answer.
The user message is kept under max_chars by summarizing harder (fewer gateway
rows, fewer rounds, fewer scored candidates) instead of dumping a large topology:
a 1000-sensor twin yields the same size of prompt as a 50-sensor one.
"""
from __future__ import annotations

import json
import math

from .objective import KPIS

KPI_TEXT = {"rho": "share of sensors served", "d": "share of packets on time",
            "l": "latency score 1-latency/deadline", "alpha": "1 - buffer drop ratio"}

SYSTEM = ("You tune the network settings of an LTE smart-city IoT simulation (ns-3) to maximize a "
          "weighted objective O. Answer with one JSON object that follows the given JSON Schema, nothing else. "
          "Propose settings different from those already scored; keep what scored well, change what scored badly.")


def _f(x, nd=3):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{nd}g}"
    return str(x)


def scenario_text(cfg: dict, current: dict) -> str:
    """The prompt's description of the scenario and its current generated settings."""
    t, tr, n = cfg["topology"], cfg["traffic"], cfg["network"]
    return (f"Scenario: {t['sensors']} sensors, {t['gateways']} gateways, {t['area_m']:g} m square, "
            f"{t['placement']} placement, radio {cfg['radio']} ({cfg['radio_params']['resource_blocks']} RBs); "
            f"service {tr['service']}: {tr['ul_activity']:.0%} of sensors active per period of "
            f"{tr['report_period_s']:g} s, payload {tr['payload_bytes']['min']}-{tr['payload_bytes']['max']} bytes; "
            f"deadline {n['deadline_ms']:g} ms.\nCurrent settings: {json.dumps(current, separators=(',', ':'))}")


def case_text(case: str, weights: dict) -> str:
    """The prompt's statement of eq. 1's case and the objective's weights."""
    w = ", ".join(f"w_{k}={weights[k]:.2f} ({KPI_TEXT[k]})" for k in KPIS)
    return f"Case: {case}. Maximize O = sum w_i*T_i, each T_i in [0,1]: {w}."


def twin_text(graph, max_gateways: int) -> str:
    """Summary of the real-time twin (TwinGraph); gateways sorted by load, capped."""
    if graph is None:
        return ""
    sensors = graph.sensors()
    if not sensors:
        return "Real-time twin: no sensor state yet."
    v = graph.value
    tx = sum(v(s, "tx_packets", 0) or 0 for s in sensors)
    rx = sum(v(s, "rx_packets", 0) or 0 for s in sensors)
    drops = sum(v(s, "buffer_drops", 0) or 0 for s in sensors)
    att = sum(1 for s in sensors if (v(s, "attached", 0) or 0) > 0)
    lats = sorted(x for x in (v(s, "latency_mean_ms") for s in sensors) if x is not None and x == x and x > 0)
    fresh = graph.fresh_fraction("sensor")
    lat = f"median {_f(lats[len(lats) // 2])} ms, max {_f(lats[-1])} ms" if lats else "n/a"
    lines = [f"Real-time twin (round {graph.graph.get('round')}, {fresh:.0%} of sensors fresh): "
             f"{att}/{len(sensors)} attached, sent {int(tx)}, delivered {int(rx)}, buffer drops {int(drops)}, "
             f"sensor mean latency {lat}."]
    gws = sorted(graph.gateways(), key=lambda g: -(v(g, "attached_sensors", 0) or 0))
    if gws and max_gateways > 0:
        shown = gws if len(gws) <= max_gateways else gws[: max_gateways // 2] + gws[-(max_gateways - max_gateways // 2):]
        parts = [f"{g.split('-')[-1]}:{int(v(g, 'attached_sensors', 0) or 0)}s/{int(v(g, 'rx_packets', 0) or 0)}p"
                 for g in shown]
        more = f" (+{len(gws) - len(shown)} gateways in between)" if len(shown) < len(gws) else ""
        lines.append("Gateway load (id:sensors/delivered packets, most loaded first): " + " ".join(parts) + more)
    return "\n".join(lines)


def history_text(window, max_rounds: int) -> str:
    """Per-round sensor deltas of a HistoryStore.window() table and their linear trend."""
    if window is None or len(window) == 0:
        return ""
    s = window[window["kind"] == "sensor"]
    cols = [c for c in ("tx_packets", "rx_packets", "buffer_drops") if c in s.columns]
    if s.empty or not cols:
        return ""
    per = s.groupby("round")[cols].sum().sort_index()
    lat = s.groupby("round")["latency_mean_ms"].mean() if "latency_mean_ms" in s.columns else None
    delta = per.diff().dropna()
    if delta.empty:
        return ""
    rounds = list(delta.index)
    step = max(1, math.ceil(len(rounds) / max_rounds))
    sample = rounds[::step][-max_rounds:]
    rows = []
    for r in sample:
        d = delta.loc[r]
        rows.append(f"r{r}:" + "/".join(str(int(d[c])) for c in cols)
                    + (f"/{_f(float(lat.loc[r]), 3)}ms" if lat is not None else ""))
    import numpy as np

    trend = []
    x = np.arange(len(delta), dtype=float)
    for c in cols:
        if len(delta) >= 2:
            trend.append(f"{c} {np.polyfit(x, delta[c].to_numpy(float), 1)[0]:+.2f}/round")
    return (f"History ({len(per)} rounds; per round {'/'.join(cols)}{'/mean latency' if lat is not None else ''}): "
            + " ".join(rows) + (". Trend: " + ", ".join(trend) if trend else ""))


def scored_text(scored: list[dict], max_items: int) -> str:
    """Earlier candidates with their measured O, worst to best (best last, as OPRO does)."""
    done = [c for c in scored if c.get("O") is not None]
    if not done:
        return ""
    best = sorted(done, key=lambda c: c["O"])[-max_items:]
    lines = []
    for c in best:
        t = " ".join(f"{k}={c['T'][k]:.3f}" for k in KPIS)
        lines.append(f"{json.dumps(c['values'], separators=(',', ':'))} -> O={c['O']:.4f} (T: {t})")
    return "Scored settings, worst to best:\n" + "\n".join(lines)


def build_messages(cfg: dict, current: dict, case: str, weights: dict, schema: dict, *, graph=None,
                   window=None, scored: list[dict] | None = None, max_chars: int = 4500) -> list[dict]:
    """The [system, user] chat messages; the user message stays within max_chars when at all possible."""
    schema_txt = "Answer JSON Schema: " + json.dumps(schema, separators=(",", ":"))
    fixed = [scenario_text(cfg, current), case_text(case, weights)]
    for gw, rounds, items in ((12, 8, 8), (8, 6, 5), (4, 4, 3), (2, 2, 2), (0, 0, 1)):
        parts = fixed + [twin_text(graph, gw),
                         history_text(window, rounds) if rounds else "", scored_text(scored or [], items),
                         schema_txt]
        user = "\n".join(p for p in parts if p)
        if len(user) <= max_chars:
            break
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
