"""`run.py fig2`: run or resume the campaign in a folder, write its files, record each invocation, and the
lines the command prints."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from gaidt.campaign import FigureOptions, Task, executor_for, open_figure
from gaidt.errors import GaidtError, RunError
from generators.llm_client import check_endpoint
from generators.llm_server import endpoint, model_if_embedded

from ..dashboard import Dashboard
from .assembly import SUMMARY_COLUMNS, assemble, observed_rates, summarize
from .markdown import summary_markdown
from .plan import METHODS, PROFILES, TOPOLOGIES
from .plots import plot, plot_tuning
from .tasks import phase1_tasks, phase2_tasks


@dataclass
class Fig2Options(FigureOptions):
    """What `run.py fig2` runs: FigureOptions plus the topologies and methods (None: the profile's / all)."""

    topologies: Sequence[str] | None = None
    methods: Sequence[str] | None = None


@dataclass
class Fig2Outcome:
    """What a Fig. 2 campaign produced: counts per phase, the frames written to ``out`` and the
    failures. ``exit_code`` is 0 when every run of the campaign finished and every cell was tuned."""

    out: Path
    phase1_counts: dict
    phase2_counts: dict
    untuned: list[Task]
    fig2: pd.DataFrame
    tuning: pd.DataFrame
    summary: pd.DataFrame
    failed: pd.DataFrame
    invocation: dict | None = None

    @property
    def counts(self) -> dict:
        """Both phases' counts summed: done, skipped, failed."""
        return {k: self.phase1_counts[k] + self.phase2_counts[k] for k in ("done", "skipped", "failed")}

    @property
    def exit_code(self) -> int:
        """0 when nothing failed, else 1."""
        return 0 if len(self.failed) == 0 and not self.untuned else 1


def run_fig2(options: Fig2Options) -> Fig2Outcome:
    """Run (or resume) the Fig. 2 campaign in ``options.out`` and write its files (module docstring).

    Raises UsageError for an unusable folder or profile, EndpointError when the LLM endpoint fails
    (checked before any run is spent), RunError for an executor that fails."""
    whole, out, camp = open_figure("fig2", PROFILES, options.out, options.profile, options.allow_other_build)
    profile = whole  # what this invocation runs; the outputs cover every cell of `whole` that has results
    if options.topologies:
        profile = dict(whole, topologies=tuple(t for t in TOPOLOGIES if t in options.topologies))
    methods = tuple(options.methods or METHODS)
    api_key = options.llm_api_key

    def summary_text(task, outcome):
        r = outcome["result"]
        if r.get("method") == "tune":
            return ", ".join(f"{a} O {x['O_base']:.3f}->{x['O']:.3f} ({x['ns3_runs']} runs)" for a, x in r["arms"].items())
        return f"stability {r['stability']:.3f}, d {r['d']:.3f}, {r['mean_throughput_bps'] / 1e3:.1f} kb/s"

    def go(llm_url, llm_model):
        executor = executor_for(options.scheduler, options.workers)
        phase1 = phase1_tasks(profile, out, llm_url, llm_model, methods, api_key)
        c1 = camp.run_missing(phase1, executor, Dashboard("fig2 phase 1 (traditional, tuning)", summary_text,
                                                          quiet=options.quiet))
        tunes = camp.results(t.key for t in phase1 if t.func.endswith(":tune_cell"))
        phase2, untuned = phase2_tasks(profile, out, tunes, phase1)
        c2 = camp.run_missing(phase2, executor, Dashboard("fig2 phase 2 (tuned configs)", summary_text,
                                                          quiet=options.quiet))
        return phase1, phase2, untuned, c1, c2

    used_model, llm_used = None, False
    started_unix_s, t0 = time.time(), time.monotonic()
    load_at_start = os.getloadavg()
    try:
        # A resumed campaign whose tuning tasks are all done needs no LLM: the embedded server
        # (about a minute to start) is started only when a tuning task is left to run.
        offline_model = model_if_embedded(options.llm_url, options.llm_model) if "proposed" in methods else None
        if offline_model and not _tuning_left(profile, out, camp, methods, offline_model):
            phase1, phase2, untuned, c1, c2 = go(None, offline_model)
            used_model = offline_model
        elif "proposed" in methods:
            with endpoint(options.llm_url, options.llm_model, api_key) as ep:
                model = check_endpoint(ep.url, ep.model, api_key)
                phase1, phase2, untuned, c1, c2 = go(ep.url, model)
                used_model, llm_used = model, True
        else:
            phase1, phase2, untuned, c1, c2 = go(None, None)
    except RuntimeError as e:  # LLM endpoint, ns-3 or executor failures: one line at the CLI (exit 1)
        camp.close()
        if isinstance(e, GaidtError):
            raise
        raise RunError(str(e)) from None
    try:
        keys = {t.key for t in phase1 + phase2}
        if profile is not whole:  # earlier runs of the other topologies into this --out count too
            all1 = phase1_tasks(whole, out, None, used_model, methods)
            tunes_all = camp.results(t.key for t in all1 if t.func.endswith(":tune_cell"))
            all2, _ = phase2_tasks(whole, out, tunes_all, all1)
            phase1, keys = all1, keys | {t.key for t in all1 + all2}
        frames = assemble(whole, phase1, camp.results(keys), methods)
        df, tuning, cands = frames["fig2"], frames["tuning"], frames["candidates"]
        df.to_csv(out / "fig2.csv", index=False)
        tuning.to_csv(out / "fig2_tuning.csv", index=False)
        cands.to_csv(out / "fig2_candidates.csv", index=False)
        summary = summarize(df, tuning) if len(df) else pd.DataFrame(columns=SUMMARY_COLUMNS)
        summary.to_csv(out / "fig2_summary.csv", index=False)
        if len(df):
            (out / "fig2_summary.md").write_text(summary_markdown(summary, df))
            plot(df, summary, out / "fig2.png")
        if len(tuning):
            plot_tuning(tuning, out / "fig2_tuning.png")
        failed = camp.failures()
        failed = failed[failed["key"].isin(keys)] if len(failed) else failed
        invocation = {
            "profile": options.profile, "topologies": list(profile["topologies"]), "methods": list(methods),
            "workers": options.workers or os.cpu_count(), "scheduler": options.scheduler,
            "started_unix_s": round(started_unix_s, 1), "wall_s": round(time.monotonic() - t0, 1),
            "load_average_at_start": [round(x, 2) for x in load_at_start],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "ran": c1["done"] + c2["done"], "skipped": c1["skipped"] + c2["skipped"],
            "failed": c1["failed"] + c2["failed"], "llm_model": used_model, "llm_endpoint_used": llm_used,
            "observed_wall_per_sim_s": observed_rates(df)}
        record_invocation(out / RUN_LOG, invocation)
    finally:
        camp.close()
    return Fig2Outcome(out, c1, c2, untuned, df, tuning, summary, failed, invocation)


RUN_LOG = "fig2_runs.json"


def _tuning_left(profile: dict, out: Path, camp, methods, llm_model: str) -> bool:
    """Whether a tuning task (the only tasks that call the LLM) of this profile is not done yet."""
    done = camp.done_keys()
    return any(t.func.endswith(":tune_cell") and t.key not in done
               for t in phase1_tasks(profile, out, None, llm_model, methods))


def record_invocation(path: Path, entry: dict) -> None:
    """Append one invocation's record (what ran, wall seconds, machine load) to ``path``
    (fig2_runs.json: {"invocations": [...]}, oldest first). A resumed campaign adds an entry with the
    runs it skipped, so the wall of a campaign run in one go is the entry whose ``skipped`` is 0."""
    data = {"invocations": []}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {"invocations": [], "unreadable_earlier_log": True}
    data.setdefault("invocations", []).append(entry)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def report_lines(outcome: Fig2Outcome) -> list[str]:
    """The lines `run.py fig2` prints on stdout: counts, files written, the summary table."""
    out, c1, c2 = outcome.out, outcome.phase1_counts, outcome.phase2_counts
    counts, failed = outcome.counts, outcome.failed
    lines = [f"fig2: {counts['done']} ran, {counts['skipped']} skipped (already done), {counts['failed']} failed",
             f"fig2: phase 1 (traditional runs, tuning tasks): {c1['done']} ran, {c1['skipped']} skipped, "
             f"{c1['failed']} failed; phase 2 (tuned configs): {c2['done']} ran, {c2['skipped']} skipped, "
             f"{c2['failed']} failed"]
    if outcome.untuned:
        lines.append("fig2: not evaluated, the tuning failed: " + ", ".join(t.label for t in outcome.untuned))
    lines.append(f"fig2: {len(outcome.fig2)} rows in {out / 'fig2.csv'}; {len(failed)} failed"
                 + (f" (see {out / 'campaign.sqlite'}, table runs)" if len(failed) else ""))
    lines.append(f"fig2: summary {out / 'fig2_summary.csv'}; figure {out / 'fig2.png'}"
                 + (f"; tuning {out / 'fig2_tuning.csv'}, {out / 'fig2_candidates.csv'}, {out / 'fig2_tuning.png'}"
                    if len(outcome.tuning) else ""))
    if outcome.invocation:
        inv = outcome.invocation
        lines.append(f"fig2: this invocation took {inv['wall_s']:.1f} s on {inv['workers']} workers (load average "
                     f"{inv['load_average_at_start'][0]:.2f} at start); record {out / RUN_LOG}")
    if len(outcome.summary):
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            lines.append(outcome.summary[["topology", "scenario", "activity", "method", "improvement_pct", "ci_low",
                                          "ci_high", "O_change", "d_method", "ns3_runs", "llm_calls"]]
                         .to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return lines
