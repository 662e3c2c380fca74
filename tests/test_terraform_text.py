"""Text from jobs.toml reaches Terraform literally: a ${...} or %{...} in any free-text field is
escaped once, at the stack, so terraform plan never evaluates it (it would read a file of the
machine that plans into the task definition, the plan and the state)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import synth

from constructs_lib.documents.terraform_text import literal, literal_config
from constructs_lib.model.config import parse_config

HOSTILE = """
[stack]
name = "hostile"
region = "ap-northeast-1"

[alert]
emails = ["${x}%{y}@example.com"]

[[jobs]]
name = "report"
schedule = "cron(0 8 * * ? *)"
image = "alpine:3.20${file(\\"/etc/hostname\\")}"
command = ["sh", "-c", "echo ${file(\\"/etc/passwd\\")} %{ if true }x%{ endif }"]
cpu = 256
memory = 512
environment = { TOKEN = "${file(\\"/root/.aws/credentials\\")}" }

[jobs.retry]
retry_exit_codes = [75]

[[jobs.task_role_statements]]
actions = ["s3:GetObject"]
resources = ["arn:aws:s3:::bucket/${file(\\"/etc/passwd\\")}"]
"""


def test_literal_escapes_terraform_templates():
    assert literal('${file("/etc/passwd")}') == '$${file("/etc/passwd")}'
    assert literal("%{ if true }x%{ endif }") == "%%{ if true }x%%{ endif }"
    assert literal("plain $HOME and 100% {braces}") == "plain $HOME and 100% {braces}"


def test_the_escaped_config_keeps_which_retry_keys_the_user_set():
    config = parse_config(HOSTILE)
    escaped = literal_config(config)
    (job,) = escaped.jobs
    assert job.environment == {"TOKEN": '$${file("/root/.aws/credentials")}'}
    assert job.retry.model_fields_set == {"retry_exit_codes"}
    assert job.retry_policy == config.jobs[0].retry_policy  # the default policy under it, unchanged
    plain = parse_config(HOSTILE.replace("${", "{").replace("%{", "{"))
    assert literal_config(plain) is plain  # nothing to escape: the very config, not a copy


def leaves(value):
    """Every string in the stack, with the JSON documents inside strings (container definitions,
    policies, state machine definitions) opened up: Terraform reads templates in each."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, str):
        yield value
        try:
            inner = json.loads(value) if value[:1] in "[{" else None
        except ValueError:
            inner = None
        yield from leaves(inner)


@pytest.fixture(scope="module")
def hostile_texts() -> list[str]:
    return list(leaves(synth(parse_config(HOSTILE))))


@pytest.mark.parametrize(
    ("field", "escaped"),
    [
        ("image", 'alpine:3.20$${file("/etc/hostname")}'),
        ("command", 'echo $${file("/etc/passwd")} %%{ if true }x%%{ endif }'),
        ("environment", '$${file("/root/.aws/credentials")}'),
        ("task role resource", 'arn:aws:s3:::bucket/$${file("/etc/passwd")}'),
        ("e-mail", "$${x}%%{y}@example.com"),
    ],
)
def test_every_free_text_field_reaches_terraform_escaped(hostile_texts, field, escaped):
    assert escaped in hostile_texts, field


def test_no_template_from_the_config_is_left_for_terraform_to_evaluate(hostile_texts):
    for text in hostile_texts:
        assert not re.search(r"(?<!\$)\$\{(file|x\})", text), text
        assert not re.search(r"(?<!%)%\{", text), text


def test_terraform_references_are_left_as_they_are(hostile_texts):
    assert any(text.startswith("${aws_iam_role.job-report_task_task-role") for text in hostile_texts)
