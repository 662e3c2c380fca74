"""A group of alerts as each channel's messages (lambda_src.digest): grouping, order, limits."""

from __future__ import annotations

import json

import pytest

from lambda_src.chatwork import CHATWORK_MESSAGE_LIMIT, chatwork_message, chatwork_parts
from lambda_src.digest import headline
from lambda_src.mail import email_message, email_parts
from lambda_src.message import describe
from lambda_src.slack import SLACK_BLOCK_TEXT_LIMIT, SLACK_BLOCKS_LIMIT, SLACK_TEXT_LIMIT, slack_message, slack_parts

ARN = "arn:aws:states:ap-northeast-1:123456789012:execution:batch-{job}:{run}"
CONSOLE = "https://console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/"


def failed(job: str, *, error: str = "ECS.AmazonECSException", due: str = "2026-12-01T00:00:00Z", run: str = "r1"):
    return describe(
        {
            "job": job,
            "error": error,
            "stack": "batch",
            "execution": ARN.format(job=job, run=run),
            "input": {"scheduledTime": due},
        }
    )


def three():
    return [
        failed("b-job"),
        failed("c-job", error="Job.TaskFailed"),
        failed("a-job", due="2026-12-01T00:00:00Z"),
    ]


@pytest.mark.parametrize(
    ("render", "single"),
    [(slack_parts, slack_message), (chatwork_parts, chatwork_message), (email_parts, email_message)],
)
def test_a_group_of_one_reads_exactly_as_a_single_alert(render, single):
    alert = failed("nightly")
    (part,) = render([alert], stack="batch")
    assert part.document == single(alert)
    assert part.indices == (0,)


def test_the_headline_counts_and_names_the_kind_when_all_share_it():
    assert headline([failed("a"), failed("b")], stack="batch") == "[batch] 2 runs failed: Fargate had no capacity"
    assert headline(three(), stack="batch") == "[batch] 3 runs failed"
    assert headline([failed("a"), describe("not a payload")], stack="s") == "[s] 2 alerts"


def test_slack_groups_by_what_happened_largest_first_then_by_time_and_job():
    (part,) = slack_parts(three(), stack="batch")
    assert part.indices == (2, 0, 1)  # a-job, b-job (no capacity: 2), then c-job (exit: 1)
    due = "scheduled for 2026-12-01 00:00:00 UTC"
    assert part.document == {
        "text": "[batch] 3 runs failed",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*[batch] 3 runs failed*"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*2 runs: Fargate had no capacity in ap-northeast-1*\n"
                    f"• *a-job* · {due} · <{CONSOLE}{ARN.format(job='a-job', run='r1')}|Execution>\n"
                    f"• *b-job* · {due} · <{CONSOLE}{ARN.format(job='b-job', run='r1')}|Execution>",
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*1 run: the task stopped in ap-northeast-1*\n"
                    f"• *c-job* · {due} · <{CONSOLE}{ARN.format(job='c-job', run='r1')}|Execution>",
                },
            },
        ],
    }


def test_chatwork_and_email_group_the_same_way():
    (chatwork,) = chatwork_parts(three(), stack="batch")
    (email,) = email_parts(three(), stack="batch")
    due = "scheduled for 2026-12-01 00:00:00 UTC"
    link = CONSOLE + ARN.format(job="{}", run="r1")
    assert chatwork.document == (
        "[info][title][batch] 3 runs failed[/title]2 runs: Fargate had no capacity in ap-northeast-1\n"
        f"・a-job — {due}\n  {link.format('a-job')}\n"
        f"・b-job — {due}\n  {link.format('b-job')}\n\n"
        "1 run: the task stopped in ap-northeast-1\n"
        f"・c-job — {due}\n  {link.format('c-job')}[/info]"
    )
    assert email.document == (
        "[batch] 3 runs failed",
        "2 runs: Fargate had no capacity in ap-northeast-1\n"
        f"- a-job, {due}\n    Execution: {link.format('a-job')}\n"
        f"- b-job, {due}\n    Execution: {link.format('b-job')}\n\n"
        "1 run: the task stopped in ap-northeast-1\n"
        f"- c-job, {due}\n    Execution: {link.format('c-job')}\n",
    )
    assert chatwork.indices == email.indices == (2, 0, 1)


def test_text_from_a_run_cannot_ping_or_break_the_frame():
    alerts = [failed("a", error="[toall] <!channel> [/info]"), failed("b", error="[toall] <!channel> [/info]")]
    (chatwork,) = chatwork_parts(alerts, stack="batch")
    assert "[toall]" not in chatwork.document and chatwork.document.count("[/info]") == 1
    (slack,) = slack_parts(alerts, stack="batch")
    assert "<!channel>" not in json.dumps(slack.document)
    assert "&lt;!channel&gt;" in slack.document["text"]


def storm(count: int):
    return [
        failed(f"job-{i:04d}", error="Job.TaskFailed" if i % 7 == 0 else "ECS.AmazonECSException") for i in range(count)
    ]


def every_index_once(parts, count):
    return sorted(i for part in parts for i in part.indices) == list(range(count))


def test_a_large_group_splits_at_slacks_limits_and_numbers_its_parts():
    alerts = storm(600)
    parts = slack_parts(alerts, stack="batch")
    assert every_index_once(parts, 600)
    assert len(parts) > 1
    for number, part in enumerate(parts, 1):
        blocks = part.document["blocks"]
        assert len(blocks) <= SLACK_BLOCKS_LIMIT
        assert all(len(block["text"]["text"]) <= SLACK_BLOCK_TEXT_LIMIT for block in blocks)
        assert sum(len(block["text"]["text"]) for block in blocks) <= SLACK_TEXT_LIMIT
        assert part.document["text"] == f"[batch] 600 runs failed (part {number} of {len(parts)})"
        # Each alert of the part is on one of its lines, and nowhere else.
        text = "\n".join(block["text"]["text"] for block in blocks)
        assert [i for i in range(600) if f"*job-{i:04d}*" in text] == sorted(part.indices)
    # A part is only cut where the next line would not fit: each but the last is nearly full.
    assert all(sum(len(b["text"]["text"]) for b in p.document["blocks"]) > SLACK_TEXT_LIMIT - 400 for p in parts[:-1])


def test_a_section_cut_by_a_new_part_repeats_its_heading():
    parts = slack_parts(storm(600), stack="batch")
    second = parts[1].document["blocks"][1]["text"]["text"]
    assert second.startswith("*")
    assert second.split("\n")[0].endswith("(continued)*")


def test_a_large_group_splits_at_chatworks_length():
    parts = chatwork_parts(storm(600), stack="batch")
    assert every_index_once(parts, 600)
    assert all(len(part.document) <= CHATWORK_MESSAGE_LIMIT for part in parts)
    assert all(len(part.document) > CHATWORK_MESSAGE_LIMIT - 500 for part in parts[:-1])
    assert [part.document.count("[/info]") for part in parts] == [1] * len(parts)


def test_email_takes_a_storm_in_one_message():
    (part,) = email_parts(storm(600), stack="batch")
    assert part.document[0] == "[batch] 600 runs failed"
    assert len(part.indices) == 600
