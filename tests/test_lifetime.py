"""Process lifetime (issue 14): no ns-3 run outlives the command that started it, a stopped run
leaves no result.json that looks finished, and temporary ipc folders do not pile up."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from gaidt import lifetime
from tests.helpers import REPO

pytestmark = pytest.mark.ns3

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


def _ns3_under(path: Path) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "gaidt-iot-city" in cmd and str(path) in cmd:
            out.append(p)
    return out


def _wait_for_ns3(path: Path, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    """Until an ns-3 run under `path` is simulating: it has published a round into a history store.
    (A process still loading ns-3's libraries has not reached main(), where it ties its life to its
    parent; it exits as soon as it gets there. Killing the parent before that would time the loader.)"""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and proc.poll() is None:
        if _ns3_under(path) and any(_rounds(db) > 0 for db in path.rglob("history.sqlite")):
            return
        time.sleep(0.1)
    raise AssertionError(f"no ns-3 run under {path} started simulating (exit {proc.poll()})")


def _rounds(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as c:
            return c.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
    except sqlite3.Error:
        return 0


def _gone_within(path: Path, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not [p for p in _ns3_under(path) if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]:
            return True
        time.sleep(0.05)
    return False


def _long_small(tmp_path: Path) -> Path:
    cfg = tmp_path / "long.json"
    cfg.write_text((REPO / "ns3-scenarios" / "examples" / "small.json").read_text()
                   .replace('"duration_s": 5', '"duration_s": 120'))
    return cfg


def test_kill_9_of_a_campaign_process_group_ends_its_ns3_runs(tmp_path):
    # fig3's runs are bridged, so _wait_for_ns3 can see one simulating
    proc = subprocess.Popen(RUN + ["fig3", "--profile", "tiny", "--no-llm", "--workers", "2",
                                   "--quiet", "--out", str(tmp_path)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_ns3(tmp_path, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert _gone_within(tmp_path, 1.0), [p.pid for p in _ns3_under(tmp_path)]


def test_sigterm_to_run_py_stops_ns3_and_cleans_up(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(RUN + ["scenario", str(_long_small(tmp_path)), "--out", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for_ns3(out, proc)
    proc.send_signal(signal.SIGTERM)
    assert _gone_within(out, 1.0)
    proc.wait(timeout=30)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert not (out / "result.json").exists()  # a run that did not finish leaves no finished-looking result
    assert not list(Path(tempfile.gettempdir()).glob(f"{lifetime.TMP_PREFIX}{proc.pid}-*"))


def test_kill_9_of_run_py_alone_ends_ns3_and_the_next_run_sweeps_its_folder(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(RUN + ["scenario", str(_long_small(tmp_path)), "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    _wait_for_ns3(out, proc)
    proc.kill()  # the parent only: its ns-3 child runs in a session of its own
    proc.wait(timeout=30)
    assert _gone_within(out, 1.0)
    assert not (out / "result.json").exists()
    assert list(Path(tempfile.gettempdir()).glob(f"{lifetime.TMP_PREFIX}{proc.pid}-*"))  # no chance to clean up
    lifetime.sweep_stale_tmp_dirs()
    assert not list(Path(tempfile.gettempdir()).glob(f"{lifetime.TMP_PREFIX}{proc.pid}-*"))
