"""Twin Explorer (issue 17): real ns-3 runs, the real server (`run.py explore`), a real headless
Chromium (Debian's chromium + chromium-driver) driven by Selenium, the real C++ bridge in live mode.

Set GAIDT_EXPLORER_SHOTS=DIR to also copy the screenshots there (docs/explorer.png is made so).
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from experiments.explore_browser import chromium, explorer_server, measure_page, timings, wait_for
from gaidt import config as configmod
from gaidt.ns3_runner import run_scenario
from gaidt_bridge.history import HistoryStore
from gaidt_bridge.subscriber import CommandClient
from tests.helpers import REPO, small_config

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]


@pytest.fixture(scope="module")
def medium_run(tmp_path_factory):
    """A finished medium run (250 sensors, 8 gateways, 2 s of traffic) with the twin attached."""
    cfg = copy.deepcopy(configmod.example("medium"))
    cfg["duration_s"] = 2.0
    out = tmp_path_factory.mktemp("medium")
    run_scenario(configmod.validate(cfg), out, bridge=True)
    return out


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _synced(run_dir: Path, k: int) -> set[str]:
    with sqlite3.connect(run_dir / "history.sqlite") as db:
        return {n for (n,) in db.execute("SELECT node FROM node_state WHERE kind='sensor' AND round=?", (k,))}


def _stale_on_page(driver) -> set[str]:
    return set(driver.execute_script(
        "return [...document.querySelectorAll('[data-node^=\"sensor-\"][data-stale=\"true\"]')]"
        ".map(e => e.dataset.node)"))


def _shot(driver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    driver.save_screenshot(str(path))
    if os.environ.get("GAIDT_EXPLORER_SHOTS"):
        dest = Path(os.environ["GAIDT_EXPLORER_SHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / name)
    return path


@pytest.mark.ns3
def test_round_api_returns_the_history_stores_twin_at_that_round(medium_run):
    with HistoryStore(medium_run / "history.sqlite") as h:
        h.run_id = h.db.execute("SELECT run_id FROM runs").fetchone()[0]
        rounds = h.rounds()
        k = rounds[len(rounds) // 2]
        window = h.window(1, upto_round=k)
    with explorer_server(str(medium_run)) as url:
        status, st = _get(url + f"api/round/{k}")
        assert status == 200 and st["round"] == k
        sensors = st["sets"]["sensor"]
        assert len(sensors["ids"]) == 250 and len(st["sets"]["gateway"]["ids"]) == 8
        fresh = {f"sensor-{i}" for i, f in zip(sensors["ids"], sensors["fresh"]) if f}
        assert fresh == _synced(medium_run, k) and len(fresh) == 200  # twinning rate 0.8
        expected = window[window["kind"] == "sensor"].set_index("node")
        for name in ("tx_packets", "rx_packets", "latency_mean_ms", "attached_gateway"):
            for i, v, synced in zip(sensors["ids"], sensors["columns"][name], sensors["synced_round"]):
                assert v == expected.loc[f"sensor-{i}", name], (name, i)
                assert synced == expected.loc[f"sensor-{i}", "synced_round"]
        status, part = _get(url + f"api/round/{k}?columns=attached_gateway,attached_sensors")
        assert list(part["sets"]["sensor"]["columns"]) == ["attached_gateway"]
        assert list(part["sets"]["gateway"]["columns"]) == ["attached_sensors"]
        assert part["sets"]["sensor"]["columns"]["attached_gateway"] == sensors["columns"]["attached_gateway"]
        status, err = _get(url + f"api/round/{k}?columns=bogus")
        assert status == 404 and "columns = bogus" in err["error"]
        status, err = _get(url + "api/round/99999")
        assert status == 404 and "round = 99999" in err["error"]
        status, summary = _get(url + "api/run")
        assert summary["rounds"] == rounds and summary["kpis"]["rho"] >= 0
        assert len(summary["sensors_final"]["status"]) == 250
        status, hist = _get(url + "api/node/gateway-0/history?attr=attached_sensors")
        assert status == 200 and hist["rounds"] == rounds  # gateways are synced every round


@pytest.mark.ns3
def test_page_shows_every_node_and_the_scrubber_moves_round_and_stale_marks(medium_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    rounds = json.loads((medium_run / "result.json").read_text())["twin"]["snapshots"]
    with explorer_server(str(medium_run)) as url, chromium() as driver:
        measured = measure_page(driver, url, scrubs=0)
        nodes = driver.execute_script("return [...document.querySelectorAll('[data-node]')].map(e => e.dataset.node)")
        assert sorted(nodes) == sorted([f"sensor-{i}" for i in range(250)] + [f"gateway-{j}" for j in range(8)])
        round_el = driver.find_element(By.CSS_SELECTOR, "[data-round]")
        last = int(round_el.get_attribute("data-round"))
        assert last == rounds
        all_sensors = {f"sensor-{i}" for i in range(250)}
        assert _stale_on_page(driver) == all_sensors - _synced(medium_run, last)

        driver.find_element(By.ID, "scrubber").send_keys(Keys.ARROW_LEFT)
        wait_for(driver, lambda d: round_el.get_attribute("data-round") == str(last - 1), 30, "round last-1 shown")
        stale_before = _stale_on_page(driver)
        assert stale_before == all_sensors - _synced(medium_run, last - 1)
        assert stale_before != all_sensors - _synced(medium_run, last)

        driver.find_element(By.ID, "scrubber").send_keys(Keys.HOME)
        wait_for(driver, lambda d: round_el.get_attribute("data-round") == "1", 30, "round 1 shown")
        assert _stale_on_page(driver) == all_sensors - _synced(medium_run, 1)

        # the inspector: a click shows the node's twin at this round, its last sync and its history chart
        driver.find_element(By.ID, "scrubber").send_keys(Keys.END)
        wait_for(driver, lambda d: round_el.get_attribute("data-round") == str(last), 30, "last round shown")
        # a sensor synced this round but not the one before, and not covered by another node where clicked
        node = driver.execute_script("""
            for (const id of arguments[0]) {
              const r = document.querySelector(`[data-node="${id}"]`).getBoundingClientRect();
              const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
              if (hit && hit.closest('[data-node]') && hit.closest('[data-node]').dataset.node === id) return id;
            }
            return null;""", sorted(_synced(medium_run, last) - _synced(medium_run, last - 1)))
        assert node is not None
        driver.find_element(By.CSS_SELECTOR, f'[data-node="{node}"]').click()
        body = driver.find_element(By.ID, "inspector-body")
        wait_for(driver, lambda d: d.execute_script("return document.querySelector('#chart[data-points]') !== null"),
                 30, "history chart drawn")
        assert body.get_attribute("data-node") == node
        assert f"last sync: this round ({last})" in body.text and "DTDL twin" in body.text
        assert "dtmi:gaidt:IoTSensor;1" in body.text
        # colour by a result.json attribute: the legend becomes a value ramp, the fills follow
        def fills(d):
            return d.execute_script(
                "return [...document.querySelectorAll('[data-node^=\"sensor-\"]')].map(e => e.getAttribute('fill'))")

        before = fills(driver)
        Select(driver.find_element(By.ID, "color-by")).select_by_value("final:latency_mean_ms")
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#legend .ramp"), 30, "value legend")
        assert fills(driver) != before and len(set(fills(driver))) > 10
        shot = _shot(driver, tmp_path, "explorer.png")
        assert shot.stat().st_size > 10_000
        (tmp_path / "explorer_timings.json").write_text(json.dumps(measured | {"after": timings(driver)}, indent=1))
        print(f"\nexplorer page, medium run: load {measured['load_ms']:.0f} ms; screenshot {shot}")


@pytest.mark.ns3
def test_live_pause_from_the_page_holds_snapshots_until_resume(tmp_path):
    """A simulation held at its first rounds (a test-side pause); the page resumes it, pauses it,
    resumes it and stops it, and the snapshots it shows follow."""
    from selenium.webdriver.common.by import By

    ready = threading.Event()
    endpoints: dict = {}
    outcome: dict = {}
    ns3_rounds: list[int] = []

    def on_start(proc, cmd_endpoint):
        client = CommandClient(cmd_endpoint, timeout_s=60)
        try:
            endpoints.update(cmd=cmd_endpoint, pub=cmd_endpoint.rsplit("/", 1)[0] + "/pub",
                             held_at=client.pause()["round"])
        finally:
            client.close()
        ready.set()

    def on_message(msg, sub):
        if msg.topic == "snap":
            ns3_rounds.append(int(msg.header["round"]))

    def run():
        try:
            outcome["result"] = run_scenario(small_config(duration_s=3600.0), tmp_path / "live", bridge=True,
                                             on_start=on_start, on_message=on_message, timeout_s=300).result
        except Exception as e:  # noqa: BLE001 -- reported by the assertion below
            outcome["error"] = e
            ready.set()

    sim = threading.Thread(target=run, daemon=True)
    sim.start()
    assert ready.wait(120) and "error" not in outcome, outcome.get("error")

    with explorer_server("--live", "--bridge-pub", endpoints["pub"], "--bridge-cmd", endpoints["cmd"]) as url, \
            chromium() as driver:
        driver.get(url)
        wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), 60, "page ready")
        round_el = driver.find_element(By.CSS_SELECTOR, "[data-round]")
        # the Set panel offers the scenario's own parameters (joined late, without hello: the bridge's `list`)
        offered = "return [...document.querySelectorAll('#set-param option')].map(o => o.dataset.kind + ':' + o.value)"
        wait_for(driver, lambda d: len(d.execute_script(offered)) == 4, 30, "parameters listed")
        assert set(driver.execute_script(offered)) == {"sensor:report_period_s", "sensor:payload_max_bytes",
                                                       "sensor:active", "gateway:tx_power_dbm"}
        driver.execute_script("const s = document.getElementById('set-param'); s.value = 'report_period_s';"
                              "s.dispatchEvent(new Event('change'))")

        def click(op: str) -> dict:
            n = len(driver.find_elements(By.CSS_SELECTOR, "#replies li"))
            driver.find_element(By.CSS_SELECTOR, f'#commands button[data-cmd="{op}"]').click()
            wait_for(driver, lambda d: d.execute_script(
                "const li = document.querySelectorAll('#replies li');"
                f"return li.length > {n} && li[0].dataset.pending === 'false'"), 60, f"{op} reply shown")
            return driver.execute_script("return window.explorerTimings.commands.at(-1)")

        def received(d) -> list[int]:
            return [r["round"] for r in timings(d)["rounds_received"]]

        resume = click("resume")
        assert resume["reply"].get("ok"), resume
        start = resume["reply"]["round"]
        wait_for(driver, lambda d: len([k for k in received(d) if k > start]) >= 3, 60, "rounds after resume")

        pause = click("pause")
        assert pause["reply"]["ok"], pause
        held = pause["reply"]["round"]
        # snapshot `held` was published before the pause was read; nothing after it may come
        wait_for(driver, lambda d: held in received(d), 30, f"round {held} shown")
        reply_text = driver.find_element(By.CSS_SELECTOR, "#replies li").text
        assert reply_text.startswith("pause → ok") and f"round {held}" in reply_text
        wait_for(driver, lambda d: held in ns3_rounds, 30, f"round {held} at the runner")
        n_before = len(received(driver))
        # while paused: a bounded wait in which no snapshot may arrive (ns-3 would send ~10/s)
        driver.execute_script("return new Promise(r => setTimeout(r, 1500))")
        assert max(received(driver)) == held and len(received(driver)) == n_before
        assert round_el.get_attribute("data-round") == str(held)
        assert max(ns3_rounds) == held  # the runner's own subscriber saw nothing newer either

        driver.find_element(By.ID, "set-value").clear()
        driver.find_element(By.ID, "set-value").send_keys("0.5")
        driver.find_element(By.CSS_SELECTOR, '#set-form button[type="submit"]').click()
        wait_for(driver, lambda d: d.execute_script(
            "const c = window.explorerTimings.commands.at(-1); return c.op === 'set' && c.reply !== null"), 60, "set reply")
        setr = driver.execute_script("return window.explorerTimings.commands.at(-1)")
        assert setr["reply"]["ok"] and setr["reply"]["applied"] == 50 and setr["reply"]["round"] == held

        resume2 = click("resume")
        assert resume2["reply"]["ok"]
        wait_for(driver, lambda d: max(received(d)) > held, 60, "a round after the second resume")
        first_after = next(r for r in timings(driver)["rounds_received"] if r["round"] > held)
        assert first_after["round"] == held + 1
        assert first_after["t_ms"] >= resume2["sent_ms"]  # it arrived only after the page's resume
        wait_for(driver, lambda d: int(round_el.get_attribute("data-round") or 0) > held, 30, "map follows")
        _shot(driver, tmp_path, "explorer-live.png")

        stop = click("stop")
        assert stop["reply"]["ok"] and stop["reply"].get("stopped")
        # the C++ bridge ends a stopped run with status "ok" (PROTOCOL.md says "stopped"): accept either
        wait_for(driver, lambda d: "run ended (" in d.find_element(By.ID, "status").text, 60, "end shown")
    sim.join(timeout=120)
    assert not sim.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"]["bridge"]["stopped_by_command"] is True


SENSOR_COLUMNS = ["x_m", "y_m", "active", "attached", "attached_gateway", "tx_packets", "tx_bytes", "rx_packets",
                  "rx_bytes", "latency_mean_ms", "rsrp_dbm", "sinr_db", "report_period_s"]


def city_1000(out: Path, rounds: int = 30, seed: int = 17) -> Path:
    """A 1000-sensor / 20-gateway twin recorded the way a run records it: generated snapshots (seeded)
    encoded and decoded by the bridge protocol, stored by HistoryStore, exported by TwinGraph; a
    result.json whose sensors carry a `status` and an `energy_j`. (A real 1000-sensor ns-3 run costs minutes here;
    `run.py bench explore` times the page on one.)"""
    import numpy as np

    from gaidt_bridge.protocol import NodeTable, decode, encode_snapshot
    from gaidt_bridge.twin_graph import TwinGraph

    rng = np.random.default_rng(seed)
    n, m = 1000, 20
    gw_xy = np.array([[200.0 + 400 * (j % 5), 250.0 + 500 * (j // 5)] for j in range(m)])
    xy = rng.uniform(0, 2000, size=(n, 2))
    gw_of = np.argmin(((xy[:, None, :] - gw_xy[None]) ** 2).sum(-1), axis=1).astype(float)
    unreachable = rng.random(n) < 0.05
    gw_of[unreachable] = -1
    tx = np.zeros(n)
    out.mkdir(parents=True, exist_ok=True)
    graph = TwinGraph()
    with HistoryStore(out / "history.sqlite") as store:
        store.begin_run("city1000-17")
        for k in range(1, rounds + 1):
            tx += rng.poisson(0.3, n)
            rx = np.where(gw_of >= 0, np.floor(tx * 0.9), 0)
            vals = np.column_stack([xy, np.ones(n), (gw_of >= 0) * 1.0, gw_of, tx, tx * 100, rx, rx * 100,
                                    rng.uniform(10, 60, n), rng.uniform(-120, -80, n), rng.uniform(-5, 30, n),
                                    np.ones(n)])
            idx = np.sort(rng.choice(n, size=800, replace=False)).astype(np.uint32)
            sensors = NodeTable("sensor", "dtmi:gaidt:IoTSensor;1", n, idx, SENSOR_COLUMNS, [], vals[idx])
            load = np.array([(gw_of == j).sum() for j in range(m)], dtype=float)
            gws = NodeTable("gateway", "dtmi:gaidt:Gateway;1", m, np.arange(m, dtype=np.uint32),
                            ["x_m", "y_m", "attached_sensors"], [], np.column_stack([gw_xy, load]))
            msg = decode(encode_snapshot("city1000-17", k, k, 0.1 * k, [sensors, gws]))
            store.append(msg)
            graph.apply_snapshot(msg)
        store.end_run("ok")
    graph.export_dtdl(out / "twin.dtdl.json")
    status = np.where(unreachable, "unreachable", np.where(rng.random(n) < 0.2, "starved", "served"))
    result = {
        "format": "gaidt-result/1", "name": "city1000", "seed": seed, "sensors_total": n, "sensors_attached":
        int((~unreachable).sum()), "duration_s": 0.1 * rounds,
        "totals": {"tx_packets": int(tx.sum()), "goodput_bps": 1e4, "offered_bps": 2e4},
        "kpis": {"rho": float((status == "served").mean()), "d": 0.9, "l": 30.0, "alpha": 0.0},
        "sensors": [{"id": i, "x_m": float(xy[i, 0]), "y_m": float(xy[i, 1]), "attached_gateway": int(gw_of[i]),
                     "tx_packets": int(tx[i]), "rx_packets": int(np.floor(tx[i] * 0.9)) if gw_of[i] >= 0 else 0,
                     "latency_mean_ms": float(rng.uniform(10, 60)), "status": str(status[i]),
                     "energy_j": float(rng.uniform(0.1, 2.0))} for i in range(n)],
        "gateways": [{"id": j, "x_m": float(gw_xy[j, 0]), "y_m": float(gw_xy[j, 1]),
                      "attached_sensors": int((gw_of == j).sum())} for j in range(m)],
        "run": {"wall_s": 0.0},
    }
    (out / "result.json").write_text(json.dumps(result))
    return out


@pytest.mark.ns3
def test_page_of_a_1000_sensor_twin_scrubs_every_round_and_records_its_timings(tmp_path):
    from selenium.webdriver.common.by import By

    run = city_1000(tmp_path / "city1000")
    statuses = [s["status"] for s in json.loads((run / "result.json").read_text())["sensors"]]
    with explorer_server(str(run)) as url, chromium() as driver:
        measured = measure_page(driver, url, scrubs=29)  # every round, each fetched for the first time
        assert measured["nodes"] == 1020 and measured["rounds"] == 30 and len(measured["scrub_ms"]) == 29
        assert driver.find_element(By.CSS_SELECTOR, "[data-round]").get_attribute("data-round") == "1"
        legend = {e.get_attribute("data-status"): e.text for e in driver.find_elements(By.CSS_SELECTOR, "#legend [data-status]")}
        assert legend == {st: f"{st} {statuses.count(st)}" for st in ("served", "starved", "unreachable")}
        fills = driver.execute_script(
            "return Object.fromEntries([...document.querySelectorAll('[data-node^=\"sensor-\"]')]"
            ".map(e => [e.dataset.node, e.getAttribute('fill')]))")
        colours = {"served": "#2e9e4f", "starved": "#f0a020", "unreachable": "#d03030"}
        assert all(fills[f"sensor-{i}"] == colours[st] for i, st in enumerate(statuses))
        options = driver.execute_script("return [...document.querySelectorAll('#color-by option')].map(o => o.value)")
        assert options[0] == "final:status" and "final:energy_j" in options  # an energy field, when one exists
        links = driver.execute_script("return document.querySelectorAll('#links line:not([display])').length")
        assert links == sum(st_gw >= 0 for st_gw in [s["attached_gateway"] for s in
                                                       json.loads((run / "result.json").read_text())["sensors"]])
    # timings are recorded, not asserted (tests never assert on wall-clock time): see `run.py bench explore`
    (tmp_path / "explorer_timings_1000.json").write_text(json.dumps(measured, indent=1))
    print(f"\n1000-sensor page: load {measured['load_ms']:.0f} ms, scrub redraw median "
          f"{sorted(measured['scrub_ms'])[14]:.0f} ms, max {max(measured['scrub_ms']):.0f} ms")


@pytest.mark.slow
@pytest.mark.unit
@pytest.mark.parametrize("args,field", [
    (["/nonexistent/run"], "DIR"),
    ([], "DIR"),
    (["--live"], "--live"),
    (["--live", "--bridge-pub", "http://x", "--bridge-cmd", "ipc:///tmp/x"], "--bridge-pub"),
    (["--host", "0.0.0.0"], "--host"),
    (["--host", "127.0.0.2", "--token", "short"], "--token"),
    (["--port", "70000"], "--port"),
], ids=["missing-dir", "no-dir", "live-no-endpoints", "bad-endpoint", "host-without-token", "short-token", "port"])
def test_bad_explore_arguments_exit_2_with_one_line(args, field):
    p = subprocess.run(RUN + ["explore", *args], check=False, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], p.stderr


@pytest.mark.ns3
def test_a_token_guards_the_api_when_bound_beyond_loopback(medium_run):
    token = "s3cret-token-0123456789"
    with explorer_server(str(medium_run), "--host", "127.0.0.2", "--token", token) as url:
        assert url.startswith("http://127.0.0.2:") and url.endswith(f"?token={token}")
        base = url.split("?")[0]
        status, err = _get(base + "api/run")
        assert status == 401 and "token" in err["error"]
        status, _ = _get(base + f"api/run?token={token}x")
        assert status == 401
        status, summary = _get(base + f"api/run?token={token}")
        assert status == 200 and summary["mode"] == "finished"
