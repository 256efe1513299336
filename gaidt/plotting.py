"""The one place that chooses matplotlib's backend: figures are files, never windows.

Examples
--------
>>> from gaidt.plotting import pyplot
>>> pyplot().get_backend().lower()
'agg'
"""
from __future__ import annotations

__all__ = ["pyplot"]


def pyplot():
    """matplotlib.pyplot on the Agg backend (PNG files; works without a display). Imported on first
    use, so that modules which only may plot stay quick to import."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
