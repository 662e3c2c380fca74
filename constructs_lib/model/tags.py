"""Tags: what every resource of a stack carries, what a job's resources add, and AWS's rules
for them, checked before anything is synthesized.

The rules common to the services that tag (ECS, IAM, Step Functions, CloudWatch, SQS, ...): at
most 50 tags per resource; a key of 1 to 128 characters and a value of at most 256; letters,
digits, spaces and ``+ - = . _ : / @``; the ``aws:`` prefix is AWS's own, for keys and values.
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html
https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html
"""

from __future__ import annotations

import re

__all__ = ["JOB_TAG", "MAX_TAGS", "check_tag_count", "check_tags", "default_tags", "job_tags"]

MAX_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
_ALLOWED = re.compile(r"[\w\s+=.:/@-]*")
#: Each of a job's resources, and each task its runs launch, says which job it belongs to.
JOB_TAG = "scheduled-job"


def default_tags(stack_name: str) -> dict[str, str]:
    """The tags the AWS provider puts on every resource of the stack, before ``[stack] tags``."""
    return {"ManagedBy": "cdktf", "Stack": stack_name}


# The keys the stack writes itself: a config may not change them.
_RESERVED = frozenset(key.lower() for key in (*default_tags(""), JOB_TAG))


def check_tags(tags: dict[str, str] | None) -> dict[str, str] | None:
    if tags is None:
        return tags
    for key, value in tags.items():
        if not 1 <= len(key) <= MAX_KEY_LENGTH or not _ALLOWED.fullmatch(key):
            raise ValueError(
                f"key {key!r} is not a tag key (allowed: 1 to {MAX_KEY_LENGTH} letters, digits, spaces and "
                "+ - = . _ : / @)"
            )
        if len(value) > MAX_VALUE_LENGTH or not _ALLOWED.fullmatch(value):
            raise ValueError(
                f"{key} = {value[:40]!r}{'...' if len(value) > 40 else ''} is not a tag value (allowed: at most "
                f"{MAX_VALUE_LENGTH} letters, digits, spaces and + - = . _ : / @)"
            )
        for text in (key, value):
            if text.lower().startswith("aws:"):
                raise ValueError(f"{key} = {value!r} starts with {text[:4]!r} (allowed: no 'aws:' prefix, AWS's own)")
        if key.lower() in _RESERVED:
            raise ValueError(
                f"key {key!r} is set by the stack itself (allowed: any key but "
                f"{', '.join(sorted((*default_tags(''), JOB_TAG)))})"
            )
    return tags


def check_tag_count(*layers: dict[str, str] | None) -> int:
    """How many tags a job's resources carry: the stack's own, the job tag, and every layer's
    keys (a job's tag overrides the stack's of the same key). Raises past ``MAX_TAGS``."""
    keys = {*default_tags(""), JOB_TAG}
    for layer in layers:
        keys.update(layer or {})
    if len(keys) > MAX_TAGS:
        raise ValueError(
            f"{len(keys)} tags on each of the job's resources, counting the stack's {len(default_tags(''))} "
            f"and {JOB_TAG!r} (allowed: at most {MAX_TAGS}, AWS's limit per resource)"
        )
    return len(keys)


def job_tags(job_name: str, *, stack_tags: dict[str, str] | None, tags: dict[str, str] | None) -> dict[str, str] | None:
    """The tags a job's resources carry besides the stack's default tags, and that its tasks carry
    too: ``scheduled-job`` and the job's own. ``None`` when the config tags nothing (no ``[stack]
    tags``, no job ``tags``): the stack is then what it was before tags existed."""
    if stack_tags is None and tags is None:
        return None
    return {JOB_TAG: job_name, **(tags or {})}
