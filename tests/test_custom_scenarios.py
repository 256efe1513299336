"""Custom scenarios are first-class (issue 29): a user's own ns-3 program, Python or C++, on the twin bridge is
recorded by `run.py record` and explored by `run.py explore`; the C++ example builds out of tree.

Real parts: the `ns3` wheel's Python bindings (the Python example), the wheel's C++ libraries and the bridge
library (the C++ example, built by CMake from a temporary folder), ZeroMQ, the Explorer's HTTP server.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from experiments.explore_browser import explorer_server
from gaidt.record import RECORDING_FORMAT
from gaidt_bridge.history import AmbiguousRunError, HistoryStore
from gaidt_bridge.protocol import NodeTable, decode, encode_snapshot
from tests.helpers import REPO

RUN = [sys.executable, str(REPO / "experiments" / "run.py")]
EXAMPLES = REPO / "ns3-scenarios" / "examples"
KPI_ROWS = ("return Object.fromEntries([...document.querySelectorAll('#kpis tr')]"
            ".map(r => [r.cells[0].textContent, r.cells[1].textContent]))")


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _record_while(publisher: list[str], out: Path, ipc_dir: Path, timeout_s: float = 600) -> subprocess.CompletedProcess:
    """Start the publisher (binding ipc endpoints in ipc_dir), record it with `run.py record`; both must end."""
    pub, cmd = f"ipc://{ipc_dir}/pub", f"ipc://{ipc_dir}/cmd"
    proc = subprocess.Popen([*publisher, f"--bridge-pub={pub}", f"--bridge-cmd={cmd}"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        rec = subprocess.run(RUN + ["record", "--bridge-pub", pub, "--bridge-cmd", cmd, "--out", str(out),
                                    "--hello-timeout-s", "400"],
                             capture_output=True, text=True, timeout=timeout_s, check=False)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    log = proc.stdout.read()
    proc.stdout.close()
    assert proc.returncode == 0, log[-2000:]
    return rec


@pytest.fixture(scope="module")
def python_run(tmp_path_factory):
    """ns3-scenarios/examples/custom_scenario.py (8 sensors, 2 gateways, 2 s), recorded by `run.py record`."""
    d = tmp_path_factory.mktemp("pyrec")
    rec = _record_while([sys.executable, str(EXAMPLES / "custom_scenario.py"), "--sensors", "8"], d / "run", d)
    assert rec.returncode == 0, rec.stderr
    return d / "run", rec


@pytest.mark.ns3
def test_the_python_example_is_recorded_into_a_folder_explore_serves(python_run):
    run_dir, rec = python_run
    assert {p.name for p in run_dir.iterdir()} >= {"history.sqlite", "twin.dtdl.json", "result.json"}
    assert f"wrote {run_dir / 'result.json'}" in rec.stdout
    result = json.loads((run_dir / "result.json").read_text())
    assert result["format"] == RECORDING_FORMAT and result["status"] == "ok" and result["missing"] == []
    assert result["sensors_total"] == 8 and result["sensors_attached"] == 8 and len(result["gateways"]) == 2
    # totals are the sums of the final state in gaidt.end
    assert result["totals"]["rx_bytes"] == sum(s["rx_bytes"] for s in result["sensors"]) > 0
    assert result["totals"]["goodput_bps"] == pytest.approx(8 * result["totals"]["rx_bytes"] / result["duration_s"])
    with HistoryStore(run_dir / "history.sqlite") as h:  # its only run opens without a run_id
        assert h.run_id == result["run_id"] == "custom-1"
        rounds = h.rounds()
        last = h.window(1)
    assert rounds == list(range(1, result["rounds"] + 1))
    with explorer_server(str(run_dir)) as url:
        status, summary = _get(url + "api/run")
        assert status == 200 and summary["rounds"] == rounds and summary["missing"] == []
        assert summary["sensors_total"] == 8 and summary["parameters"]["sensor"] == ["interval_s"]
        assert summary["sensors_final"]["ids"] == list(range(8))
        assert summary["sensors_final"]["status"] == ["attached"] * 8  # served is not known for a recording
        status, st = _get(url + f"api/round/{rounds[-1]}")
        sensors = st["sets"]["sensor"]
        assert status == 200 and sensors["ids"] == list(range(8))
        assert all(x is not None for x in sensors["columns"]["x_m"])  # positions: the map can place them
        mine = last[last["kind"] == "sensor"].sort_values("node", key=lambda s: s.str.split("-").str[1].astype(int))
        assert sensors["columns"]["rx_bytes"] == mine["rx_bytes"].tolist()
        status, hist = _get(url + "api/node/sensor-3/history?attr=rx_packets")
        assert status == 200 and len(hist["rounds"]) >= len(rounds) // 2
        assert hist["values"] == sorted(hist["values"]) and hist["values"][-1] > 0  # a counter over the run


@pytest.mark.ns3
def test_explore_shows_a_folder_that_lacks_parts_and_names_them(python_run, tmp_path):
    run_dir, _ = python_run
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(run_dir / "history.sqlite", partial / "history.sqlite")
    with explorer_server(str(partial)) as url:
        status, summary = _get(url + "api/run")
        assert status == 200 and summary["missing"] == ["result.json", "twin.dtdl.json"]
        assert summary["rounds"] and summary["sensors_total"] == 8
    empty = tmp_path / "empty"
    empty.mkdir()
    p = subprocess.run(RUN + ["explore", str(empty), "--port", "0"], capture_output=True, text=True, timeout=60)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1 and "result.json" in lines[0] and "record" in lines[0], p.stderr


def _snap(run_id: str, k: int) -> list[bytes]:
    table = NodeTable("sensor", "dtmi:gaidt:IoTSensor;1", 2, np.arange(2, dtype=np.uint32), ["tx_packets"], ["packets"],
                      np.array([[k], [2.0 * k]]))
    return encode_snapshot(run_id, k, k, 0.1 * k, [table])


@pytest.mark.unit
def test_history_store_opens_its_only_run_and_names_them_when_there_are_several(tmp_path):
    path = tmp_path / "h.sqlite"
    with HistoryStore(path) as h:
        h.begin_run("first")
        h.append(decode(_snap("first", 1)))
    with HistoryStore(path) as h:
        assert h.run_id == "first" and h.rounds() == [1] and len(h.table()) == 2
        h.append(decode(_snap("second", 1)))  # no begin_run (a late joiner): the run is registered anyway
        h.append(decode(_snap("second", 2)))
    with HistoryStore(path) as h:
        assert h.run_id is None and h.runs() == ["first", "second"]
        with pytest.raises(AmbiguousRunError, match="2 runs \\(first, second\\); pass run_id="):
            h.window(1)
        assert h.rounds("second") == [1, 2]
    with HistoryStore(path, run_id="second") as h:
        assert h.table()["round"].max() == 2


@pytest.mark.slow
@pytest.mark.unit
@pytest.mark.parametrize("args, exit_code, needle", [
    (["--bridge-pub", "http://x", "--out", "{out}"], 2, "--bridge-pub = 'http://x'"),
    (["--bridge-pub", "ipc://{out}/p", "--bridge-cmd", "ipc://{out}/p", "--out", "{out}"], 2, "--bridge-cmd"),
    (["--bridge-pub", "ipc://{out}/p", "--out", "{out}", "--hello-timeout-s", "0"], 2, "hello_timeout_s"),
    (["--bridge-pub", "ipc://{out}/p", "--out", "{out}/plain/x"], 2, "--out"),
    (["--bridge-pub", "ipc://{out}/nobody", "--out", "{out}", "--hello-timeout-s", "1"], 1, "no message within 1 s"),
], ids=["bad-endpoint", "same-endpoints", "zero-timeout", "out-under-a-file", "no-publisher"])
def test_record_errors_are_one_line_with_their_exit_code(tmp_path, args, exit_code, needle):
    (tmp_path / "plain").write_text("a file, not a folder")
    p = subprocess.run(RUN + ["record", *[a.format(out=tmp_path) for a in args]], capture_output=True, text=True,
                       timeout=60)
    lines = p.stderr.strip().splitlines()
    if exit_code == 2:  # usage errors: that one line only
        assert len(lines) == 1, p.stderr
    errors = [ln for ln in lines if ln.startswith("run.py record:")]
    assert p.returncode == exit_code and len(errors) == 1 and needle in errors[0], p.stderr
    assert "Traceback" not in p.stderr


CRASHING_PUBLISHER = """
import sys
from gaidt_bridge.publisher import TwinPublisher
pub = TwinPublisher(sys.argv[1], None, run_id="crash")
s = pub.add_node_set("sensor", "dtmi:gaidt:IoTSensor;1", 3, sampled=False)
s.column("tx_packets", "packets", lambda: [1.0, 2.0, 3.0])
pub.start(0.1, twinning_rate=1.0, seed=1, subscriber_wait_s=60, end_time_s=10.0)
for k in range(1, 4):
    pub.round(sim_time_s=0.1 * k)
