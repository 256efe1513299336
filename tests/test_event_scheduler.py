"""The 4-ary heap event queue changes no result (ns3-scenarios/model/fast/quad-heap-scheduler.h).

gaidt::QuadHeapScheduler hands ns-3 its events in the order of the unique key (time stamp, then
uid), as ns3::HeapScheduler does, so the same config gives the same events and the same results,
bit for bit, with sim.event_scheduler heap or quad_heap. The scenario never removes a pending
event (Simulator::Remove), so Remove is checked apart, against ns3::MapScheduler, by
gaidt-quad-heap-scheduler-check on random operation sequences.
"""
from __future__ import annotations

import copy
import subprocess

import pytest

from gaidt import config as configmod
from gaidt.ns3_runner import BUILD_DIR
from tests.helpers import run_each

pytestmark = pytest.mark.ns3

CHECK = BUILD_DIR / "ns3-scenarios" / "gaidt-quad-heap-scheduler-check"


@pytest.mark.parametrize("topology,power_mode", [("medium", "psm"), ("small", "always_on")])
def test_quad_heap_is_bit_identical_to_ns3s_heap(tmp_path, topology, power_mode):
    base = copy.deepcopy(configmod.example(topology))
    base["duration_s"] = 0.5
    base["power"] = {"mode": power_mode}
    results = run_each(base, "sim.event_scheduler", ("heap", "quad_heap"), tmp_path)
    heap, quad = results["heap"], results["quad_heap"]
    assert heap["sensors_attached"] == base["topology"]["sensors"]
    assert sum(s["rx_bytes"] for s in heap["sensors"]) > 0
    assert quad["run"]["events"] == heap["run"]["events"] > 100_000
    assert [{k: v for k, v in p.items() if k != "wall_s"} for p in quad["run"]["phases"]] == \
        [{k: v for k, v in p.items() if k != "wall_s"} for p in heap["run"]["phases"]]
    assert quad["totals"] == heap["totals"]
    assert quad["kpis"] == heap["kpis"]
    assert quad["sensors"] == heap["sensors"]
    assert quad["gateways"] == heap["gateways"]
    assert quad["throughput_series"] == heap["throughput_series"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quad_heap_agrees_with_ns3s_map_scheduler_including_remove(seed):
    p = subprocess.run([str(CHECK), f"--seed={seed}"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # e.g. "ok: 50184 inserts, 35373 RemoveNext, 14811 Remove, up to 10174 pending"
    counts = [int(word) for word in p.stdout.replace(",", " ").split() if word.isdigit()]
    inserts, remove_nexts, removes, max_pending = counts
    assert inserts == remove_nexts + removes
    assert removes > 1000 and max_pending > 1000


def test_quad_heap_horizon_releases_events_that_never_run():
    """The Horizon (set by the scenario for the UE clocks gaidt::UeClockGate parks): events before it
    run, events at or after it never do, and removing or cancelling them keeps every reference count
    right, also right after scheduling one."""
    p = subprocess.run([str(CHECK), "--horizon"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("ok: horizon: 1000 events ran, 1001 beyond it released")
