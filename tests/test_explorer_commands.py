"""The Explorer's command route (issue 28): values are checked before they reach the bridge (finite
numbers only; the node and parameter the run's hello lists), the route answers within about 1 s when
the bridge does not, and a state-changing request from another Origin is refused. A real held ns-3
run, its real bridge, the real FastAPI app (TestClient)."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from experiments.explore import COMMAND_REPLY_S, LiveRun, command_value, create_app
from gaidt.ns3_runner import run_scenario
from tests.helpers import small_config


@pytest.mark.unit
@pytest.mark.parametrize("value, expected", [
    (0.5, 0.5), ("0.5", 0.5), (" 2 ", 2.0), ("1e3", 1000.0), (3, 3.0),
    ("NaN", None), ("nan", None), ("inf", None), ("-Infinity", None), ("1e400", None), (1e400, None),
    (True, None), (False, None), ("abc", None), ([1], None), (None, None), ({"v": 1}, None), ("0x10", None),
])
def test_command_values_are_finite_numbers_only(value, expected):
    assert command_value(value) == expected


@pytest.mark.ns3
def test_the_command_route_checks_values_answers_in_time_and_checks_origin(tmp_path):
    from fastapi.testclient import TestClient

    info: dict = {}
    ready = threading.Event()
    outcome: dict = {}

    def on_start(proc, cmd):
        info["pid"] = proc.pid
        ready.set()

    def run():
        try:
            outcome["result"] = run_scenario(small_config(duration_s=1.0), tmp_path / "run", hold=True,
                                             hold_timeout_s=120, on_bridge=info.update, on_start=on_start,
                                             timeout_s=300).result
        except Exception as e:  # noqa: BLE001 -- reported by the assertions below
            outcome["error"] = e
            ready.set()

    sim = threading.Thread(target=run, daemon=True)
    sim.start()
    assert ready.wait(120) and "error" not in outcome, outcome.get("error")
    live = LiveRun(info["pub"], info["cmd"])
    live.start()
    try:
        deadline = time.monotonic() + 60
        while live.hello is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert live.hello is not None
        client = TestClient(create_app(live, allowed_hosts=("testserver",)))

        def post(body: dict, **headers):
            return client.post("/api/command", content=json.dumps(body),
                               headers={"Content-Type": "application/json", **headers})

        # 1. refused before the bridge: nothing of these reaches it
        for value in ("NaN", "inf", "1e400", True, "abc", [1]):
            r = post({"op": "set", "node": "sensor-3", "param": "report_period_s", "value": value}).json()
            assert r["ok"] is False and r["error"].startswith("value = ") and "finite" in r["error"], r
        r = post({"op": "set", "node": "lamp-1", "param": "report_period_s", "value": 1}).json()
        assert r["ok"] is False and "node = " in r["error"] and "sensor" in r["error"]
        r = post({"op": "get", "node": "sensor-3", "param": "tx_packets"}).json()
        assert r["ok"] is False and "param = " in r["error"] and "report_period_s" in r["error"]

        # 2. a good set, its value as the page's input field sends it (a string)
        r = post({"op": "set", "node": "sensor-3", "param": "report_period_s", "value": "0.5"}).json()
        assert r["ok"] is True and r["applied"] == 1 and r["round"] == 0
        assert post({"op": "get", "node": "sensor-3", "param": "report_period_s"}).json()["value"] == 0.5

        # 3. another site's page cannot command the run; the page's own origin can
        r = post({"op": "ping"}, Origin="http://evil.example")
        assert r.status_code == 403 and "Origin" in r.json()["error"]
        assert post({"op": "ping"}, Origin="http://testserver").json()["ok"] is True

        # 4. a bridge that does not answer (ns-3 stopped for a moment): an answer within about 1 s each
        os.kill(info["pid"], signal.SIGSTOP)
        try:
            took = []
            for _ in range(2):
                t0 = time.monotonic()
                r = post({"op": "ping"}).json()
                took.append(time.monotonic() - t0)
                assert r["ok"] is False and r.get("pending") is True and "no reply" in r["error"]
        finally:
            os.kill(info["pid"], signal.SIGCONT)
        assert max(took) < COMMAND_REPLY_S + 1.5, took

        assert post({"op": "resume"}).json()["ok"] is True
        sim.join(300)
    finally:
        live.close()
    assert "error" not in outcome, outcome.get("error")
    b = outcome["result"]["bridge"]
    # forwarded: set, get, ping (origin ok), 2 pings while stopped (answered later or ended), resume
    assert b["commands"] == b["replies"] + b["replies_dropped"] == 6
    assert b["bad_commands"] == 0
