"""Files that are either whole or absent: write to a temporary name beside the target, then rename.

A crash, a kill or a full disk in the middle of a write leaves the previous file (or none), never a
half-written one; the temporary file is removed when the write fails.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import RunError

__all__ = ["DiskFullError", "write_text_atomic"]

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(RunError, OSError):
    """The file system is full (or over quota): a fault, exit 1, one line naming the file."""


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through ``path.tmp<pid>`` + fsync + rename; returns ``path``.

    Raises DiskFullError naming the file when the disk is full; other OSErrors propagate."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.errno in _NO_SPACE:
            raise DiskFullError(f"cannot write {target}: {os.strerror(e.errno)} (nothing half-written was "
                                "left; free some space and run again)") from None
        raise
    return target
