"""One measured ns-3 run: the benchmarked config (stock or fast), wall and CPU time, events, phase rates and a
digest of the per-sensor results; the machine it ran on."""
from __future__ import annotations

import copy
import os
import platform
import resource
import tempfile
from pathlib import Path

from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.digest import json_digest
from gaidt.knob_runs import STOCK_SIM

DEFAULT_DURATION_S = {"small": 5.0, "medium": 2.0, "large": 0.5, "city": 0.1}


# Topologies whose stock run is not attempted: the city (10,000 sensors / 200 gateways) with ns-3's
# per-cell control frames would deliver ~2 million signals per millisecond.
NO_STOCK = {"city"}


def _cfg(topology: str, duration_s: float, stock: bool, power_saving: bool = False, **twin) -> dict:
    """The example topology as benchmarked: mMTC at 45% UL activity, power.mode always_on. power_saving
    drops the power section instead, so the radio's default applies (lte-m: psm)."""
    cfg = copy.deepcopy(configmod.example(topology))
    cfg["duration_s"] = duration_s
    cfg["traffic"]["service"] = "mmtc"
    cfg["traffic"]["ul_activity"] = 0.45
    if power_saving:
        cfg.pop("power", None)
    else:  # the city example does not pin it (it shows the radio's defaults)
        cfg.setdefault("power", {})["mode"] = "always_on"
    if stock:
        cfg["sim"].update(STOCK_SIM)
    cfg["twin"].update(twin)
    return configmod.validate(cfg)


def machine() -> dict:
    """This machine: host name, CPU model, cores, Python and ns-3 versions."""
    return {"machine": platform.node(), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "python": platform.python_version(), "ns3": ns3_runner.build_info().get("ns3_version")}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _cpu_s(who: int) -> float:
    u = resource.getrusage(who)
    return u.ru_utime + u.ru_stime


def _run(cfg: dict, bridge: bool) -> dict:
    """One run. CPU times: ns3_cpu_s is the ns-3 process's user+sys (RUSAGE_CHILDREN delta: it is the
    only child that ends meanwhile), python_cpu_s this process's (the subscriber, with the bridge)."""
    with tempfile.TemporaryDirectory(prefix="gaidt-bench-") as d:
        c0, p0 = _cpu_s(resource.RUSAGE_CHILDREN), _cpu_s(resource.RUSAGE_SELF)
        o = ns3_runner.run_scenario(cfg, d, bridge=bridge)
        c1, p1 = _cpu_s(resource.RUSAGE_CHILDREN), _cpu_s(resource.RUSAGE_SELF)
    r = o.result
    sim_s = r["run"]["simulated_s"]
    out = {"wall_s": round(r["run"]["wall_s"], 3), "simulated_s": sim_s,
           # building the scenario before Simulator::Run (not in wall_s)
           "setup_wall_s": round(r["run"]["setup_wall_s"], 3) if "setup_wall_s" in r["run"] else None,
           "wall_per_sim_s": round(r["run"]["wall_s"] / sim_s, 3),
           "events_per_sim_s": round(r["run"]["events"] / sim_s),
           "ns3_cpu_s": round(c1 - c0, 3), "python_cpu_s": round(p1 - p0, 3),
           "goodput_bps": r["totals"]["goodput_bps"], "sensors_attached": r["sensors_attached"],
           "sensors_digest": _sensors_digest(r)}
    phases = phase_rates(r)
    if phases:
        out["phases"] = phases
    if "bridge" in r:
        out["bridge"] = r["bridge"]
    return out


def phase_rates(result: dict) -> dict:
    """Per phase of a run (result.json run.phases: attach, traffic, drain): simulated s, wall s,
    events, and wall s / events per simulated second. A short bench run's whole-run rate mixes in
    the attach phase (every sensor awake and attaching) and the drain (no new traffic); the
    traffic phase is the rate a longer run converges to. {} for a result without phases."""
    out = {}
    for p in result.get("run", {}).get("phases", []):
        sim_s = p["end_s"] - p["start_s"]
        out[p["name"]] = {"simulated_s": round(sim_s, 6), "wall_s": round(p["wall_s"], 3), "events": p["events"],
                          "wall_per_sim_s": round(p["wall_s"] / sim_s, 3) if sim_s > 0 else None,
                          "events_per_sim_s": round(p["events"] / sim_s) if sim_s > 0 else None}
    return out


SENSOR_RESULT_KEYS = ("rx_bytes", "rx_packets", "latency_mean_ms", "sinr_db", "rsrp_dbm")


def _sensors_digest(result: dict) -> str:
    """A fingerprint of every sensor's delivered traffic, latency and radio: equal digests mean
    bit-identical per-sensor results."""
    rows = [[s.get(k) for k in SENSOR_RESULT_KEYS] for s in result["sensors"]]
    return json_digest(rows, compact=False)
