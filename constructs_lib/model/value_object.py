"""The base of every value object: frozen, strict, and closed to unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ValueObject"]


class ValueObject(BaseModel):
    """Frozen and validated on construction; unknown keys (typos) are errors, types are not coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
