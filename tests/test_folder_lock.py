"""One writer per --out folder (issue 28): a second writer gets one line naming the holder's pid and
exit 2, the first run's folder is complete; the lock of a killed process is taken over."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest
import zmq

from gaidt.campaign import locked_out_dir
from gaidt.folder_lock import LOCK_NAME, FolderLock, FolderLocked
from tests.helpers import REPO, small_config

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]

# a process that holds DIR's lock until it is killed (prints "locked" once it has it)
HOLDER = textwrap.dedent("""
    import sys, time
    from gaidt.campaign import locked_out_dir
    with locked_out_dir(sys.argv[1], "holder"):
        print("locked", flush=True)
        time.sleep(600)
""")


def _start_holder(folder):
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], cwd=REPO,  # -c puts the checkout first
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


@pytest.mark.slow
@pytest.mark.unit
def test_a_second_process_is_refused_naming_the_holder_and_a_dead_holders_lock_is_taken_over(tmp_path):
    holder = _start_holder(tmp_path / "out")
    try:
        with pytest.raises(FolderLocked) as e:
            with locked_out_dir(tmp_path / "out", "scenario"):
                pass
        assert f"pid {holder.pid}" in str(e.value) and "run.py holder" in str(e.value)
        assert e.value.exit_code == 2 and "\n" not in str(e.value)
    finally:
        holder.send_signal(signal.SIGKILL)  # no chance to clean up: the lock file stays behind
        holder.wait(10)
    assert (tmp_path / "out" / LOCK_NAME).exists()
    with locked_out_dir(tmp_path / "out", "scenario") as out:  # the dead holder's lock is taken over
        assert f"pid={os.getpid()} " in (out / LOCK_NAME).read_text()


@pytest.mark.slow
@pytest.mark.unit
def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    with FolderLock(tmp_path, "a"):
        with FolderLock(tmp_path, "b"):  # a campaign running a scenario into its own folder
            pass
        probe = subprocess.run([sys.executable, "-c", HOLDER, str(tmp_path)], cwd=REPO,
                               capture_output=True, text=True, timeout=60)
        assert probe.returncode != 0 and "FolderLocked" in probe.stderr  # still held by the outer level
    holder = _start_holder(tmp_path)  # released: another process gets it
    holder.kill()
    holder.wait(10)


@pytest.mark.ns3
def test_two_scenario_runs_on_one_folder_the_second_is_refused_and_the_first_completes(tmp_path):
    cfg = dict(small_config(), duration_s=1.0)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    out = tmp_path / "run"
    # the first run is held at round 0 (it owns the folder) until the second has been refused
    first = subprocess.Popen(RUN + ["scenario", str(tmp_path / "cfg.json"), "--out", str(out), "--quiet",
                                    "--bridge-hold", "--bridge-hold-timeout-s", "120",
                                    "--bridge-cmd", f"ipc://{tmp_path}/cmd"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert first.stderr.readline().startswith("run.py: bridge ")
    second = subprocess.run(RUN + ["scenario", str(tmp_path / "cfg.json"), "--out", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 2, second.stderr
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pid {first.pid}" in lines[0] and "Traceback" not in second.stderr
    ctx = zmq.Context.instance()
    cmd = ctx.socket(zmq.DEALER)
    cmd.setsockopt(zmq.LINGER, 0)
    cmd.connect(f"ipc://{tmp_path}/cmd")
    cmd.send_multipart([b"", b'{"op": "resume"}'])
    assert cmd.poll(30000)
    cmd.close()
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    result = json.loads((out / "result.json").read_text())
    assert json.loads((out / "config.json").read_text()) == cfg  # the first run's config, not the second's
    assert result["twin"]["snapshots"] == result["bridge"]["rounds"] > 0
    with sqlite3.connect(out / "history.sqlite") as c:
        assert c.execute("SELECT COUNT(DISTINCT run_id) FROM runs").fetchone()[0] == 1
