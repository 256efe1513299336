"""Fig. 2: network throughput stability, traditional vs the tuned arms (the GAI loop and baselines).

Grid: topology (small/medium/large, Table II) x scenario cell (S1: base, self-similar traffic;
S2: high device density, mMTC with 20/45/70% of the sensors requesting UL simultaneously)
x method x evaluation seed.

Methods (the `method` column):
- traditional: the cell's config runs as it is on each evaluation seed.
- proposed: the paper's GAI loop (generators.closed_loop, the LLM arm).
- random: random search over the same generation schema.
- rule: the one-line rule access_spread_s = report period (services/mmtc.py's repair).
- tpe: Optuna's TPE sampler.
Every tuned arm runs the same loop (generators.closed_loop.search) on the same tuning seeds,
from the same base run, with the same budget (at most k new ns-3 runs per iteration), the
same compile step and the same objective O (eq. 2-3) under the same weights: one weight
vector per cell, from eq. 1 on the cell's config at the first tuning seed. The rule has one
candidate, so it spends at most one new run.

Tuning: one tuning task per (topology, cell, tuning seed) runs the base config once (with the
twin bridge, so the LLM sees R and H) and then every arm's loop on it. Tuning seeds are
TUNING_SEED_OFFSET + the profile's first evaluation seed + i, never evaluation seeds, so no
selection bias helps any arm (each loop keeps the base config as a candidate: "no change" is
a possible outcome). `--full` tunes each cell on 3 tuning seeds so the spread of the tuner
itself shows.

Evaluation: every tuned config is run on every evaluation seed (the traditional runs' seeds:
common random numbers). An evaluation task is keyed by (cell, seed, values), so a tuned config
equal to the base is the traditional run itself and identical configs from several arms or
tuning seeds run once.

The campaign runs in two phases (gaidt/campaign.py; a rerun skips every finished task):
  phase 1  the traditional runs and the tuning tasks;
  phase 2  the evaluation runs of every tuned config not run in phase 1.

Metrics (per run; gaidt/stats.py):
- stability = 1 / (1 + CV) of the aggregate UL goodput over windows of one report period
  (period_series). Moving demand within a period (access spread) cannot change it; only what
  the network delivers per period can.
- stability_100ms: the same over 0.1 s windows, the metric of earlier versions. A synchronized
  mMTC burst fills one 0.1 s window of a period, so this one rewards spreading demand in time
  whatever the network does; kept for comparison only.
- d, l (ms), l_p95_ms, late_ratio: timed from each report's due time (result.schema.json), so
  a deferral by access_spread_s costs latency and deadline success.
- O under the cell's weights (the same for every arm).

Statistics (fig2_summary.csv), per cell (topology x scenario x activity) and tuned arm: for
each evaluation seed the arm's stability (averaged over its tuning seeds) is paired with the
traditional run of that seed; improvement_pct is the mean of the per-pair relative changes and
[ci_low, ci_high] its 95% Student-t interval (stats.paired_change): the point estimate is the
quantity the interval bounds. One evaluation seed gives no interval.

Files: fig2.csv (one row per run), fig2_summary.csv, fig2_tuning.csv (one row per cell, arm and
tuning seed, with the budget spent), fig2_candidates.csv (every candidate every tuner proposed:
values, status, O), fig2.png, fig2_tuning.png (best O so far against ns-3 runs spent, per arm),
fig2_runs.json (one record per invocation: wall seconds, runs done and skipped, the machine's load
average at start and end, and the observed ns-3 wall seconds per simulated second per topology).
"""
from __future__ import annotations

from .assembly import (
    CANDIDATE_COLUMNS,
    CSV_COLUMNS,
    EXTRA_COLUMNS,
    SUMMARY_COLUMNS,
    TUNING_COLUMNS,
    assemble,
    observed_rates,
    summarize,
)
from .campaign import RUN_LOG, Fig2Options, Fig2Outcome, record_invocation, report_lines, run_fig2
from .estimate import estimate_profile_s
from .markdown import summary_markdown
from .plan import (
    CELLS,
    METHODS,
    PAPER_IMPROVEMENT_PCT,
    PLANNING_RATES,
    PROFILES,
    REPORT_PERIOD_S,
    S1_PAYLOAD_BYTES,
    S2_ACCESS_SPREAD_S,
    S2_ACTIVITIES,
    S2_DEADLINE_MS,
    S2_PAYLOAD_BYTES,
    THROUGHPUT_WINDOW_S,
    TOPOLOGIES,
    TUNED_ARMS,
    cell_weights,
    scenario_config,
    tuning_seed,
    tuning_seeds,
)
from .plots import COLORS, plot, plot_tuning
from .tasks import eval_task, phase1_tasks, phase2_tasks, run_cell, run_metrics, tune_cell

# campaign tasks name their function as 'experiments.fig2:run_cell' / ':tune_cell' (kept for saved campaigns)

__all__ = [
    "CANDIDATE_COLUMNS", "CELLS", "COLORS", "CSV_COLUMNS", "EXTRA_COLUMNS", "Fig2Options", "Fig2Outcome",
    "METHODS", "PAPER_IMPROVEMENT_PCT", "PLANNING_RATES", "PROFILES", "REPORT_PERIOD_S", "RUN_LOG",
    "S1_PAYLOAD_BYTES", "S2_ACCESS_SPREAD_S", "S2_ACTIVITIES", "S2_DEADLINE_MS", "S2_PAYLOAD_BYTES",
    "SUMMARY_COLUMNS", "THROUGHPUT_WINDOW_S", "TOPOLOGIES", "TUNED_ARMS", "TUNING_COLUMNS", "assemble",
    "cell_weights", "estimate_profile_s", "eval_task", "observed_rates", "phase1_tasks", "phase2_tasks", "plot",
    "plot_tuning", "record_invocation", "report_lines", "run_cell", "run_fig2", "run_metrics", "scenario_config",
    "summarize", "summary_markdown", "tune_cell", "tuning_seed", "tuning_seeds",
]
