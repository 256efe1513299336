"""The one place that starts ns-3.

run_scenario() validates nothing (callers pass a resolved config from
gaidt.config), writes it beside the result, starts the scenario binary
with the twin bridge on private ipc:// endpoints (or on endpoints the caller
names, so that other clients can attach), keeps the TwinGraph and the history
store up to date while it runs, and returns the parsed result.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gaidt_bridge.history import HistoryStore
from gaidt_bridge.subscriber import Subscriber

from .atomic_file import write_text_atomic
from .config import REPO, ConfigError
from .errors import RunError
from .lifetime import private_tmp_dir

BUILD_DIR = Path(os.environ.get("GAIDT_BUILD_DIR", REPO / "build"))
BINARY = BUILD_DIR / "ns3-scenarios" / "gaidt-iot-city"
# NS_LOG for ns-3 children: warnings (and errors) of the components that warn (ns-3's own syntax)
NS_LOG_WARNINGS = "GaidtTwinBridge=level_warn"


class Ns3Error(RunError, RuntimeError):
    """ns-3 exited abnormally; the message has the exit status and stderr tail."""

    def __init__(self, message: str, returncode: int | None = None, stderr_tail: str = ""):
        super().__init__(message)
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class AttachError(Ns3Error):
    """Some sensors never attached (exit code 3)."""


@dataclass
class RunOutcome:
    """A finished run: result.json's content, the output folder, wall seconds and, with the bridge, the twin
    graph, subscriber counters and ground truth."""
    result: dict
    out_dir: Path
    wall_s: float
    graph: object | None = None
    subscriber: dict = field(default_factory=dict)
    truth: dict = field(default_factory=dict)


def build_info() -> dict:
    """What the build recorded (build/gaidt-build.json: ns-3 version, have_nr, ...); {} before a build."""
    p = BUILD_DIR / "gaidt-build.json"
    return json.loads(p.read_text()) if p.exists() else {}


def have_nr() -> bool:
    """True if the scenario binary was built with 5G-LENA's nr module."""
    return bool(build_info().get("have_nr", False))


def _tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def _status(rc: int) -> str:
    if rc < 0:
        try:
            return f"killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"


TCMALLOC = Path("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")


def _env(cfg: dict) -> dict:
    """ns-3's environment: tcmalloc preloaded when sim.allocator asks for it (and exists), and NS_LOG
    showing our components' warnings (NS_LOG_WARNINGS) unless NS_LOG is set already."""
    env = dict(os.environ)
    # the bridge's warnings (NS_LOG_WARN) reach ns3.log unless the user chose their own NS_LOG
    env.setdefault("NS_LOG", NS_LOG_WARNINGS)
    if cfg.get("sim", {}).get("allocator") == "tcmalloc":
        lib = next((p for p in (TCMALLOC, *Path("/usr/lib").glob("*/libtcmalloc_minimal.so.4")) if p.exists()), None)
        if lib is not None:
            env["LD_PRELOAD"] = f"{lib} {env['LD_PRELOAD']}" if env.get("LD_PRELOAD") else str(lib)
    return env


def config_text(cfg: dict) -> str:
    """The resolved config exactly as the scenario binary reads it (DIR/config.json)."""
    return json.dumps(cfg, indent=1)


_ENDPOINT = re.compile(r"^(?:tcp://(?:127\.0\.0\.1|localhost):(\d{1,5})|ipc://(/\S+))$")
ENDPOINTS_ALLOWED = "tcp://127.0.0.1:PORT (or localhost:PORT) with PORT 1..65535, or ipc:///ABSOLUTE/PATH"
_RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_RUN_ID_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def default_run_id(cfg: dict, suffix: str | None = None) -> str:
    """``NAME-SEED-<8 hex>``, always a valid run id (1-64 of A-Z a-z 0-9 . _ -): every other character
    of the config's name becomes ``_`` and the name is cut to fit (``"my run"`` -> ``my_run-1-3f2a...``).
    A run id that ns-3's command line or a subscriber would cut or mangle loses the whole twin."""
    tail = f"-{cfg.get('seed', 0)}-{suffix or uuid.uuid4().hex[:8]}"
    name = _RUN_ID_BAD.sub("_", str(cfg.get("name", "run"))).strip("_") or "run"
    return name[:64 - len(tail)] + tail  # tail: at most 20 characters (seed <= 2^32-1)


