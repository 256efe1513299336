"""Process lifetime: an ns-3 child never outlives the Python process that started it.

- die_with_parent(): a Popen preexec_fn. The child asks Linux for SIGKILL when its parent dies
  (prctl PR_SET_PDEATHSIG), so kill -9 of a campaign's process group, whose ns-3 children run in
  their own session, still ends them. If the parent died between fork and prctl, the child exits.
- graceful_signals(): SIGTERM (and SIGHUP) raise SystemExit in the main thread, so `finally`
  blocks run: the runner kills its child and removes its temporary ipc folder, and a campaign
  stops its workers. Ctrl-C (SIGINT) already raises KeyboardInterrupt.
- private_tmp_dir() / sweep_stale_tmp_dirs(): the runner's ipc folders carry the owner's pid; a
  folder whose owner is gone (kill -9 leaves no chance to clean up) is removed by the next run.
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

PR_SET_PDEATHSIG = 1
TMP_PREFIX = "gaidt-"
_TMP_RE = re.compile(rf"^{TMP_PREFIX}(\d+)-")


def die_with_parent(parent_pid: int | None = None, sig: int = signal.SIGKILL, new_session: bool = False):
    """A preexec_fn for subprocess.Popen: `sig` to this child when its parent process dies (Linux).

    new_session: also start a session of its own (a terminal's Ctrl-C then reaches only the parent).
    The death signal follows the *thread* that forked: start long-lived children from a long-lived
    thread. Not for Popen calls made from worker threads (preexec_fn is unsafe with threads):
    the scenario binary sets its own (GAIDT_PARENT_PID, ns3-scenarios/helper/parent-watch.h).
    """
    parent = os.getpid() if parent_pid is None else parent_pid

    def preexec() -> None:
        if new_session:
            os.setsid()
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        except (OSError, AttributeError):  # not Linux: the parent's signal handlers still apply
            return
        if os.getppid() != parent:  # the parent is already gone: do not start orphaned
            os._exit(1)

    return preexec


def graceful_signals() -> None:
    """In the main thread: SIGTERM and SIGHUP exit through SystemExit (finally blocks run)."""
    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, stop)
        except (ValueError, OSError):  # not the main thread, or not this platform
            pass


def private_tmp_dir() -> Path:
    """A private (0700) temporary folder for ipc endpoints, named after this process."""
    sweep_stale_tmp_dirs()
    return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_tmp_dirs(root: str | Path | None = None) -> int:
    """Remove gaidt ipc folders whose owner process is gone; returns how many were removed."""
    base = Path(root or tempfile.gettempdir())
    removed = 0
    try:
        entries = list(base.iterdir())
    except OSError:
        return 0
    for d in entries:
        m = _TMP_RE.match(d.name)
        if m and d.is_dir() and not _alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)
            removed += 1
    return removed


def worker_init() -> None:
    """A ProcessPoolExecutor initializer: the worker dies with the process that started it."""
    die_with_parent(os.getppid())()
