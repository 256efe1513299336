"""Terminal progress for one scenario run: a rich live view on a TTY, plain
log lines otherwise, nothing with --quiet."""
from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table


class ScenarioView:
    """`run.py scenario`'s live view of a run: rounds, synced sensors and goodput (quiet: nothing)."""
    def __init__(self, cfg: dict, quiet: bool = False, console: Console | None = None):
        self.cfg = cfg
        self.quiet = quiet
        self.console = console or Console(stderr=False)
        self.tty = self.console.is_terminal and sys.stdout.isatty()
        self.live: Live | None = None
        self.t0 = time.monotonic()
        self._last_log = 0.0
        self._prev = None  # (sim_time_s, rx_bytes)
        self.throughput_bps = 0.0
        self.state = {"round": 0, "sim_time_s": 0.0, "synced": 0, "sensors": cfg["topology"]["sensors"]}

    def __enter__(self):
        if not self.quiet and self.tty:
            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc):
        if self.live is not None:
            self.live.update(self._render())
            self.live.__exit__(*exc)

    def on_message(self, msg, sub) -> None:
        """ns3_runner's on_message hook: update the view from a snapshot."""
        if msg.topic != "snap":
            return
        synced = sum(len(t.index) for t in msg.tables if t.kind == "sensor")
        rx = 0.0
        for t in msg.tables:
            if t.kind == "gateway" and "rx_bytes" in t.columns:
                rx = float(t.values[:, t.columns.index("rx_bytes")].sum())
        now = float(msg.header["sim_time_s"])
        if self._prev is not None and now > self._prev[0]:
            self.throughput_bps = 8 * (rx - self._prev[1]) / (now - self._prev[0])
        self._prev = (now, rx)
        self.state.update(round=msg.header["round"], sim_time_s=now, synced=synced,
                          gaps=sub.stats.gaps, bad=sub.stats.bad_frames)
        if self.quiet:
            return
        if self.live is not None:
            self.live.update(self._render())
        elif time.monotonic() - self._last_log >= 2.0:
            self._last_log = time.monotonic()
            s = self.state
            print(f"round {s['round']} sim {s['sim_time_s']:.2f}s synced {s['synced']}/{s['sensors']} "
                  f"throughput {self.throughput_bps / 1e3:.1f} kb/s", flush=True)

    def show_result(self, result: dict) -> None:
        """Add the finished run's sensors by status (result.json kpis) to the view."""
        k = result.get("kpis", {})
        self.state["status"] = {name: k.get(f"sensors_{name}", 0) for name in ("served", "unreachable", "starved")}
        if self.live is not None:
            self.live.update(self._render())

    def _render(self) -> Table:
        s = self.state
        total = self.cfg["sim"]["warmup_s"] + self.cfg["duration_s"] + self.cfg["sim"]["drain_s"]
        t = Table(title=f"GAIDT twin: {self.cfg.get('name', 'scenario')} ({self.cfg['radio']}, "
                        f"{s['sensors']} sensors / {self.cfg['topology']['gateways']} gateways)")
        status = s.get("status")
        for col in ("round", "sim time", "synced sensors", "throughput", "gaps", "wall"):
            t.add_column(col)
        if status is not None:
            t.add_column("served / unreachable / starved")
        row = [str(s["round"]), f"{s['sim_time_s']:.2f} / {total:.2f} s", f"{s['synced']} / {s['sensors']}",
               f"{self.throughput_bps / 1e3:.1f} kb/s", str(s.get("gaps", 0)), f"{time.monotonic() - self.t0:.1f} s"]
        if status is not None:
            row.append(f"{status['served']} / {status['unreachable']} / {status['starved']}")
        t.add_row(*row)
        return t
