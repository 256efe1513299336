"""Benchmarks: speed is measured here, never in tests.

  run.py bench sim     wall s and events per simulated second, stock vs fast
                       knobs side by side, for the example topologies
  run.py bench bridge  bridge overhead at twin.period_s 0.1 (large topology):
                       wall and CPU time (ns-3 process, in-process Python
                       subscriber) with vs without the twin, snapshot size,
                       Python-side node-attribute updates per second
  run.py bench fig     a Fig. 2 campaign (--fig-profile, default `default`) run
                       through the CLI's code path in a temporary folder: wall,
                       ns-3 runs, summed per-run wall, the --full estimate
                       (experiments.fig2.estimate_profile_s), an estimated stock
                       campaign time, and the campaign layer vs a plain process
                       pool on the same small runs
  run.py bench         sim, bridge and llm (fig too with --with-fig)
  run.py bench knob --topologies large --set sim.dl_ctrl_interference=per_cell,aggregate
                       one knob's values side by side (others fast): speed and
                       whether per-sensor results stay bit-identical
  run.py bench explore the Twin Explorer page of a large run (1000 sensors) in headless
                       Chromium: page load and scrub redraw times (experiments/explore_browser.py)
  run.py bench goals --from A.json B.json
                       no runs: the goals table recomputed from saved --json
                       outputs (e.g. sim rates from one, a timed --full from another)

--json prints one object; its "goals" list has one entry per issue-7 speed goal:
{goal, target, unit, measured, stock, ratio_vs_stock = measured / stock, met}
(None where the benchmark that measures it did not run in this invocation).

"stock" is the same scenario with ns-3's defaults for every speed knob, every
acceleration and approximation off (gaidt.knob_runs.STOCK_SIM: sim.event_scheduler=map,
ue_clock_gate=false, pf_idle_tti=false, spectrum_channel=multi_model,
dl_ctrl_interference=per_cell, allocator=system, cqi_period_ms=1, max_loss_db=0,
rlf_detection=true); "fast" is the schema's defaults (ns3-scenarios/README.md).
"""
from __future__ import annotations

from gaidt.knob_runs import STOCK_SIM  # the stock settings, where readers of the bench look for them

from .bridge import bench_bridge, bench_python_apply
from .campaign import bench_campaign_overhead, bench_fig, fig_stock_estimate, sim_rates
from .goals import goals, goals_from
from .report import render, run_bench
from .runs import DEFAULT_DURATION_S, NO_STOCK, _cfg, machine, phase_rates
from .sim import SIM_VARIANTS, bench_knob, bench_sim

__all__ = [
    "DEFAULT_DURATION_S", "NO_STOCK", "SIM_VARIANTS", "STOCK_SIM", "_cfg", "bench_bridge", "bench_campaign_overhead",
    "bench_fig", "bench_knob", "bench_python_apply", "bench_sim", "fig_stock_estimate", "goals", "goals_from",
    "machine", "phase_rates", "render", "run_bench", "sim_rates",
]