def check_endpoint(option: str, endpoint: str) -> str:
    """A bridge endpoint on loopback or a local ipc path; ConfigError naming option, value, allowed.
    Returns it with ``localhost`` resolved to 127.0.0.1 (ZeroMQ cannot bind a host name)."""
    m = _ENDPOINT.match(endpoint or "") if isinstance(endpoint, str) and len(endpoint) <= 4096 else None
    if not m or (m.group(1) is not None and not 1 <= int(m.group(1)) <= 65535):
        shown = repr(endpoint) if len(repr(endpoint)) <= 120 else repr(endpoint)[:117] + "..."
        raise ConfigError(f"{option} = {shown}: allowed: {ENDPOINTS_ALLOWED}")
    return f"tcp://127.0.0.1:{int(m.group(1))}" if m.group(1) is not None else endpoint


MAX_HOLD_TIMEOUT_S = 86400.0  # a day: a held run nobody resumes must end some time
LIVENESS_TIMEOUT_S = 5.0  # wall seconds without a beat (1 per s) or with ns-3 stopped before it is reported


def _process_state(pid: int) -> str:
    """The state letter of /proc/PID/stat ("R", "S", "T" stopped, "t" traced, ...); "" if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.rfind(")") + 2:][:1]


class Liveness:
    """Finds a stopped or hung ns-3 in seconds, independent of simulated progress: the bridge's beats
    (PROTOCOL.md, "Liveness": one per second of wall time, from a thread of their own) stop when the
    process is stopped (kill -STOP) or frozen; /proc/PID/stat's state "T" shows a stop even before the
    bridge starts. ``check`` raises Ns3Error after LIVENESS_TIMEOUT_S of either. A run that is alive but
    slow keeps beating: stall_timeout_s covers one that beats and never publishes."""

    def __init__(self, pid: int, log_path: Path, timeout_s: float = LIVENESS_TIMEOUT_S):
        self.pid, self.log_path, self.timeout_s = pid, log_path, timeout_s
        self.stopped_since: float | None = None

    def check(self, last_heard: float | None) -> None:
        """Raise Ns3Error if ns-3 has been stopped, or silent since its last beat, for timeout_s."""
        now = time.monotonic()
        stopped = _process_state(self.pid) in ("T", "t")
        self.stopped_since = (self.stopped_since or now) if stopped else None
        silent = last_heard is not None and now - last_heard > self.timeout_s
        if silent or (self.stopped_since is not None and now - self.stopped_since > self.timeout_s):
            what = "stopped (SIGSTOP or a debugger)" if stopped else "hung"
            since = f"no heartbeat from its bridge for {now - last_heard:.0f} s (one a second is expected)" \
                if silent else f"in state T for {now - self.stopped_since:.0f} s"
            raise Ns3Error(f"ns-3 (pid {self.pid}) is {what}: {since}; killed (see {self.log_path})")


def _check_twin_received(result: dict, seen: dict, run_id: str) -> None:
    """A run whose physical twin published while the twin received nothing lost its twin: a RunError."""
    published = int(result.get("bridge", {}).get("messages", 0) or 0)
    if published > 0 and not seen.get("messages"):
        why = (f"{seen['foreign']} dropped as another run's (run_id mismatch)" if seen.get("foreign")
               else f"{seen.get('bad_frames', 0)} malformed" if seen.get("bad_frames") else "none arrived")
        raise RunError(f"ns-3 published {published} bridge messages for run_id {run_id!r} but the twin received "
                       f"none of them ({why}); history.sqlite and the twin are empty")


def _check_binary() -> None:
    if not BINARY.exists():
        raise Ns3Error(f"scenario binary {BINARY} not built; run `make setup` first")


def run_scenario(
    cfg: dict,
    out_dir: str | Path,
    *,
    bridge: bool = True,
    on_message: Callable | None = None,
    on_start: Callable | None = None,
    timeout_s: float | None = None,
    run_id: str | None = None,
    truth: bool = False,
    stall_timeout_s: float = 600.0,
    pub_endpoint: str | None = None,
    cmd_endpoint: str | None = None,
    hold: bool = False,
    hold_timeout_s: float = 300.0,
    on_bridge: Callable | None = None,
) -> RunOutcome:
    """Run one resolved config; write DIR/config.json, DIR/result.json and, with
    the bridge, DIR/history.sqlite and DIR/twin.dtdl.json. truth=True also collects
    every round's full ground truth (outcome.truth: round -> message).
    With the bridge, a simulation that is alive but sends nothing for stall_timeout_s
    (wall clock) is killed and reported; timeout_s bounds the whole run. A stopped or hung
    ns-3 (no bridge beat, or process state T, for LIVENESS_TIMEOUT_S) is killed and reported
    in seconds (Liveness). The folder's config.json and result.json are written whole (temporary
    name + rename); a run whose twin received none of what ns-3 published raises RunError.

    pub_endpoint / cmd_endpoint: where the bridge binds (check_endpoint; default a
    private ipc:// path each); hold: the run starts paused until a client sends
    resume, at most hold_timeout_s of wall time (PROTOCOL.md, "Hold").
    on_bridge(info) is called once ns-3 is started, with info = {"pub", "cmd",
    "run_id", "held", "hold_timeout_s"}; on_start(proc, cmd_endpoint) then;
    on_message(msg, subscriber) after each bridge message is applied.
    Raises Ns3Error/AttachError/ConfigError.
    """
    pub_endpoint = check_endpoint("--bridge-pub", pub_endpoint) if pub_endpoint is not None else None
    cmd_endpoint = check_endpoint("--bridge-cmd", cmd_endpoint) if cmd_endpoint is not None else None
    if pub_endpoint is not None and pub_endpoint == cmd_endpoint:
        raise ConfigError(f"--bridge-cmd = {cmd_endpoint!r}: must differ from --bridge-pub")
    if (pub_endpoint or cmd_endpoint or hold) and not bridge:
        raise ConfigError("--no-bridge: cannot be combined with --bridge-pub, --bridge-cmd or --bridge-hold")
    if run_id is not None and not _RUN_ID.match(run_id):
        raise ConfigError(f"--run-id = {run_id!r}: allowed: 1-64 characters of A-Z a-z 0-9 . _ -")
    if not 0 < hold_timeout_s <= MAX_HOLD_TIMEOUT_S:
        raise ConfigError(f"--bridge-hold-timeout-s = {hold_timeout_s}: allowed: > 0 and <= {MAX_HOLD_TIMEOUT_S:g} s")
    _check_binary()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "config.json", config_text(cfg))
    result_path = out / "result.json"
    result_path.unlink(missing_ok=True)
    log_path = out / "ns3.log"
    run_id = run_id or default_run_id(cfg)
    args = [str(BINARY), f"--config={out / 'config.json'}", f"--out={result_path}", f"--run-id={run_id}"]

    tmp = private_tmp_dir()  # private (0700) dir for ipc endpoints, named by this pid, swept once it is gone
    pub, cmd = pub_endpoint or f"ipc://{tmp}/pub", cmd_endpoint or f"ipc://{tmp}/cmd"
    sub = store = None
    t0 = time.monotonic()
    try:
        if bridge:
            (out / "history.sqlite").unlink(missing_ok=True)
            store = HistoryStore(out / "history.sqlite", run_id=None)
            sub = Subscriber(pub, store=store, run_id=run_id)
            args += [f"--bridge-pub={pub}", f"--bridge-cmd={cmd}"]
            if hold:
                args += ["--bridge-hold=true", f"--bridge-hold-timeout-s={hold_timeout_s}"]
                # a held start sends only repeated hellos (dropped as duplicates) until resumed
                stall_timeout_s = max(stall_timeout_s, hold_timeout_s + 60.0)
            if truth:
                args.append("--bridge-truth=true")
                sub.keep_truth = True
        with open(log_path, "wb") as log:
            # its own session (a terminal's Ctrl-C reaches only us), but it dies with us: the binary
            # sets PR_SET_PDEATHSIG when GAIDT_PARENT_PID names its parent (no preexec_fn: threads)
            env = dict(_env(cfg), GAIDT_PARENT_PID=str(os.getpid()))
            proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=env)
        try:
            if on_bridge and bridge:
                on_bridge({"pub": pub, "cmd": cmd, "run_id": run_id, "held": hold,
                           "hold_timeout_s": hold_timeout_s if hold else None})
            if on_start:
                on_start(proc, cmd)
            last_msg = time.monotonic()
            liveness = Liveness(proc.pid, log_path)
            while proc.poll() is None:
                if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                    raise Ns3Error(f"ns-3 run exceeded its timeout of {timeout_s:.0f} s; killed")
                # frames still queued (a slow on_message) are not silence: we are behind, ns-3 is not hung
                liveness.check(None if sub is None else time.monotonic() if sub.pending() else sub.last_heard)
                if sub is not None and time.monotonic() - last_msg > stall_timeout_s:
                    raise Ns3Error(f"ns-3 sent no twin message for {stall_timeout_s:.0f} s while running; killed "
                                   f"(see {log_path})")
                if sub is None:
                    try:
                        proc.wait(timeout=0.5)
                    except subprocess.TimeoutExpired:
                        pass
                    continue
                msg = sub.poll(0.5)
                if msg is not None:
                    last_msg = time.monotonic()
                    if on_message:
                        on_message(msg, sub)
            if sub is not None:
                # ns-3 has exited: whatever it sent is queued. Take it until the end message, or
                # until 2 s pass without a message (a loaded machine applies the queued rounds
                # slower than ns-3 sent them: a fixed 2 s cut off the twin's last rounds).
                quiet_until = time.monotonic() + 2.0
                while sub.stats.end is None and time.monotonic() < quiet_until:
                    msg = sub.poll(0.1)
                    if msg is not None:
                        quiet_until = time.monotonic() + 2.0
                        if on_message:
                            on_message(msg, sub)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        rc = proc.returncode
        wall = time.monotonic() - t0
        tail = _tail(log_path)
        if rc == 2:
            lines = [ln for ln in tail.splitlines() if ln.startswith("gaidt-iot-city:")]
            raise ConfigError((lines[-1] if lines else tail).removeprefix("gaidt-iot-city: "))
        if rc == 4:
            lines = [ln for ln in tail.splitlines() if ln.startswith("gaidt-iot-city:")]
            raise Ns3Error((lines[-1] if lines else tail).removeprefix("gaidt-iot-city: "), rc, tail)
        if rc == 3:
            raise AttachError(f"ns-3 run failed ({_status(rc)}): {tail}", rc, tail)
        if rc != 0 or not result_path.exists():
            raise Ns3Error(f"ns-3 run failed ({_status(rc)}); last lines of {log_path}:\n{tail}", rc, tail)
        try:
            result = json.loads(result_path.read_text())
        except (ValueError, OSError) as e:  # e.g. ns-3 hit a full disk while writing it
            raise Ns3Error(f"ns-3 exited 0 but its {result_path} is unreadable ({' '.join(str(e).split())[:160]}); "
                           "is the disk full?", rc, tail) from None
        outcome = RunOutcome(result, out, wall)
        if sub is not None:
            outcome.graph = sub.graph
            outcome.subscriber = sub.stats.as_dict()
            outcome.truth = sub.truth
            sub.graph.export_dtdl(out / "twin.dtdl.json")
            result["twin"] = {k: outcome.subscriber[k] for k in
                              ("snapshots", "gaps", "missed_before_start", "bad_frames", "out_of_order", "updates")}
            write_text_atomic(result_path, json.dumps(result, indent=1))  # never a half-written result.json
            _check_twin_received(result, outcome.subscriber, run_id)
        return outcome
    finally:
        if sub is not None:
            sub.close()
        if store is not None:
            store.close()
        shutil.rmtree(tmp, ignore_errors=True)