pub.close()  # gone without gaidt.end, as a crashed program would be
"""


@pytest.mark.slow
@pytest.mark.unit
def test_a_publisher_gone_without_end_fails_the_recording_and_keeps_what_arrived(tmp_path):
    pub = f"ipc://{tmp_path}/pub"
    proc = subprocess.Popen([sys.executable, "-c", CRASHING_PUBLISHER, pub], cwd=REPO, stdin=subprocess.DEVNULL)
    try:
        p = subprocess.run(RUN + ["record", "--bridge-pub", pub, "--out", str(tmp_path / "run"), "--idle-timeout-s", "2"],
                           capture_output=True, text=True, timeout=120)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("run.py record:")]
    assert p.returncode == 1 and len(errors) == 1 and "without gaidt.end" in errors[0], p.stderr
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "no_end" and result["twin"]["snapshots"] == 3 and result["sensors"] == []
    assert any("gaidt.end" in m for m in result["missing"])
    with HistoryStore(tmp_path / "run" / "history.sqlite") as h:
        assert h.rounds() == [1, 2, 3]
        assert h.db.execute("SELECT status FROM runs").fetchone()[0] == "no_end"


# ---------------------------------------------------------------- C++ out of tree
def _usage_statements(header: str) -> list[str]:
    """The code of twin-bridge.h's usage comment, as whitespace-normalized statements."""
    lines = header.splitlines()
    start = next(i for i, ln in enumerate(lines) if "gaidt::TwinBridgeHelper helper;" in ln)
    end = next(i for i, ln in enumerate(lines) if 'bridge->Finish("ok");' in ln)
    code = " ".join(ln.removeprefix("//").strip() for ln in lines[start:end + 1])
    return [re.sub(r"\s+", " ", s).strip() + ";" for s in code.split(";") if s.strip()]


