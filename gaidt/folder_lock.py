"""One writer per output folder: an advisory lock file, ``DIR/.gaidt-lock``.

Every command that writes into an ``--out`` folder (scenario, generate, fig2, fig3, services,
record, ...) holds the folder's lock while it runs:

    with locked_out_dir(args.out, "scenario") as out:
        ...  # nobody else writes into out meanwhile

A second writer gets FolderLocked (a UsageError, exit 2) whose one line names the holder's pid
and command. The lock is a ``flock`` on the lock file: the kernel drops it when its holder
exits, however it exits (kill -9 included), so the lock of a dead process is simply taken
over; the file's text (pid, command, start time) only names the holder in the message.
Within one process the lock is re-entrant (a campaign that runs a scenario into the same
folder does not lock itself out).
"""
from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import UsageError

__all__ = ["LOCK_NAME", "FolderLocked", "FolderLock", "folder_lock"]

LOCK_NAME = ".gaidt-lock"

_held: dict[str, list] = {}  # realpath -> [fd, depth]: this process's locks (re-entrant)
_guard = threading.Lock()


class FolderLocked(UsageError):
    """Another live process writes into the folder (exit 2)."""


def _holder(lock_path: Path) -> str:
    try:
        text = lock_path.read_text(errors="replace")[:200]
    except OSError:
        return "another process"
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    pid = fields.get("pid", "")
    if not pid.isdigit():
        return "another process (pid unknown)"
    about = [f"run.py {fields['command']}"] if fields.get("command", "-") != "-" else []
    about += [f"since {fields['since']}"] if fields.get("since") else []
    return f"pid {pid}" + (f" ({', '.join(about)})" if about else "")


class FolderLock:
    """The exclusive writer's lock of one folder; ``acquire`` raises FolderLocked if another process holds it."""

    def __init__(self, folder: str | Path, command: str = ""):
        self.folder = Path(folder)
        self.command = command
        self.path = self.folder / LOCK_NAME
        self._key = os.path.realpath(self.folder)

    def acquire(self) -> "FolderLock":
        """Take the lock (the folder must exist). Re-entrant within a process."""
        with _guard:
            if self._key in _held:
                _held[self._key][1] += 1
                return self
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise UsageError(f"--out = {str(self.folder)!r}: cannot create its lock file {LOCK_NAME} "
                                 f"({e.strerror or e})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise FolderLocked(f"--out = {str(self.folder)!r}: in use by {_holder(self.path)}; wait for it "
                                   f"to finish or choose another folder") from None
            except OSError as e:  # a file system without flock: no lock, but no crash either
                os.close(fd)
                raise UsageError(f"--out = {str(self.folder)!r}: cannot lock {LOCK_NAME} "
                                 f"({e.strerror or e})") from None
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"pid={os.getpid()} command={self.command or '-'} since={stamp}\n".encode(), 0)
            except OSError:
                pass  # a full disk: the lock still holds, only the holder's name is missing
            _held[self._key] = [fd, 1]
        return self

    def release(self) -> None:
        """Drop one level of the lock; the last one unlocks (the file stays: unlinking a lock file races)."""
        with _guard:
            entry = _held.get(self._key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] == 0:
                del _held[self._key]
                os.close(entry[0])  # closing the descriptor drops the flock

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@contextmanager
def folder_lock(folder: str | Path, command: str = "") -> Iterator[Path]:
    """Hold ``folder``'s writer lock for the ``with`` block (the folder must exist); yields the folder."""
    with FolderLock(folder, command):
        yield Path(folder)
