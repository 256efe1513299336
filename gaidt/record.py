"""Record any publisher's run (a Python or C++ ns-3 program using the twin bridge) into a run folder.

    outcome = record("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5556", "results/my-run")

writes, in the folder, what `run.py scenario --out DIR` writes for the built-in city, so that
`run.py explore DIR` works on it:

  history.sqlite   every received snapshot (gaidt_bridge.history.HistoryStore)
  twin.dtdl.json   the twin at the end (TwinGraph.export_dtdl)
  result.json      built from the stream alone (format "gaidt-recording/1", below)

result.json of a recording holds what the stream carries, nothing computed from physics:
  format, run_id, name (hello static `scenario`, else the run id), status (`gaidt.end`'s, or
  "no_end"), static (hello's), period_s, rounds, duration_s (the simulated time of the end),
  parameters ({kind: settable parameter names}), columns ({kind: [{name, unit}]}),
  sensors / gateways / nodes ({kind: [...]} for other kinds): every node's final state from
  `gaidt.end` ({"id": i, column: value}), sensors_total, sensors_attached (when the sensors publish
  `attached` or `attached_gateway`), totals (sums of the sensors' packet and byte counters;
  goodput_bps = 8 rx_bytes / duration_s and offered_bps = 8 tx_bytes / duration_s when those
  columns exist), kpis ({}: a recording has no physics to score), twin (subscriber counters),
  bridge (the endpoints), missing (what the stream did not provide).
"""
from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gaidt.campaign import make_out_dir
from gaidt.errors import RunError, UsageError
from gaidt.folder_lock import folder_lock
from gaidt_bridge.history import HistoryStore
from gaidt_bridge.protocol import Message
from gaidt_bridge.subscriber import BridgeError, CommandClient, Subscriber

__all__ = ["RECORDING_FORMAT", "RecordOutcome", "record", "result_from_stream"]

RECORDING_FORMAT = "gaidt-recording/1"
_ENDPOINT = re.compile(r"^(tcp://[^\s/]+:\d{1,5}|ipc:///\S+)$")
_COUNTER_UNITS = ("packets", "bytes")


@dataclass
class RecordOutcome:
    """What record() wrote: the folder, its result.json content, and the message counts."""

    out: Path
    result: dict
    wall_s: float
    files: list[Path] = field(default_factory=list)


def _check_endpoint(option: str, endpoint: str) -> str:
    if not isinstance(endpoint, str) or not _ENDPOINT.match(endpoint):
        raise UsageError(f"{option} = {endpoint!r}: allowed: tcp://HOST:PORT or ipc:///ABSOLUTE/PATH "
                         "(the endpoints the publisher binds)")
    return endpoint


def _rows(msg: Message | None) -> dict[str, list[dict]]:
    """kind -> [{"id": i, column: value}] of a message's tables (NaN as None)."""
    out: dict[str, list[dict]] = {}
    for table in (msg.tables if msg is not None else []):
        rows = out.setdefault(table.kind, [])
        for i, row in zip(table.index.tolist(), table.values.tolist()):
            rows.append({"id": int(i), **{c: (None if math.isnan(v) else v) for c, v in zip(table.columns, row)}})
    return out


def result_from_stream(hello: dict | None, end: Message | None, counters: dict, pub: str, cmd: str | None) -> dict:
    """The result.json of a recording (module docstring) from hello's header, the end message and the
    subscriber's counters."""
    hello = hello or {}
    static = hello.get("static") or {}
    end_h = end.header if end is not None else {}
    sets = hello.get("sets") or []
    final = _rows(end)
    duration_s = end_h.get("sim_time_s", hello.get("end_time_s"))
    sensors = final.pop("sensor", [])
    gateways = final.pop("gateway", [])
    units = {s.get("kind"): {c.get("name"): c.get("unit") for c in s.get("columns", [])} for s in sets}
    missing = []
    if not hello:
        missing.append("hello (static data, columns, parameters)")
    if end is None:
        missing.append("gaidt.end (final state: sensors, gateways, totals)")
    totals = {}
    for name, unit in (units.get("sensor") or {}).items():
        if unit in _COUNTER_UNITS and sensors and all(isinstance(s.get(name), (int, float)) for s in sensors):
            totals[name] = sum(s[name] for s in sensors)
    if duration_s:
        for name, key in (("rx_bytes", "goodput_bps"), ("tx_bytes", "offered_bps")):
            if name in totals:
                totals[key] = 8.0 * totals[name] / float(duration_s)
    attached = None
    if sensors and "attached" in sensors[0]:
        attached = sum(1 for s in sensors if s.get("attached"))
    elif sensors and "attached_gateway" in sensors[0]:
        attached = sum(1 for s in sensors if s.get("attached_gateway") is not None and s["attached_gateway"] >= 0)
    total_of = {s.get("kind"): s.get("total") for s in sets}
    result = {
        "format": RECORDING_FORMAT,
        "run_id": end_h.get("run_id", hello.get("run_id")),
        "name": static.get("scenario") or end_h.get("run_id", hello.get("run_id")),
        "seed": static.get("seed"),
        "status": end_h.get("status", "no_end"),
        "static": static,
        "period_s": hello.get("period_s"),
        "rounds": end_h.get("round"),
        "duration_s": duration_s,
        "parameters": {s.get("kind"): list(s.get("parameters", [])) for s in sets},
        "columns": {s.get("kind"): list(s.get("columns", [])) for s in sets},
        "sensors_total": total_of.get("sensor", len(sensors) if sensors else None),
        "sensors_attached": attached,
        "sensors": sensors,
        "gateways": gateways,
        "nodes": final,
        "totals": totals,
        "kpis": {},
        "twin": {k: counters.get(k) for k in
                 ("snapshots", "gaps", "missed_before_start", "bad_frames", "out_of_order", "updates")},
        "bridge": {"pub_endpoint": pub, "cmd_endpoint": cmd},
        "missing": missing,
    }
    return result