@pytest.mark.ns3
def test_the_header_usage_is_in_the_cxx_example_in_order():
    statements = _usage_statements((REPO / "gaidt_bridge/include/gaidt-bridge/twin-bridge.h").read_text())
    assert len(statements) >= 10
    source = re.sub(r"\s+", " ", (EXAMPLES / "cxx-scenario" / "cxx-scenario.cc").read_text())
    pos = 0
    for s in statements:  # each statement verbatim, in the comment's order
        found = source.find(s, pos)
        assert found >= 0, s
        pos = found + len(s)


@pytest.mark.ns3
def test_the_cxx_example_builds_out_of_tree_and_its_rounds_are_recorded(tmp_path):
    src = tmp_path / "cxx-scenario"
    shutil.copytree(EXAMPLES / "cxx-scenario", src)  # a folder outside the GAIDT tree
    build = tmp_path / "build"
    for cmd in (["cmake", "-S", str(src), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release", f"-DGAIDT_ROOT={REPO}",
                 f"-DGAIDT_PYTHON={sys.executable}"],
                ["cmake", "--build", str(build), "-j1"]):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
        assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert not (build / "gaidt" / "ns3-scenarios").exists()  # only the bridge library is built from GAIDT
    exe = build / "cxx-scenario"
    # held at start (the bridge's Hold attribute, from the command line): record resumes it, so no round is lost
    rec = _record_while([str(exe), "--sensors=6", "--gaidt::TwinBridge::Hold=true",
                         "--gaidt::TwinBridge::HoldTimeout=300"], tmp_path / "run", tmp_path)
    assert rec.returncode == 0, rec.stderr
    assert "(held: resuming)" in rec.stderr
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "ok" and result["rounds"] == 99 and result["sensors_total"] == 6
    assert result["twin"]["snapshots"] == 99 and result["twin"]["gaps"] == result["twin"]["missed_before_start"] == 0
    assert result["parameters"] == {"sensor": ["report_period_s"], "gateway": []}
    with HistoryStore(tmp_path / "run" / "history.sqlite") as h:
        assert h.rounds() == list(range(1, 100))
        table = h.table()
    assert set(table["kind"]) == {"sensor", "gateway"}
    # sensor-0 reports once per second from 0.1 s: its stored counter follows the clock
    s0 = table[table["node"] == "sensor-0"].sort_values("round")
    expected = np.floor(s0["sim_time_s"] - 0.1 + 1e-9) + 1
    assert (s0["tx_packets"].diff().dropna() >= 0).all() and ((s0["tx_packets"] - expected).abs() <= 1).all()
    assert sum(s["tx_packets"] for s in result["sensors"]) == 60


