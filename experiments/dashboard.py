"""Live campaign dashboard: overall progress with ETA, what each worker is
running, the latest results (rich on a TTY; plain log lines otherwise)."""
from __future__ import annotations

import sys
import time
from collections import deque

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


class Dashboard:
    """A campaign's progress on stderr: a live table on a terminal, one line per event otherwise; nothing when
    quiet."""
    def __init__(self, title: str, summarize=None, quiet: bool = False, console: Console | None = None):
        self.title = title
        self.summarize = summarize or (lambda task, outcome: "")
        self.quiet = quiet
        self.console = console or Console(stderr=True)  # progress on stderr; results and paths on stdout
        self.tty = self.console.is_terminal
        self.running: dict[str, tuple[str, float]] = {}
        self.latest: deque = deque(maxlen=6)
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=self.console)
        self.bar = None
        self.live: Live | None = None
        self.total = 0
        self.n_done = 0
        self.n_failed = 0

    def _log(self, msg: str) -> None:
        if not self.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {self.title}: {msg}", file=sys.stderr, flush=True)

    def start(self, total: int, skipped: int) -> None:
        """Begin showing a campaign of total tasks, skipped of them already done."""
        self.total = total
        self.bar = self.progress.add_task(self.title, total=total, completed=skipped)
        if self.quiet:
            return
        if self.tty:
            self.live = Live(self._render(), console=self.console, refresh_per_second=2)
            self.live.__enter__()
        else:
            self._log(f"{total} runs, {skipped} already done (skipped)")

    def started(self, task) -> None:
        """A task started."""
        self.running[task.key] = (task.label or task.key, time.monotonic())
        if not self.tty:
            self._log(f"start {task.label or task.key}")
        self.tick()

    def finished(self, task, outcome: dict) -> None:
        """A task finished with outcome (its summary line, or the error)."""
        self.running.pop(task.key, None)
        ok = outcome.get("ok")
        self.n_done += ok
        self.n_failed += not ok
        text = self.summarize(task, outcome) if ok else f"FAILED: {outcome.get('error', '')[:120]}"
        self.latest.appendleft((task.label or task.key, text))
        self.progress.advance(self.bar)
        if not self.tty:
            self._log(f"{'done' if ok else 'FAILED'} {task.label or task.key}: {text} "
                      f"({self.progress.tasks[0].completed:.0f}/{self.total})")
        self.tick()

    def tick(self) -> None:
        """Redraw the live table."""
        if self.live is not None:
            self.live.update(self._render())

    def stop(self, counts: dict) -> None:
        """End the display with the campaign's counts."""
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(None, None, None)
        self._log(f"finished: {counts['done']} ran, {counts['skipped']} skipped, {counts['failed']} failed")

    def _render(self):
        workers = Table(title="running", expand=True)
        workers.add_column("run")
        workers.add_column("elapsed", justify="right")
        now = time.monotonic()
        for label, t0 in self.running.values():
            workers.add_row(label, f"{now - t0:.0f} s")
        latest = Table(title="latest results", expand=True)
        latest.add_column("run")
        latest.add_column("result")
        for label, text in self.latest:
            latest.add_row(label, text)
        return Group(self.progress, workers, latest)
