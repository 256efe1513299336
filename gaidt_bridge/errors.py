"""GAIDT's one error hierarchy: every error a user can act on carries its exit code.

The command line (experiments/run.py) catches GaidtError once and prints its message as one line
on stderr, then exits with ``exit_code``: 2 for usage and config errors, 1 for runs that failed
(ns-3, the bridge, an LLM endpoint). Lower layers raise; they never print or exit.

It lives in the lowest layer (gaidt_bridge) so that the bridge's own errors can join it;
``gaidt.errors`` re-exports it for the layers above.

Examples
--------
>>> from gaidt_bridge.errors import UsageError
>>> UsageError("--port = 0: must be 1..65535").exit_code
2
"""
from __future__ import annotations

__all__ = ["EndpointError", "GaidtError", "RunError", "UsageError"]


class GaidtError(Exception):
    """Base of every error GAIDT reports to a user: one-line message, exit code ``exit_code``."""

    exit_code: int = 1


class UsageError(GaidtError):
    """A command line, config or input file the user can fix (exit 2); the message names field,
    value and what is allowed."""

    exit_code = 2


class RunError(GaidtError):
    """A run that failed (exit 1): ns-3 crashed, the physical twin went away, a service lacked data."""

    exit_code = 1


class EndpointError(RunError):
    """An LLM endpoint that cannot be reached, served or used (exit 1); the message names it."""
