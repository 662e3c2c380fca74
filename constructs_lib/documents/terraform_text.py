"""Text from ``jobs.toml`` as Terraform must read it: literally.

In Terraform's JSON syntax every string is a template: ``${...}`` is evaluated at plan time and
``%{...}`` is a directive. A value such as ``"${file("/etc/passwd")}"`` in an environment variable
would make ``terraform plan`` read that file into the task definition, the plan and the state. So
the config's text is escaped (``$${``, ``%%{``), once, before any construct sees it, and reaches
AWS as it was written. https://developer.hashicorp.com/terraform/language/syntax/json#expression-mapping

The constructs themselves take strings as Terraform reads them (references are how they wire each
other); only the config is literal text.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["literal", "literal_config"]


def literal(text: str) -> str:
    """``text`` with Terraform's template sequences escaped, so that Terraform reads it as it is."""
    return text.replace("${", "$${").replace("%{", "%%{")


def literal_config(value: Any) -> Any:
    """``value`` (the config, or any part of it) with every string in it made literal: a model is
    copied with only the fields whose text changed, so which keys the user set stays as it was."""
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, BaseModel):
        changed = {}
        for name in type(value).model_fields:
            current = getattr(value, name)
            escaped = literal_config(current)
            if escaped is not current and escaped != current:
                changed[name] = escaped
        if not changed:
            return value
        copy = value.model_copy(update=changed)
        object.__setattr__(copy, "__pydantic_fields_set__", set(value.model_fields_set))
        return copy
    if isinstance(value, tuple):
        return tuple(literal_config(item) for item in value)
    if isinstance(value, list):
        return [literal_config(item) for item in value]
    if isinstance(value, dict):
        return {literal_config(key): literal_config(item) for key, item in value.items()}
    return value
