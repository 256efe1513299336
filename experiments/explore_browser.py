"""A headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium, for the
Twin Explorer's browser test and `run.py bench explore`.

explorer_server() starts `run.py explore ...` as a child process and yields its URL;
chromium() yields a WebDriver; measure_page() loads a page and scrubs it, returning the
page's own timings (window.explorerTimings, ms).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gaidt import config as configmod
from gaidt import ns3_runner
from gaidt.errors import RunError

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("GAIDT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GAIDT_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")


class BrowserMissing(RunError, RuntimeError):
    """Chromium or chromedriver is not installed (apt-get install chromium chromium-driver)."""


@contextlib.contextmanager
def explorer_server(*args: str, timeout_s: float = 60.0):
    """Run `run.py explore ARGS --port 0` and yield the URL it prints; stopped (SIGINT, then
    SIGKILL) on exit."""
    cmd = [sys.executable, str(REPO / "experiments" / "run.py"), "explore", *args, "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        url = _read_url(proc, timeout_s)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for f in (proc.stdout, proc.stderr):
            f.close()


def _read_url(proc: subprocess.Popen, timeout_s: float) -> str:
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not sel.select(timeout=0.5):
            if proc.poll() is not None:
                break
            continue
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"(http://\S+)", line)
        if m:
            return m.group(1)
    proc.kill()
    raise RuntimeError(f"run.py explore did not start (exit {proc.poll()}): {proc.stderr.read()[-2000:]}")


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 900):
    """A headless Chromium WebDriver with a fresh profile, removed on exit."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        raise BrowserMissing(f"{CHROMIUM} or {CHROMEDRIVER} missing: apt-get install chromium chromium-driver "
                             "(scripts/setup.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gaidt-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, predicate, timeout_s: float = 30.0, what: str = "condition"):
    """Poll predicate(driver) until it returns a truthy value; TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate(driver)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"browser: {what} not reached within {timeout_s:.0f} s")
        time.sleep(0.05)


def timings(driver) -> dict:
    """The page's own timings (window.explorerTimings) from the browser."""
    return driver.execute_script("return window.explorerTimings")


def measure_page(driver, url: str, scrubs: int = 10) -> dict:
    """Load the page of a finished run, then step the scrubber back `scrubs` rounds with the
    keyboard (each step a round never fetched before). Returns the page's timings: load_ms
    (navigation start to the first drawn round), scrub_ms (input event to the next frame)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(url)
    wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), 60, "page ready")
    scrubber = driver.find_element(By.ID, "scrubber")
    n_rounds = int(scrubber.get_attribute("max")) + 1
    steps = min(scrubs, n_rounds - 1)
    for i in range(steps):
        scrubber.send_keys(Keys.ARROW_LEFT)
        wait_for(driver, lambda d, n=i + 1: len(timings(d)["scrub_ms"]) >= n, 30, f"scrub {i + 1} drawn")
    t = timings(driver)
    nodes = driver.execute_script("return document.querySelectorAll('[data-node]').length")
    return {"load_ms": t["load_ms"], "scrub_ms": t["scrub_ms"], "rounds": n_rounds, "nodes": nodes}


def bench_explore(topology: str = "large", duration_s: float | None = None, reloads: int = 3,
                  run_dir: str | None = None, progress=None) -> dict:
    """`run.py bench explore`: a real run of `topology` (default large: 1000 sensors) with the twin,
    then its explorer page in headless Chromium: page load (navigation start to the first drawn
    round) over `reloads` loads, and scrub redraws (input event to the next frame) stepping back
    through every stored round, each fetched for the first time. Goals (issue 17): load < 2000 ms,
    redraw < 200 ms."""
    import copy
    import statistics

    say = progress or (lambda msg: None)
    load_before = os.getloadavg()[0]
    with contextlib.ExitStack() as stack:
        if run_dir is None:
            cfg = copy.deepcopy(configmod.example(topology))
            cfg["duration_s"] = duration_s if duration_s is not None else 0.5
            run_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="gaidt-bench-explore-"))
            say(f"explore: running {topology} ({cfg['topology']['sensors']} sensors, {cfg['duration_s']} s of traffic)")
            ns3_runner.run_scenario(configmod.validate(cfg), run_dir, bridge=True)
        url = stack.enter_context(explorer_server(str(run_dir)))
        loads, scrubs, split = [], [], []
        for i in range(reloads):
            say(f"explore: page load {i + 1}/{reloads}")
            with chromium() as driver:  # a fresh browser per load: no warm cache
                m = measure_page(driver, url, scrubs=10**6 if i == 0 else 0)
                loads.append(m["load_ms"])
                if i == 0:
                    scrubs = m["scrub_ms"]
                    split = timings(driver).get("scrub_split") or []
                    nodes, rounds = m["nodes"], m["rounds"]
    scrubs_sorted = sorted(scrubs)
    p95 = scrubs_sorted[min(len(scrubs_sorted) - 1, round(0.95 * (len(scrubs_sorted) - 1)))] if scrubs else None
    return {
        "topology": topology, "nodes_on_map": nodes, "rounds": rounds, "browser": "chromium (headless)",
        "load_ms": {"median": statistics.median(loads), "max": max(loads), "runs": loads},
        "scrub_ms": {"median": statistics.median(scrubs) if scrubs else None, "p95": p95,
                     "max": max(scrubs) if scrubs else None, "n": len(scrubs),
                     "fetch_median": statistics.median([s["fetch_ms"] for s in split]) if split else None,
                     "render_median": statistics.median([s["render_ms"] for s in split]) if split else None},
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0], "cores": os.cpu_count()},
        "goals": {"load_ms": 2000, "scrub_ms": 200},
        "met": {"load": max(loads) < 2000, "scrub": bool(scrubs) and p95 < 200},
    }
