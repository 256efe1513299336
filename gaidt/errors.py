"""The error hierarchy of gaidt_bridge.errors, re-exported for the core and the layers above.

GaidtError carries ``exit_code`` (UsageError: 2, RunError and EndpointError: 1); the command
line catches it once. ConfigError (gaidt.config) is the UsageError of scenario configs.
"""
from __future__ import annotations

from gaidt_bridge.errors import EndpointError, GaidtError, RunError, UsageError

__all__ = ["EndpointError", "GaidtError", "RunError", "UsageError"]
