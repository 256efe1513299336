"""Usage errors get one line and exit 2, before any run is spent (issue 14)."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


@pytest.mark.parametrize("argv", [["fig2", "--methods", "traditional", "--quiet"], ["fig3", "--no-llm", "--quiet"],
                                  ["generate", str(REPO / "ns3-scenarios" / "examples" / "small.json")],
                                  ["scenario", str(REPO / "ns3-scenarios" / "examples" / "small.json"), "--quiet"]])
def test_an_out_folder_under_a_plain_file_is_a_usage_error(tmp_path, argv):
    plain = tmp_path / "plain"
    plain.write_text("not a folder")
    p = subprocess.run(RUN + argv + ["--out", str(plain / "x")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "--out" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("figure", ["fig2", "fig3"])
def test_a_dead_llm_endpoint_is_one_line_before_any_run(tmp_path, figure):
    p = subprocess.run(RUN + [figure, "--profile", "tiny", "--out", str(tmp_path), "--quiet",
                              "--llm-url", "http://127.0.0.1:9/v1"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "http://127.0.0.1:9/v1" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # no run was spent
    if (tmp_path / "campaign.sqlite").exists():
        with sqlite3.connect(tmp_path / "campaign.sqlite") as c:
            assert c.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
