"""Campaigns and figures: tiny profiles on the small topology, real ns-3."""
from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from experiments import fig2
from gaidt.campaign import BuildMismatch, Campaign, DaskExecutor, LocalExecutor, Task, grid
from gaidt.stats import mean_ci, stability
from tests.helpers import REPO, middle_of_every_range

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


@pytest.mark.unit
def test_mean_ci_on_known_data():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    # t(0.975, 4) = 2.7764451; s = 1.5811388; half = t * s / sqrt(5) = 1.9632432
    assert m == 3.0
    assert lo == pytest.approx(3.0 - 1.9632432, abs=1e-6)
    assert hi == pytest.approx(3.0 + 1.9632432, abs=1e-6)
    m, lo, hi = mean_ci([2.0])
    assert m == 2.0 and math.isnan(lo) and math.isnan(hi)


@pytest.mark.unit
def test_stability_definition():
    assert stability([5.0, 5.0, 5.0]) == 1.0
    assert stability([0.0, 10.0]) == pytest.approx(0.5)  # CV = 1
    assert math.isnan(stability([0.0, 0.0]))


@pytest.mark.unit
def test_grid_is_the_cartesian_product():
    g = grid(a=[1, 2], b=["x", "y", "z"])
    assert len(g) == 6 and g[0] == {"a": 1, "b": "x"} and g[-1] == {"a": 2, "b": "z"}


def _fig2(out, *extra, timeout=900):
    return subprocess.run(RUN + ["fig2", "--profile", "tiny", "--out", str(out), "--methods", "traditional",
                                 "--quiet", *extra], capture_output=True, text=True, timeout=timeout)


@pytest.mark.ns3
def test_fig2_csv_columns_rows_and_resume(tmp_path):
    p = _fig2(tmp_path)
    assert p.returncode == 0, p.stderr + p.stdout
    df = pd.read_csv(tmp_path / "fig2.csv")
    assert list(df.columns[:6]) == ["topology", "scenario", "method", "seed", "stability", "mean_throughput_bps"]
    # tiny: small x (S1 + S2 at 3 activities) x traditional x 2 seeds
    assert len(df) == 8
    assert set(df.scenario) == {"S1", "S2"} and set(df.seed) == {1, 2}
    assert (df.mean_throughput_bps > 0).all()
    summary = pd.read_csv(tmp_path / "fig2_summary.csv")
    assert list(summary.columns[:5]) == ["topology", "scenario", "improvement_pct", "ci_low", "ci_high"]
    assert (tmp_path / "fig2.png").stat().st_size > 0
    assert (df.ns3_wall_s > 0).all() and (df.simulated_s == 1.5).all()  # warm-up 0.3 + 1.0 + drain 0.2
    again = _fig2(tmp_path)
    assert again.returncode == 0
    assert "0 ran, 8 skipped" in again.stdout
    assert pd.read_csv(tmp_path / "fig2.csv").equals(df)
    # one record per invocation: the first ran everything, the resume skipped everything
    first, second = json.loads((tmp_path / "fig2_runs.json").read_text())["invocations"]
    assert (first["ran"], first["skipped"], second["ran"], second["skipped"]) == (8, 0, 0, 8)
    assert first["wall_s"] > 0 and len(first["load_average_at_start"]) == 3
    # observed_rates rounds to 3 decimals: at most 5e-4 off the exact ratio
    assert first["observed_wall_per_sim_s"]["small"] == pytest.approx(df.ns3_wall_s.sum() / df.simulated_s.sum(),
                                                                      abs=5e-4 + 1e-9)


