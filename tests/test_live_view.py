"""`run.py scenario`'s live view tells the truth (issue 29): its throughput is averaged over at least one report
period and matches the run's goodput; its time line names warm-up, traffic and drain. A real small run."""
from __future__ import annotations

import pytest
from rich.console import Console

from experiments.live_view import ScenarioView
from gaidt.ns3_runner import run_scenario
from tests.helpers import small_config

pytestmark = pytest.mark.ns3


def test_the_live_views_throughput_is_the_runs_goodput_and_its_phases_are_named(tmp_path):
    cfg = small_config(duration_s=5)  # 50 sensors, synchronized 1 s report periods, 0.1 s twinning rounds
    view = ScenarioView(cfg, quiet=True)
    seen = []  # (sim_time_s, phase, windowed throughput, traffic mean) after every round

    def on_message(msg, sub):
        view.on_message(msg, sub)
        if msg.topic == "snap":
            t = float(msg.header["sim_time_s"])
            seen.append((t, view.phase(t), view.throughput_bps, view.mean_bps))

    result = run_scenario(cfg, tmp_path, bridge=True, on_message=on_message).result
    goodput = result["totals"]["goodput_bps"]
    assert goodput > 0 and view.window_s == 1.0
    assert view.mean_bps == pytest.approx(goodput, rel=0.10)
    windowed = [bps for t, phase, bps, _ in seen if phase == "traffic" and t >= view.warmup_s + view.window_s]
    assert len(windowed) >= 30 and min(windowed) > 0  # a one-round difference was 0 in most rounds
    assert sum(windowed) / len(windowed) == pytest.approx(goodput, rel=0.10)
    phases = [phase for _, phase, _, _ in seen]
    assert phases == sorted(phases, key=["warm-up", "traffic", "drain"].index)
    assert set(phases) == {"warm-up", "traffic", "drain"}
    console = Console(record=True, width=250)
    console.print(view._render())
    text = console.export_text()
    assert "warm-up 0.5 s + traffic 5 s + drain 0.5 s" in text and "drain" in text
    assert f"{view.throughput_bps / 1e3:.1f} kb/s" in text
