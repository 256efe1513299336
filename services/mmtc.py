"""mMTC (massive connectivity): per-gateway service at 20/45/70% simultaneous UL activity,
and access/association settings chosen from the twin.

Input    the twin of a run with the bridge: the real-time twin (TwinGraph) at
         the end of the run (sensor twins: attached_gateway, tx_packets,
         tx_bytes, rx_packets, late_packets, buffer_drops; gateway twins:
         attached_sensors, rx_bytes) and the historical twins (HistoryStore
         table: the gateways' rx_bytes per round, i.e. how fast each cell
         drained a burst).
Action   a candidate in the generator's vocabulary (generators.generation_schema
         FIELDS: association, access_spread_s, buffer_bytes), compiled into a
         config by generators.compile.compile_candidate, so the service and the
         generator propose the same fields and pass the same checks:
           association     load_balanced when a gateway carries > 15% more
                           sensors than the mean, else unchanged; if the tuned
                           run then leaves sensors unattached (a gateway out of
                           their reach), the association is kept and the rest
                           applied (run_level: what-if in the twin first);
           access_spread_s when the synchronized burst overflows buffers (dropped
                           packets; lateness alone is not repaired by deferral,
                           which latency from the due time counts):
                           1.5 x the airtime of the largest per-gateway burst
                           (active sensors x mean payload / the cell's peak
                           drain rate seen in the history), within
                           [current, report_period_s / 2]; else unchanged;
           buffer_bytes    when the RLC buffers dropped packets: double it
                           (at least 4 x payload max, at most 1 MB); else unchanged.
Metrics  per gateway, from the twin: served-device ratio (sensors attached to it
         with rx >= 0.9 x tx, or nothing to send; the result schema's `served`),
         delivery ratio (rx / tx of its sensors) and throughput (8 x its rx_bytes
         / duration_s, bit/s); for the base config and the tuned one. When the
         twin carries energy (the sensors' battery component, energy_j: issue 16),
         also the mean radio energy per sensor (J) of its sensors.
The sensor twins are those last synced (twinning rate r < 1 leaves some a
round stale), so twin metrics can differ slightly from ns-3's result, which
tests/test_services.py bounds.

Energy against latency (issue 16): run_power runs the base config and one what-if
run per power setting of POWER_OPTIONS (generator keys POWER_FIELDS: power_mode,
drx_cycle_ms, rrc_release_s, edrx_cycle_s, t3324_s; compiled by compile_candidate
like every other action), reads from each run's twin the mean radio energy per
sensor (energy_j), the mean one-way latency (latency_mean_ms, weighted by delivered
packets) and the deadline success ((rx - late) / tx of the sensor twins), and picks
the setting with the least energy per sensor whose deadline success is at least the
base's minus ON_TIME_SLACK (or a given floor). power_table rows are the trade
(services' mmtc_energy.csv, plot_power: energy vs latency per option).
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd

from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.plotting import pyplot
from gaidt_bridge.node_ids import node_index
from generators.compile import compile_candidate
from generators.generation_schema import POWER_FIELDS, current_values

from .twin_data import TwinDataError, history_table, require_columns, require_graph

ACTIVITY_LEVELS = (0.2, 0.45, 0.7)
FIELDS = ("association", "access_spread_s", "buffer_bytes")  # keys of generators.generation_schema.FIELDS
SENSOR_ATTRS = ("attached_gateway", "tx_packets", "tx_bytes", "rx_packets", "late_packets", "buffer_drops")
IMBALANCE = 0.15
STRESS = {"access_spread_s": 0.002, "payload_max_bytes": 1500, "buffer_bytes": 2000}
# What-if power settings (generator keys; unnamed keys keep the base config's value). The release
# and T3324 are short so that a sensor reporting every few seconds does reach idle or PSM.
POWER_OPTIONS = (
    {"power_mode": "always_on"},
    {"power_mode": "drx", "drx_cycle_ms": 320},
    {"power_mode": "drx", "drx_cycle_ms": 1280},
    {"power_mode": "edrx", "rrc_release_s": 1.0, "edrx_cycle_s": 20.48},
    {"power_mode": "psm", "rrc_release_s": 1.0, "t3324_s": 0.0},
)
ON_TIME_SLACK = 0.01  # a power setting may cost at most 1 point of deadline success against the base
POWER_REPORT_PERIOD_S = 5.0  # the energy trade's scenario: a report every 5 s (the example: 1 s)
POWER_DURATION_S = 20.0


def base_config(topology: str = "small", seed: int = 1, activity: float = 0.45, duration_s: float | None = None,
                stressed: bool = False) -> dict:
    """The example topology as an mMTC scenario: `activity` of the sensors request UL in each
    period, simultaneously (synchronized periods, within access_spread_s), payloads as in the example.

    stressed=True: the same city with access settings that congest it (STRESS: 2 ms access
    spread, payloads up to 1500 B, 2000 B RLC buffers), for the service to repair; the examples
    themselves are not congested at 20-70% activity.
    """
    cfg = copy.deepcopy(configmod.example(topology))
    cfg.update(seed=int(seed), name=f"{topology}-mmtc{'-stress' if stressed else ''}-{int(round(100 * activity))}")
    if duration_s is not None:
        cfg["duration_s"] = float(duration_s)
    cfg["traffic"].update(service="mmtc", ul_activity=float(activity), synchronized_periods=True)
    if stressed:
        cfg["traffic"].update(access_spread_s=STRESS["access_spread_s"],
                              payload_bytes={"min": cfg["traffic"]["payload_bytes"]["min"],
                                             "max": STRESS["payload_max_bytes"]})
        cfg["network"]["buffer_bytes"] = STRESS["buffer_bytes"]
    return configmod.validate(cfg)


def gateway_metrics(graph, duration_s: float) -> list[dict]:
    """Per-gateway served-device ratio, delivery ratio and throughput from the real-time twin."""
    require_graph(graph, "mmtc", sensor_attrs=SENSOR_ATTRS, gateway_attrs=("rx_bytes", "attached_sensors"))
    per: dict[int, dict] = {}
    for gw in graph.gateways():
        g = node_index(gw)
        per[g] = {"gateway": g, "attached_sensors": int(graph.value(gw, "attached_sensors")),
                  "throughput_bps": 8.0 * graph.value(gw, "rx_bytes") / duration_s,
                  "tx": 0.0, "rx": 0.0, "late": 0.0, "drops": 0.0, "served": 0, "sensors": 0,
                  "energy": 0.0, "energy_n": 0}
    for node in graph.sensors():
        g = int(graph.value(node, "attached_gateway"))
        if g not in per:
            continue
        p = per[g]
        tx, rx = graph.value(node, "tx_packets"), graph.value(node, "rx_packets")
        p["sensors"] += 1
        p["served"] += int(tx == 0 or rx >= 0.9 * tx)
        p["tx"] += tx
        p["rx"] += rx
        p["late"] += graph.value(node, "late_packets")
        p["drops"] += graph.value(node, "buffer_drops")
        energy = graph.value(node, "energy_j")
        if energy is not None:
            p["energy"] += energy
            p["energy_n"] += 1
    rows = []
    for g, p in sorted(per.items()):
        rows.append({"gateway": g, "attached_sensors": p["attached_sensors"],
                     "served_ratio": p["served"] / p["sensors"] if p["sensors"] else math.nan,
                     "delivery_ratio": p["rx"] / p["tx"] if p["tx"] else math.nan,
                     "throughput_bps": p["throughput_bps"],
                     "late_ratio": p["late"] / p["tx"] if p["tx"] else math.nan,
                     "drop_ratio": p["drops"] / p["tx"] if p["tx"] else math.nan,
                     "tx_packets": p["tx"], "rx_packets": p["rx"],
                     "energy_mean_j": p["energy"] / p["energy_n"] if p["energy_n"] else math.nan})
    return rows


def peak_drain_bps(history: pd.DataFrame) -> dict[int, float]:
    """Per gateway: the highest UL goodput between two stored rounds (bit/s), from the historical twins."""
    require_columns(history, ("rx_bytes",), "mmtc")
    gw = history[history["kind"] == "gateway"].sort_values("round")
    if gw.empty:
        raise TwinDataError("mmtc: the historical twin has no gateway rows (rx_bytes per round)")
    out = {}
    for node, part in gw.groupby("node"):
        dt = part["sim_time_s"].diff().to_numpy()[1:]
        db = part["rx_bytes"].diff().to_numpy()[1:]
        ok = dt > 0
        out[node_index(node)] = float(np.max(8 * db[ok] / dt[ok])) if ok.any() else math.nan
    return out


def recommend(graph, history: pd.DataFrame, cfg: dict) -> tuple[dict, list[str]]:
    """(candidate in the generator's vocabulary, one reason per field) from the twin of a run of cfg."""
    current = current_values(cfg, FIELDS)
    rows = gateway_metrics(graph, cfg["duration_s"])
    cand, why = dict(current), []
    attached = np.array([r["attached_sensors"] for r in rows], float)
    if len(attached) > 1 and attached.max() > (1 + IMBALANCE) * attached.mean():
        cand["association"] = "load_balanced"
        why.append(f"association: gateway loads {attached.astype(int).tolist()} (max > {1 + IMBALANCE:.2f} x mean)")
    else:
        why.append(f"association: loads {attached.astype(int).tolist()} balanced enough; kept {current['association']}")
    tx = sum(r["tx_packets"] for r in rows)
    late = sum(r["late_ratio"] * r["tx_packets"] for r in rows if r["tx_packets"])
    drops = sum(r["drop_ratio"] * r["tx_packets"] for r in rows if r["tx_packets"])
    period = float(cfg["traffic"]["report_period_s"])
    # Spreading access defers reports: latency counts from the due time, so a spread only pays where
    # the synchronized burst overflows the sensors' buffers (drops); lateness alone it makes worse
    # (measured in tests/test_services.py: late ratio 0.47 -> 0.66 with no drops).
    if tx and drops / tx > 0.01:
        drain = peak_drain_bps(history)
        total_bytes = sum(graph.value(n, "tx_bytes") for n in graph.sensors())
        mean_bytes = total_bytes / max(1.0, sum(graph.value(n, "tx_packets") for n in graph.sensors()))
        periods = max(1.0, cfg["duration_s"] / period)
        airtimes = []
        for r in rows:
            burst_bytes = r["tx_packets"] / periods * mean_bytes  # active sensors per period x mean payload
            rate = drain.get(r["gateway"], math.nan)
            if rate and rate > 0 and not math.isnan(rate):
                airtimes.append(8 * burst_bytes / rate)
        need = 1.5 * max(airtimes) if airtimes else period / 4
        spread = float(min(max(need, current["access_spread_s"]), period / 2))
        cand["access_spread_s"] = spread
        why.append(f"access_spread_s: {100 * (late + drops) / tx:.1f}% late or dropped; largest burst airtime "
                   f"{1e3 * (max(airtimes) if airtimes else math.nan):.1f} ms -> {spread * 1e3:.1f} ms")
    else:
        why.append(f"access_spread_s: {100 * drops / tx if tx else 0:.1f}% dropped (< 1%); {100 * late / tx if tx else 0:.1f}% "
                   "late, which deferral would only lengthen; kept")
    if drops > 0:
        buf = int(min(1_000_000, max(2 * current["buffer_bytes"], 4 * cfg["traffic"]["payload_bytes"]["max"])))
        cand["buffer_bytes"] = buf
        why.append(f"buffer_bytes: {int(drops)} buffer drops -> {buf} B")
    else:
        why.append("buffer_bytes: no buffer drops; kept")
    return cand, why


def tuned_config(cfg: dict, candidate: dict) -> dict:
    """The candidate compiled by the generator's compiler (same vocabulary, same checks)."""
    comp = compile_candidate(cfg, candidate, fields=FIELDS)
    if not comp.ok:
        raise configmod.ConfigError(f"mmtc: recommended settings rejected: {comp.reason}")
    return dict(comp.config, name=cfg.get("name", "scenario") + "-tuned")


def run_level(topology: str, seed: int, activity: float, out_dir: str | Path, duration_s: float | None = None,
              stressed: bool = False) -> dict:
    """Base run -> twin metrics -> recommendation -> tuned run -> twin metrics (one activity level).
    A recommendation equal to the base config is not run again (tuned = base, `unchanged`)."""
    out = Path(out_dir)
    cfg = base_config(topology, seed, activity, duration_s, stressed)
    base = ns3_runner.run_scenario(cfg, out / "base", bridge=True)
    hist = history_table(out / "base" / "history.sqlite", "mmtc")
    cand, why = recommend(base.graph, hist, cfg)
    tuned_cfg = tuned_config(cfg, cand)
    unchanged = current_values(tuned_cfg, FIELDS) == current_values(cfg, FIELDS)
    try:
        tuned = base if unchanged else ns3_runner.run_scenario(tuned_cfg, out / "tuned", bridge=True)
    except ns3_runner.AttachError as e:
        # what-if first: load balancing can hand a sensor to a gateway it cannot reach; the twin run
        # shows it, so keep the association and apply the rest
        if cand["association"] == cfg["network"]["association"]:
            raise
        why.append(f"association: {cand['association']} left sensors unattached in the twin "
                   f"({str(e).splitlines()[0][-120:]}); kept {cfg['network']['association']}")
        cand = dict(cand, association=cfg["network"]["association"])
        tuned_cfg = tuned_config(cfg, cand)
        unchanged = current_values(tuned_cfg, FIELDS) == current_values(cfg, FIELDS)
        tuned = base if unchanged else ns3_runner.run_scenario(tuned_cfg, out / "tuned-2", bridge=True)
    res = {"candidate": cand, "reasons": why, "unchanged": unchanged, "variants": {}}
    for name, o, c in (("base", base, cfg), ("tuned", tuned, tuned_cfg)):
        res["variants"][name] = {"gateways": gateway_metrics(o.graph, c["duration_s"]),
                                 "result_gateways": o.result["gateways"], "kpis": o.result["kpis"]}
    return res


def power_config(topology: str = "small", seed: int = 1, activity: float = 0.45,
                 duration_s: float = POWER_DURATION_S, report_period_s: float = POWER_REPORT_PERIOD_S,
                 deadline_ms: float | None = None, **topology_overrides) -> dict:
    """The mMTC scenario of the energy trade: base_config with reports every `report_period_s`
    (sensors that sleep between reports), an optional deadline and topology overrides
    (e.g. sensors=10, gateways=1)."""
    cfg = copy.deepcopy(base_config(topology, seed, activity, duration_s))
    cfg["traffic"]["report_period_s"] = float(report_period_s)
    cfg["traffic"]["access_spread_s"] = min(cfg["traffic"]["access_spread_s"], float(report_period_s))
    if deadline_ms is not None:
        cfg["network"]["deadline_ms"] = float(deadline_ms)
    cfg["topology"].update(topology_overrides)
    cfg["name"] = f"{cfg['name']}-power"
    return configmod.validate(cfg)


def power_metrics(graph, cfg: dict) -> dict:
    """From the real-time twin of a run of cfg: mean radio energy per sensor (J) and the battery life
    it gives (cfg's battery, over the accounting window duration_s + drain_s), mean one-way latency
    (ms, sensors' latency_mean_ms weighted by their delivered packets), deadline success
    ((rx - late) / tx) and delivery ratio."""
    require_graph(graph, "mmtc", sensor_attrs=SENSOR_ATTRS + ("energy_j", "latency_mean_ms"))
    e, n, tx, rx, late, lat_w = 0.0, 0, 0.0, 0.0, 0.0, 0.0
    for node in graph.sensors():
        energy = graph.value(node, "energy_j")
        if energy is not None:
            e += energy
            n += 1
        t, r = graph.value(node, "tx_packets"), graph.value(node, "rx_packets")
        tx += t
        rx += r
        late += graph.value(node, "late_packets")
        if r:
            lat_w += r * graph.value(node, "latency_mean_ms")
    energy_j = e / n if n else math.nan
    window_s = cfg["duration_s"] + cfg["sim"]["drain_s"]
    years = (cfg["power"]["battery_wh"] * 3600 / (energy_j / window_s) / (365.25 * 86400)
             if energy_j and energy_j > 0 else math.nan)
    return {"energy_mean_j": energy_j, "battery_life_years": years,
            "latency_mean_ms": lat_w / rx if rx else math.nan,
            "on_time_ratio": (rx - late) / tx if tx else math.nan, "delivery_ratio": rx / tx if tx else math.nan}


def power_candidates(cfg: dict, options=POWER_OPTIONS) -> list[dict]:
    """Each option completed with the base config's values of the other power keys (generator vocabulary)."""
    current = current_values(cfg, POWER_FIELDS)
    out = []
    for opt in options:
        unknown = set(opt) - set(POWER_FIELDS)
        if unknown:
            raise ValueError(f"power option keys {sorted(unknown)} unknown; allowed: {', '.join(POWER_FIELDS)}")
        out.append(dict(current, **opt))
    return out


def option_label(candidate: dict) -> str:
    """Short name of a power setting: the mode and the timers that matter for it."""
    mode = candidate["power_mode"]
    if mode == "drx":
        return f"drx {candidate['drx_cycle_ms']} ms"
    if mode == "edrx":
        return f"edrx release {candidate['rrc_release_s']:g} s, cycle {candidate['edrx_cycle_s']:g} s"
    if mode == "psm":
        return f"psm release {candidate['rrc_release_s']:g} s, T3324 {candidate['t3324_s']:g} s"
    return mode


def choose_power(rows: list[dict], min_on_time_ratio: float) -> tuple[int, str]:
    """(index of the least-energy row whose on_time_ratio >= min_on_time_ratio, reason); the base
    row (index 0) when none qualifies."""
    ok = [i for i, r in enumerate(rows) if r["on_time_ratio"] >= min_on_time_ratio - 1e-12]
    if not ok:
        return 0, f"no power setting keeps deadline success >= {min_on_time_ratio:.3f}; kept the base"
    best = min(ok, key=lambda i: (rows[i]["energy_mean_j"], i))
    dropped = [rows[i]["option"] for i in range(len(rows)) if i not in ok]
    return best, (f"{rows[best]['option']}: least energy per sensor ({rows[best]['energy_mean_j']:.3f} J) with "
                  f"deadline success {rows[best]['on_time_ratio']:.3f} >= {min_on_time_ratio:.3f}"
                  + (f"; too late: {', '.join(dropped)}" if dropped else ""))


def run_power(cfg: dict, out_dir: str | Path, options=POWER_OPTIONS, min_on_time_ratio: float | None = None) -> dict:
    """The energy-latency trade of one scenario: a run of cfg (the base) and a what-if run per power
    option (compiled in the generator's vocabulary, POWER_FIELDS), each measured in its twin
    (power_metrics). The choice: least energy per sensor whose deadline success is at least
    min_on_time_ratio (default: the base's minus ON_TIME_SLACK). Returns {"rows": one per run (base
    first), "chosen": row index, "candidate": the chosen setting, "reason": why}."""
    out = Path(out_dir)
    base_vals = current_values(cfg, POWER_FIELDS)
    runs = [("base", base_vals, cfg)]
    for i, cand in enumerate(power_candidates(cfg, options)):
        if cand == base_vals:
            continue  # the base setting is the base run
        comp = compile_candidate(cfg, cand, fields=POWER_FIELDS)
        if not comp.ok:
            raise configmod.ConfigError(f"mmtc: power option {option_label(cand)} rejected: {comp.reason}")
        runs.append((f"option-{i}", cand, dict(comp.config, name=f"{cfg.get('name', 'scenario')}-p{i}")))
    rows = []
    for tag, cand, c in runs:
        o = ns3_runner.run_scenario(c, out / tag, bridge=True)
        m = power_metrics(o.graph, c)
        k = o.result["kpis"]
        rows.append({"run": tag, "option": option_label(cand), "settings": cand} | m
                    | {"result_battery_life_years": k.get("battery_life_years"), "result_d": k.get("d"),
                       "result_l_ms": k.get("l")})
    floor = rows[0]["on_time_ratio"] - ON_TIME_SLACK if min_on_time_ratio is None else float(min_on_time_ratio)
    chosen, reason = choose_power(rows, floor)
    for i, r in enumerate(rows):
        r["meets_deadline"] = bool(r["on_time_ratio"] >= floor - 1e-12)
        r["chosen"] = i == chosen
    return {"rows": rows, "chosen": chosen, "candidate": rows[chosen]["settings"], "reason": reason,
            "min_on_time_ratio": floor}


def plot_power(table: pd.DataFrame, path: Path) -> None:
    """Energy per sensor vs mean latency, one point per power setting (mean over seeds), one panel
    per scenario; settings that miss the deadline floor hollow, the chosen one starred."""
    plt = pyplot()
    scenarios = sorted(table["scenario"].unique())
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5.5 * len(scenarios), 4.2), squeeze=False)
    for ax, scen in zip(axes[0], scenarios):
        d = table[table["scenario"] == scen]
        g = d.groupby("option", sort=False).agg(e=("energy_mean_j", "mean"), lat=("latency_mean_ms", "mean"),
                                                ok=("meets_deadline", "all"), chosen=("chosen", "any"))
        for opt, r in g.iterrows():
            ax.plot(r.lat, r.e, marker="*" if r.chosen else "o", ms=14 if r.chosen else 8,
                    mfc=("#d62728" if r.chosen else "#1f77b4") if r.ok else "none", mec="#1f77b4", ls="none")
            ax.annotate(opt, (r.lat, r.e), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_yscale("log")
        ax.set_xlabel("mean one-way latency (ms, twin)")
        ax.set_ylabel("radio energy per sensor (J, twin)")
        ax.set_title(f"{scen}: energy vs latency per power setting", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary_row(gateways: list[dict]) -> dict:
    """One services.csv row's metrics from per-gateway metrics."""
    tx = sum(g["tx_packets"] for g in gateways)
    rx = sum(g["rx_packets"] for g in gateways)
    served = [g["served_ratio"] for g in gateways]
    return {"served_ratio_mean": float(np.nanmean(served)), "served_ratio_min": float(np.nanmin(served)),
            "delivery_ratio": rx / tx if tx else math.nan,
            "throughput_bps": float(sum(g["throughput_bps"] for g in gateways)),
            "late_ratio": float(sum(g["late_ratio"] * g["tx_packets"] for g in gateways) / tx) if tx else math.nan,
            "drop_ratio": float(sum(g["drop_ratio"] * g["tx_packets"] for g in gateways) / tx) if tx else math.nan}


def plot(per_gateway: pd.DataFrame, path: Path) -> None:
    """Per gateway: served ratio, delivery ratio, throughput and late ratio vs UL activity; one
    row of panels per scenario; base config dashed grey, tuned solid blue."""
    plt = pyplot()

    scenarios = sorted(per_gateway["scenario"].unique())
    metrics = (("served_ratio", "served-device ratio"), ("delivery_ratio", "delivery ratio"),
               ("throughput_bps", "throughput (kb/s)"), ("late_ratio", "late ratio (> deadline)"))
    fig, axes = plt.subplots(len(scenarios), 4, figsize=(13, 3.1 * len(scenarios)), squeeze=False)
    styles = {"base": ("#999999", "o", "--"), "tuned": ("#1f77b4", "s", "-")}
    for row, scen in zip(axes, scenarios):
        d = per_gateway[per_gateway["scenario"] == scen]
        for ax, (m, label) in zip(row, metrics):
            for (variant, gw), part in d.groupby(["variant", "gateway"]):
                g = part.groupby("activity")[m].mean()
                scale = 1e-3 if m == "throughput_bps" else 1.0
                color, marker, ls = styles.get(variant, ("k", "x", ":"))
                ax.plot(100 * g.index.to_numpy(), scale * g.to_numpy(), marker=marker, ls=ls, color=color,
                        alpha=0.75, label=f"{variant} gw{gw}")
            ax.set_title(f"{scen}: {label}", fontsize=9)
            ax.set_xlabel("sensors requesting UL at once (%)", fontsize=8)
            ax.grid(alpha=0.3)
        row[0].legend(fontsize=6, ncol=2)
    fig.suptitle("mMTC per gateway (from the twin): base config vs settings chosen from the twin", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
