"""Fig. 2's figures: stability per cell and arm (fig2.png) and best O against ns-3 runs spent
(fig2_tuning.png)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from gaidt.plotting import pyplot
from gaidt.stats import mean_ci

from .plan import CELLS, METHODS, PAPER_IMPROVEMENT_PCT, TOPOLOGIES, TUNED_ARMS

COLORS = {"traditional": "#d62728", "proposed": "#1f77b4", "random": "#7f7f7f", "rule": "#2ca02c", "tpe": "#ff7f0e"}


def plot(df: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    """Every arm per cell: stability (report-period windows), deadline success d and goodput /
    offered, one column per topology; bars are means over evaluation seeds (tuning seeds
    averaged within a seed) with 95% CIs over seeds."""
    plt = pyplot()
    import numpy as np

    topologies = [t for t in TOPOLOGIES if t in set(df["topology"])]
    methods = [m for m in METHODS if m in set(df["method"])]
    per_seed = df.groupby(["topology", "scenario", "ul_activity", "method", "seed"], as_index=False)[
        ["stability", "d", "goodput_ratio"]].mean()
    metrics = (("stability", "stability 1/(1+CV), period windows"), ("d", "deadline success d"),
               ("goodput_ratio", "goodput / offered"))
    fig, axes = plt.subplots(len(metrics), len(topologies), figsize=(max(9.0, 4.6 * len(topologies)), 8.5),
                             squeeze=False)
    width = 0.8 / max(1, len(methods))
    for col, topo in enumerate(topologies):
        cells = [c for c in CELLS if ((per_seed.topology == topo) & (per_seed.scenario == c[0])
                                      & (per_seed.ul_activity == c[1])).any()]
        x = np.arange(len(cells))
        for row, (metric, label) in enumerate(metrics):
            ax = axes[row][col]
            for j, m in enumerate(methods):
                means, errs = [], []
                for scen, act in cells:
                    sel = per_seed[(per_seed.topology == topo) & (per_seed.scenario == scen)
                                   & (per_seed.ul_activity == act) & (per_seed.method == m)]
                    mu, lo, hi = mean_ci(sel[metric].tolist())
                    means.append(mu)
                    errs.append(0 if math.isnan(lo) else (hi - lo) / 2)
                ax.bar(x + (j - (len(methods) - 1) / 2) * width, means, width, yerr=errs, capsize=2,
                       color=COLORS.get(m), label=m)
            ax.set_xticks(x, [f"{s}@{a:g}" for s, a in cells], fontsize=8)
            ax.set_ylim(0, 1.1)
            ax.set_ylabel(label, fontsize=8)
            if row == 0:
                ax.set_title(topo, fontsize=10)
            if row == 0 and col == 0:
                ax.legend(fontsize=7, ncol=2, loc="lower left")
    fig.suptitle(f"Fig. 2 reproduction: every arm per cell, 95% CIs over evaluation seeds "
                 f"(paper: {PAPER_IMPROVEMENT_PCT:.0f}% more stable in high density)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_tuning(tuning: pd.DataFrame, path: Path) -> None:
    """Best O so far (minus the base run's O) against ns-3 runs spent, per arm and topology,
    averaged over cells and tuning seeds."""
    plt = pyplot()
    import numpy as np

    topologies = [t for t in TOPOLOGIES if t in set(tuning["topology"])]
    fig, axes = plt.subplots(1, len(topologies), figsize=(max(6.0, 4.6 * len(topologies)), 3.6), squeeze=False)
    for col, topo in enumerate(topologies):
        ax = axes[0][col]
        for m in [a for a in TUNED_ARMS if a in set(tuning["method"])]:
            curves = []
            for _, r in tuning[(tuning.topology == topo) & (tuning.method == m)].iterrows():
                c = json.loads(r["best_O_by_run"])
                if c:
                    curves.append([v - r["O_base"] for v in c])
            if not curves:
                continue
            n = max(map(len, curves))
            padded = np.array([c + [c[-1]] * (n - len(c)) for c in curves])  # an arm that stopped early stays
            ax.plot(np.arange(1, n + 1), padded.mean(axis=0), marker="o", color=COLORS.get(m), label=m)
        ax.set_xlabel("ns-3 runs spent (1 = the base run)")
        ax.set_ylabel("best O so far - O(base)")
        ax.set_title(topo, fontsize=10)
        ax.axhline(0, color="k", lw=0.5)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