@pytest.mark.ns3
def test_fig2_every_arm_tunes_on_the_same_budget_then_evaluates_every_seed_and_resumes(tmp_path, fake):
    url, script = fake([middle_of_every_range])
    argv = RUN + ["fig2", "--profile", "tiny", "--out", str(tmp_path), "--quiet", "--llm-url", url,
                  "--llm-model", "fake-model"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr + p.stdout
    # phase 1: 4 cells x 2 seeds traditional + 4 tuning tasks (every arm inside)
    assert "phase 1 (traditional runs, tuning tasks): 12 ran" in p.stdout
    n_requests = len(script.requests)
    assert n_requests >= 4  # at least one generation per proposed loop (k=1, iterations=1)
    assert all(isinstance(r.get("seed"), int) for r in script.requests)  # every LLM request is seeded

    tuning = pd.read_csv(tmp_path / "fig2_tuning.csv")
    assert len(tuning) == 4 * 4 and set(tuning.tuning_seed) == {1001}  # 4 cells x 4 arms; 1000 + the first seed
    assert set(tuning.method) == {"proposed", "random", "rule", "tpe"}
    # the same budget: the shared base run plus at most k x iterations = 1 new run per arm
    assert (tuning.ns3_runs <= 2).all() and (tuning.O >= tuning.O_base).all()
    assert (tuning[tuning.method != "proposed"].llm_calls == 0).all()
    assert (tuning[tuning.method == "proposed"].llm_calls >= 1).all()
    # every arm of a cell starts from the same base run under the same weights
    assert (tuning.groupby(["scenario", "ul_activity"]).O_base.nunique() == 1).all()
    cands = pd.read_csv(tmp_path / "fig2_candidates.csv")
    assert set(cands.method) <= {"proposed", "random", "rule", "tpe"} and len(cands) >= 4 * 3
    rule_vals = [json.loads(v) for v in cands[cands.method == "rule"]["values"]]
    assert len(rule_vals) == 3  # S2 cells only: S1 has no access spread to set
    assert all(v["access_spread_s"] == fig2.REPORT_PERIOD_S for v in rule_vals)  # the one-line rule

    df = pd.read_csv(tmp_path / "fig2.csv")
    assert list(df.columns[:6]) == ["topology", "scenario", "method", "seed", "stability", "mean_throughput_bps"]
    assert len(df) == 8 + 4 * 4 * 2 and set(df.method) == {"traditional", "proposed", "random", "rule", "tpe"}
    trad = df[df.method == "traditional"].set_index(["scenario", "ul_activity", "seed"])
    for _, r in df[df.method != "traditional"].iterrows():
        t = trad.loc[(r.scenario, r.ul_activity, r.seed)]
        if r.config_hash == t.config_hash:  # the base kept: the very traditional run, same O (same weights)
            assert r.stability == t.stability and r.O == t.O
    summary = pd.read_csv(tmp_path / "fig2_summary.csv")
    assert {"method", "activity"} <= set(summary.columns)
    assert set(summary.method) == {"proposed", "random", "rule", "tpe"} and len(summary) == 4 * 4
    assert (summary.n_pairs == 2).all()
    for f in ("fig2.png", "fig2_tuning.png"):
        assert (tmp_path / f).stat().st_size > 0

    again = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr + again.stdout
    assert again.stdout.startswith("fig2: 0 ran,")
    assert len(script.requests) == n_requests  # nothing was tuned again
    assert pd.read_csv(tmp_path / "fig2.csv").equals(df)


@pytest.mark.unit
def test_estimate_profile_counts_runs_and_phases():
    rates = {"source": "unit", "wall_per_sim_s": {"small": 1.0}, "startup_s": {"small": 0.0},
             "llm_s_per_candidate": 0.0, "bridged_factor": 1.0, "llm_startup_s": 0.0}
    e = fig2.estimate_profile_s("tiny", rates, workers=2)
    # tiny: 1.5 simulated s per run. Phase 1 = 8 traditional runs (1.5 s) + 4 tuning tasks (the shared
    # base run + 1 candidate for each of 4 arms: 7.5 s) = 42 core-s; on 2 workers, longest first: 21 s.
    # Phase 2, worst case: 4 arms x 4 cells x 2 seeds = 32 new configs (1.5 s) = 48 core-s -> 24 s.
    assert e["ns3_runs"] == 8 + 4 * 5 + 32 and e["tasks"] == 12 + 32
    assert e["core_s"] == pytest.approx(90.0) and e["wall_s"] == pytest.approx(45.0)
    assert e["phase1_wall_s"] == pytest.approx(21.0) and e["phase2_wall_s"] == pytest.approx(24.0)
    # expected: only new_config_share of phase 2's worst case, spread over the workers
    half = fig2.estimate_profile_s("tiny", dict(rates, new_config_share=0.5), workers=2)
    assert half["wall_s_expected"] == pytest.approx(21.0 + 0.5 * 48.0 / 2) and half["wall_s"] == e["wall_s"]
    trad_only = fig2.estimate_profile_s("tiny", rates, workers=1, methods=("traditional",))
    assert trad_only["ns3_runs"] == 8 and trad_only["wall_s"] == pytest.approx(12.0)


@pytest.mark.unit
def test_full_profile_is_paper_grade_and_planned_within_an_hour():
    full = fig2.PROFILES["full"]
    assert len(full["seeds"]) >= 5 and len(fig2.S2_ACTIVITIES) >= 3 and set(full["topologies"]) == set(fig2.TOPOLOGIES)
    assert len(fig2.tuning_seeds(full)) >= 3 and not set(fig2.tuning_seeds(full)) & set(full["seeds"])
    assert fig2.estimate_profile_s("full", workers=2)["wall_s_expected"] <= 3600  # planning figures, not a timing


@pytest.mark.unit
def test_planning_rates_do_not_undercut_the_measured_full_campaign():
    """PLANNING_RATES against the published `fig2 --full` campaign (docs/fig2-full): the rates it observed
    per topology, the share of phase 2's worst case it needed, and its wall time under an hour."""
    docs = REPO / "docs" / "fig2-full"
    df = pd.read_csv(docs / "fig2.csv")
    observed = fig2.observed_rates(df)
    assert set(observed) == set(fig2.TOPOLOGIES)
    for topology, rate in observed.items():
        assert fig2.PLANNING_RATES["wall_per_sim_s"][topology] >= rate, topology
    runs = json.loads((docs / "fig2_runs.json").read_text())["invocations"]
    whole = [r for r in runs if r["skipped"] == 0 and r["ran"] > 0]
    assert whole and all(r["wall_s"] <= 3600 for r in whole)
    evaluated = df[df.method != "traditional"].drop_duplicates("key")
    new_runs = (~evaluated.key.isin(df[df.method == "traditional"].key)).sum()
    worst = fig2.estimate_profile_s("full", workers=2, methods=fig2.METHODS)
    worst_phase2_runs = worst["tasks"] - len(fig2.phase1_tasks(fig2.PROFILES["full"], docs, None, None))
    assert new_runs / worst_phase2_runs <= fig2.PLANNING_RATES["new_config_share"]


@pytest.mark.unit
def test_scenario2_reports_fall_due_together_within_the_paper_rate_cap():
    cfg = fig2.scenario_config("small", "S2", 0.7, 1, 2.0, 0.5, 0.2)
    t = cfg["traffic"]
    assert t["service"] == "mmtc" and t["synchronized_periods"] and t["access_spread_s"] == fig2.S2_ACCESS_SPREAD_S
    assert 8 * t["payload_bytes"]["max"] / t["report_period_s"] <= 2000  # "UL at most 2 kbps per sensor"
    assert cfg["network"]["deadline_ms"] == fig2.S2_DEADLINE_MS


@pytest.mark.ns3
def test_resume_after_sigkill_loses_nothing(tmp_path):
    proc = subprocess.Popen(RUN + ["fig2", "--profile", "tiny", "--out", str(tmp_path), "--methods", "traditional",
                                   "--quiet", "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    db = tmp_path / "campaign.sqlite"
    deadline = time.monotonic() + 300
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as c:
                    done = c.execute("SELECT COUNT(*) FROM runs WHERE status='done'").fetchone()[0]
            except sqlite3.OperationalError:
                pass
        if done >= 2:
            break
        time.sleep(0.2)
    assert done >= 2, "the campaign never finished a run"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finished_before = c.execute("SELECT COUNT(*) FROM runs WHERE status='done'").fetchone()[0]
    assert finished_before < 8
    p = _fig2(tmp_path)
    assert p.returncode == 0, p.stderr
    assert f"{8 - finished_before} ran, {finished_before} skipped" in p.stdout
    df = pd.read_csv(tmp_path / "fig2.csv")
    assert len(df) == 8 and not df.duplicated(["scenario", "ul_activity", "method", "seed"]).any()


def _tasks(out):
    from experiments import fig2

    profile = dict(fig2.PROFILES["tiny"], seeds=[3])
    return fig2.phase1_tasks(profile, out, None, None, methods=("traditional",))[:3]


@pytest.mark.ns3
def test_dask_local_cluster_gives_the_same_results_as_local(tmp_path):
    from distributed import Client, LocalCluster

    local = Campaign(tmp_path / "local.sqlite", "fig2")
    local.run_missing(_tasks(tmp_path / "l"), LocalExecutor(workers=2))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dask = Campaign(tmp_path / "dask.sqlite", "fig2")
        counts = dask.run_missing(_tasks(tmp_path / "d"), DaskExecutor(client=client))
    assert counts["done"] == 3 and counts["failed"] == 0
    cols = ["key", "stability", "mean_throughput_bps", "T_d", "config_hash"]
    a = local.to_dataframe()[cols].sort_values("key").reset_index(drop=True)
    b = dask.to_dataframe()[cols].sort_values("key").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    prov = local.to_dataframe()["provenance"].iloc[0]
    assert "git_commit" in prov and "ns3_version" in prov


@pytest.mark.ns3
def test_a_failing_run_is_recorded_and_the_campaign_goes_on(tmp_path):
    camp = Campaign(tmp_path / "c.sqlite", "fig2")
    tasks = [Task("fig2:bad", "experiments.fig2:run_cell", {"topology": "nosuch"}, "bad"),
             *_tasks(tmp_path)[:1]]
    counts = camp.run_missing(tasks, LocalExecutor(workers=1))
    assert counts == {"skipped": 0, "done": 1, "failed": 1, "total": 2}
    failed = camp.failures()
    assert len(failed) == 1 and failed["error"].iloc[0]


@pytest.mark.ns3
def test_fig3_csv_and_accuracy_without_llm(tmp_path):
    p = subprocess.run(RUN + ["fig3", "--profile", "tiny", "--out", str(tmp_path), "--no-llm", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr + p.stdout
    df = pd.read_csv(tmp_path / "fig3.csv")
    assert list(df.columns)[:6] == ["method", "predictor", "horizon", "round", "seed", "accuracy"]
    assert set(df.method) == {"H", "H+R", "H+R+GAI"} and sorted(set(df["round"])) == [2, 3, 4, 5]
    assert set(df[df.horizon == 3]["round"]) == {4, 5}  # forecasts three rounds ahead of origins 1 and 2
    assert df.accuracy.between(0, 1).all()
    by = df[df.horizon == 1].groupby(["method", "predictor"]).accuracy.mean()
    # real-time data can only help: the synced 80% are current at the origin
    assert by[("H+R", "last")] > by[("H", "last")]
    # without a model the generator is H+R's ridge (its ablation)
    assert by[("H+R+GAI", "generator")] == by[("H+R", "ridge")]
    assert (tmp_path / "fig3.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.unit
def test_unknown_figure_and_flag_get_usage_help():
    for argv in (["fig9", "--out", "/tmp/x"], ["fig2", "--out", "/tmp/x", "--bogus"]):
        p = subprocess.run(RUN + argv, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and "usage" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.llm
def test_fig2_proposed_runs_the_whole_pipeline_with_the_real_model(tmp_path, vllm_server):
    p = subprocess.run(RUN + ["fig2", "--profile", "tiny", "--out", str(tmp_path), "--quiet", "--methods",
                              "traditional", "proposed", "--llm-url", vllm_server.url, "--llm-model",
                              vllm_server.served_name], capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "phase 1 (traditional runs, tuning tasks): 12 ran" in p.stdout  # 8 traditional + 4 tuning tasks
    df = pd.read_csv(tmp_path / "fig2.csv")
    assert len(df) == 16 and set(df.method) == {"traditional", "proposed"}
    prop = df[df.method == "proposed"]
    assert prop["generated"].notna().all() and (prop.tuning_seed == 1001).all()
    assert (prop.groupby(["scenario", "ul_activity"]).generated.nunique() == 1).all()  # one tuning per cell
    tuning = pd.read_csv(tmp_path / "fig2_tuning.csv")
    assert len(tuning) == 4 and (tuning.candidates >= 1).all() and (tuning.O >= tuning.O_base).all()
    assert (tuning.ns3_runs <= 2).all() and (tuning.llm_calls >= 1).all()
    summary = pd.read_csv(tmp_path / "fig2_summary.csv")
    assert set(summary.scenario) == {"S1", "S2"} and set(summary.method) == {"proposed"}
    assert summary.n_pairs.min() >= 2

    # Resumed with nothing left and no endpoint named: no tuning task needs the LLM, so no embedded
    # server is started (it costs about a minute), and the outputs stay as they were.
    before = (tmp_path / "fig2.csv").read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIDT_LLM_")}
    again = subprocess.run(RUN + ["fig2", "--profile", "tiny", "--out", str(tmp_path), "--quiet", "--methods",
                                  "traditional", "proposed", "--llm-model", vllm_server.served_name],
                           capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0, again.stderr + again.stdout
    first, last = json.loads((tmp_path / "fig2_runs.json").read_text())["invocations"][-2:]
    assert first["llm_endpoint_used"] is True and first["ran"] >= 12 and first["failed"] == 0
    assert last["llm_endpoint_used"] is False and last["ran"] == 0 and last["skipped"] == first["ran"]
    assert last["llm_model"] == vllm_server.served_name
    assert (tmp_path / "fig2.csv").read_bytes() == before


@pytest.mark.ns3
def test_a_campaign_refuses_to_resume_under_another_build(tmp_path):
    camp = Campaign(tmp_path / "c.sqlite", "fig2")
    camp.run_missing(_tasks(tmp_path)[:1], LocalExecutor(workers=1))
    # pretend the stored results came from another binary
    camp.db.execute("UPDATE meta SET value=? WHERE key='builds'",
                    (json.dumps([{"binary_sha256": "0" * 16, "git_commit": "abc"}]),))
    camp.close()
    with pytest.raises(BuildMismatch, match="another build.*--allow-other-build"):
        Campaign(tmp_path / "c.sqlite", "fig2")
    mixed = Campaign(tmp_path / "c.sqlite", "fig2", allow_other_build=True)
    assert [b["binary_sha256"] for b in mixed.builds()][0] == "0" * 16 and len(mixed.builds()) == 2
    assert json.loads(mixed.to_dataframe()["provenance"].iloc[0])["binary_sha256"]
    mixed.close()


@pytest.mark.ns3
def test_fig2_resume_under_another_build_is_refused_with_one_line(tmp_path):
    assert _fig2(tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "campaign.sqlite") as c:
        c.execute("UPDATE meta SET value=? WHERE key='builds'", (json.dumps([{"binary_sha256": "0" * 16,
                                                                              "git_commit": "abc"}]),))
    p = _fig2(tmp_path)
    assert p.returncode == 2 and "another build" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = _fig2(tmp_path, "--allow-other-build")
    assert p.returncode == 0 and "mixes results of 2 builds" in p.stderr and "0 ran, 8 skipped" in p.stdout
