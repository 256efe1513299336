"""Campaigns and figures: tiny profiles on the small topology, real ns-3."""
from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from experiments.campaign import Campaign, DaskExecutor, LocalExecutor, Task, grid
from experiments.stats import mean_ci, stability
from tests.conftest import REPO

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


def test_mean_ci_on_known_data():
    m, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    # t(0.975, 4) = 2.7764451; s = 1.5811388; half = t * s / sqrt(5) = 1.9632432
    assert m == 3.0
    assert lo == pytest.approx(3.0 - 1.9632432, abs=1e-6)
    assert hi == pytest.approx(3.0 + 1.9632432, abs=1e-6)
    m, lo, hi = mean_ci([2.0])
    assert m == 2.0 and math.isnan(lo) and math.isnan(hi)


def test_stability_definition():
    assert stability([5.0, 5.0, 5.0]) == 1.0
    assert stability([0.0, 10.0]) == pytest.approx(0.5)  # CV = 1
    assert math.isnan(stability([0.0, 0.0]))


def test_grid_is_the_cartesian_product():
    g = grid(a=[1, 2], b=["x", "y", "z"])
    assert len(g) == 6 and g[0] == {"a": 1, "b": "x"} and g[-1] == {"a": 2, "b": "z"}


def _fig2(out, *extra, timeout=900):
    return subprocess.run(RUN + ["fig2", "--profile", "tiny", "--out", str(out), "--methods", "traditional",
                                 "--quiet", *extra], capture_output=True, text=True, timeout=timeout)


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
    again = _fig2(tmp_path)
    assert again.returncode == 0
    assert "0 ran, 8 skipped" in again.stdout
    assert pd.read_csv(tmp_path / "fig2.csv").equals(df)


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
    return fig2.tasks_for(profile, out, None, None, methods=("traditional",))[:3]


def test_dask_local_cluster_gives_the_same_results_as_local(tmp_path):
    from distributed import Client, LocalCluster

    local = Campaign(tmp_path / "local.sqlite", "fig2")
    local.run_missing(_tasks(tmp_path / "l"), LocalExecutor(workers=2))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dask = Campaign(tmp_path / "dask.sqlite", "fig2")
        counts = dask.run_missing(_tasks(tmp_path / "d"), DaskExecutor(client=client))
    assert counts["done"] == 3 and counts["failed"] == 0
    cols = ["key", "stability", "mean_throughput_bps", "O", "config_hash"]
    a = local.to_dataframe()[cols].sort_values("key").reset_index(drop=True)
    b = dask.to_dataframe()[cols].sort_values("key").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    prov = local.to_dataframe()["provenance"].iloc[0]
    assert "git_commit" in prov and "ns3_version" in prov


def test_a_failing_run_is_recorded_and_the_campaign_goes_on(tmp_path):
    camp = Campaign(tmp_path / "c.sqlite", "fig2")
    tasks = [Task("fig2:bad", "experiments.fig2:run_cell", {"topology": "nosuch"}, "bad"),
             *_tasks(tmp_path)[:1]]
    counts = camp.run_missing(tasks, LocalExecutor(workers=1))
    assert counts == {"skipped": 0, "done": 1, "failed": 1, "total": 2}
    failed = camp.failures()
    assert len(failed) == 1 and failed["error"].iloc[0]


def test_fig3_csv_and_accuracy_without_llm(tmp_path):
    p = subprocess.run(RUN + ["fig3", "--profile", "tiny", "--out", str(tmp_path), "--no-llm", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr + p.stdout
    df = pd.read_csv(tmp_path / "fig3.csv")
    assert list(df.columns) == ["method", "round", "seed", "accuracy"]
    assert set(df.method) == {"H", "H+R", "H+R+GAI"} and sorted(set(df["round"])) == [1, 2, 3, 4]
    assert df.accuracy.between(0, 1).all()
    by = df.groupby("method").accuracy.mean()
    # real-time data can only help: the synced 80% are current
    assert by["H+R"] > by["H"]
    assert (tmp_path / "fig3.png").stat().st_size > 0


def test_unknown_figure_and_flag_get_usage_help():
    for argv in (["fig9", "--out", "/tmp/x"], ["fig2", "--out", "/tmp/x", "--bogus"]):
        p = subprocess.run(RUN + argv, capture_output=True, text=True, timeout=60)
        assert p.returncode == 2 and "usage" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.llm
def test_fig2_proposed_runs_the_whole_pipeline_with_the_real_model(tmp_path, vllm_server):
    p = subprocess.run(RUN + ["fig2", "--profile", "tiny", "--out", str(tmp_path), "--quiet",
                              "--llm-url", vllm_server.url, "--llm-model", vllm_server.served_name],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr + p.stdout
    df = pd.read_csv(tmp_path / "fig2.csv")
    assert len(df) == 16 and set(df.method) == {"traditional", "proposed"}
    assert df[df.method == "proposed"]["generated"].notna().all()
    summary = pd.read_csv(tmp_path / "fig2_summary.csv")
    assert set(summary.scenario) == {"S1", "S2"} and summary.n_pairs.min() >= 2