def record(pub_endpoint: str, cmd_endpoint: str | None, out_dir: str | Path, *,
           hello_timeout_s: float = 180.0, idle_timeout_s: float = 60.0, resume: bool = True,
           progress: Callable[[Message, Subscriber], None] | None = None,
           on_wait: Callable[[], None] | None = None) -> RecordOutcome:
    """Record one run from a publisher's endpoints into out_dir (module docstring) and return it.

    Waits at most hello_timeout_s (wall) for the first message and at most idle_timeout_s between
    two messages. A held run (hello `"held": true`) is resumed through cmd_endpoint when resume is
    true. on_wait() is called once the arguments are checked and the recorder listens; progress(msg,
    subscriber) after each applied message.

    Raises UsageError (exit 2) for a bad endpoint or folder or a held run without cmd_endpoint,
    RunError (exit 1) when no message comes in time or the run ends without `gaidt.end`; in the latter
    case the folder still holds what was received (result.json with status "no_end").
    """
    _check_endpoint("--bridge-pub", pub_endpoint)
    if cmd_endpoint:
        _check_endpoint("--bridge-cmd", cmd_endpoint)
        if cmd_endpoint == pub_endpoint:
            raise UsageError(f"--bridge-cmd = {cmd_endpoint!r}: must differ from --bridge-pub")
    for name, v in (("hello_timeout_s", hello_timeout_s), ("idle_timeout_s", idle_timeout_s)):
        if not v > 0:
            raise UsageError(f"{name} = {v}: must be > 0 s")
    out = make_out_dir(out_dir)
    # one writer per folder (gaidt.folder_lock): a second `record` or `scenario` on it is refused
    with folder_lock(out, "record"):
        return _record_into(out, pub_endpoint, cmd_endpoint, hello_timeout_s, idle_timeout_s, resume, progress,
                            on_wait)


def _record_into(out: Path, pub_endpoint: str, cmd_endpoint: str | None, hello_timeout_s: float,
                 idle_timeout_s: float, resume: bool, progress, on_wait) -> RecordOutcome:
    """record()'s body, under the folder's lock."""
    for name in ("history.sqlite", "history.sqlite-wal", "history.sqlite-shm", "result.json", "twin.dtdl.json"):
        (out / name).unlink(missing_ok=True)
    t0 = time.monotonic()
    store = HistoryStore(out / "history.sqlite")
    sub = Subscriber(pub_endpoint, store=store)
    client = CommandClient(cmd_endpoint, timeout_s=10.0) if cmd_endpoint else None
    failure = None
    try:
        if on_wait is not None:
            on_wait()
        deadline = t0 + hello_timeout_s
        resumed = False
        while sub.stats.end is None:
            msg = sub.poll(min(0.2, max(0.0, deadline - time.monotonic())))
            if msg is None:
                if time.monotonic() >= deadline:
                    if sub.stats.messages == 0:
                        failure = (f"--bridge-pub = {pub_endpoint!r}: no message within {hello_timeout_s:g} s; "
                                   "is the publisher running and bound there?")
                    else:
                        failure = (f"no message from {pub_endpoint} for {idle_timeout_s:g} s after round "
                                   f"{sub.graph.graph.get('round', 0)}; the publisher stopped without gaidt.end")
                    break
                continue
            deadline = time.monotonic() + idle_timeout_s
            if msg.topic == "hello" and msg.header.get("held") and resume and not resumed:
                if client is None:
                    failure = UsageError("--bridge-cmd: missing; the run is held (--bridge-hold) and only its "
                                         "command endpoint can resume it")
                    break
                try:
                    client.resume()
                except BridgeError as e:
                    failure = f"--bridge-cmd = {cmd_endpoint!r}: could not resume the held run ({e})"
                    break
                resumed = True
            if progress is not None:
                progress(msg, sub)
        sub.drain(0.05)
        if sub.stats.end is None and store.run_id is not None:
            store.end_run("no_end", sub.stats.gaps, sub.stats.bad_frames)
        files = [out / "history.sqlite"]
        if sub.stats.snapshots or sub.final is not None:
            sub.graph.export_dtdl(out / "twin.dtdl.json")
            files.append(out / "twin.dtdl.json")
        result = result_from_stream(sub.stats.hello, sub.final, sub.stats.as_dict(), pub_endpoint, cmd_endpoint)
        result["run"] = {"wall_s": time.monotonic() - t0}
        if sub.stats.messages:
            tmp = out / "result.json.tmp"
            tmp.write_text(json.dumps(result, indent=1))
            tmp.replace(out / "result.json")  # atomic: never a half-written result.json
            files.append(out / "result.json")
    finally:
        sub.close()
        store.close()
        if client is not None:
            client.close()
    if failure is not None:
        raise failure if isinstance(failure, UsageError) else RunError(failure)
    return RecordOutcome(out, result, time.monotonic() - t0, files)