@pytest.mark.ns3
def test_the_page_of_a_run_without_positions_says_so_and_shows_dashes_for_missing_values(tmp_path):
    """A folder with only a history of sensors that publish no x_m / y_m (written here: the page's behaviour
    is under test, not a publisher's)."""
    from selenium.webdriver.common.by import By

    from experiments.explore_browser import chromium, wait_for

    with HistoryStore(tmp_path / "history.sqlite") as h:
        h.begin_run("no-positions")
        for k in range(1, 6):
            h.append(decode(_snap("no-positions", k)))
    with explorer_server(str(tmp_path)) as url, chromium() as driver:
        driver.get(url)
        wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), 60, "page ready")
        note = driver.find_element(By.ID, "map-note")
        assert note.is_displayed() and "no positions" in note.text and "x_m" in note.text
        kpis = driver.execute_script(KPI_ROWS)
        assert kpis["sensors"] == "–/2" and "null" not in " ".join(kpis.values())
        status = driver.find_element(By.ID, "status").text
        assert "lacks result.json, twin.dtdl.json" in status


@pytest.mark.ns3
def test_the_live_page_of_the_shipped_python_example_adapts_to_it(tmp_path):
    """ns3-scenarios/examples/python_scenario.py (no positions, one parameter `interval_s`), held at start:
    the live page's Set panel offers interval_s only, the map says why it is empty, and the page resumes it."""
    from selenium.webdriver.common.by import By

    from experiments.explore_browser import chromium, timings, wait_for

    pub, cmd = f"ipc://{tmp_path}/pub", f"ipc://{tmp_path}/cmd"
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / "python_scenario.py"), "--bridge-pub", pub,
                             "--bridge-cmd", cmd, "--bridge-hold", "--bridge-hold-timeout-s", "400",
                             "--sensors", "10", "--duration-s", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        with explorer_server("--live", "--bridge-pub", pub, "--bridge-cmd", cmd) as url, chromium() as driver:
            driver.get(url)
            wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), 60,
                     "page ready")
            offered = "return [...document.querySelectorAll('#set-param option')].map(o => o.dataset.kind + ':' + o.value)"
            wait_for(driver, lambda d: d.execute_script(offered) == ["sensor:interval_s"], 400, "interval_s offered")
            driver.find_element(By.CSS_SELECTOR, '#commands button[data-cmd="resume"]').click()
            wait_for(driver, lambda d: len(timings(d)["rounds_received"]) >= 3, 120, "rounds after resume")
            note = driver.find_element(By.ID, "map-note")
            assert note.is_displayed() and "no positions" in note.text
            kpis = driver.execute_script(KPI_ROWS)  # one read: a live page redraws the table
            assert kpis["sensors"] == "10/10" and "null" not in " ".join(kpis.values())  # from attached_gateway
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
