"""Durations in words, one way everywhere: the alert's messages, the config's errors, make synth's
summary (``constructs_lib.model.schedule_expression`` re-exports it). Standard library only: the
alert Lambda's package carries it with the schedule model (``AlertFunction``)."""

from __future__ import annotations

__all__ = ["format_duration"]


def format_duration(seconds: int) -> str:
    """``90`` -> ``1 min 30 s``; ``0`` or less -> ``0 s``."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            parts.append(f"{count} {unit}")
    return " ".join(parts) or "0 s"
