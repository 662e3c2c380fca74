"""The review page: written from the synthesized stack, its flowcharts checked against the
definitions they draw."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from stack_helpers import resources

from constructs_lib.reporting.flowchart import flowchart, flowchart_edges
from constructs_lib.reporting.review import review

AFTER = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def all_states(states: dict) -> dict:
    found = {}
    for name, state in states.items():
        found[name] = state
        for branch in state.get("Branches", []):
            found |= all_states(branch["States"])
    return found


def definitions(stack) -> list[dict]:
    return [json.loads(machine["definition"]) for machine in resources(stack, "aws_sfn_state_machine").values()]


@pytest.mark.parametrize("stack_name", ["default_stack", "multi_stack"])
def test_every_state_and_every_transition_is_in_the_flowchart(request, stack_name):
    for definition in definitions(request.getfixturevalue(stack_name)):
        chart = flowchart(definition).splitlines()
        declared = {re.match(r"  (\w+)[\[\({]", line).group(1) for line in chart if re.match(r"  \w+[\[\({]", line)}
        assert declared == {"start", *all_states(definition["States"])}
        drawn = set()
        for line in chart:
            if m := re.fullmatch(r'  (\w+) (?:-->|-\.->)(?:\|"([^"]*)"\|)? (\w+)', line):
                drawn.add((m.group(1), m.group(3), m.group(2) or ""))
        expected = {(source, target, label.replace('"', "'")) for source, target, label in flowchart_edges(definition)}
        assert drawn == expected
        # and the edges are the definition's, read independently here
        for name, state in all_states(definition["States"]).items():
            targets = {state.get("Next"), state.get("Default")} | {c["Next"] for c in state.get("Choices", [])}
            targets |= {c["Next"] for c in state.get("Catch", [])} | {b["StartAt"] for b in state.get("Branches", [])}
            assert {t for s, t, _ in drawn if s == name} == {t for t in targets if t} | (
                {name} if state.get("Retry") else set()
            )


def test_the_page_says_what_runs_when_and_what_failure_triggers(multi_stack):
    page = review(multi_stack, stack_name="batch", region="us-east-1", after=AFTER)
    assert page.startswith("# Review: stack `batch` (us-east-1)\n")
    assert [line for line in page.splitlines() if line.startswith("### ")] == [
        "### every-5-minutes",
        "### idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x",
        "### nightly-report",
        "### thumbnails",
    ]
    assert (
        "| schedule | `cron(0 8 ? * MON-FRI *)` in Asia/Tokyo: EventBridge Scheduler schedule batch-nightly-report "
        "(enabled) |" in page
    )
    assert (
        "| next runs | Mon 2026-11-30 08:00 JST = Sun 2026-11-29 23:00 UTC; Tue 2026-12-01 08:00 JST = "
        "Mon 2026-11-30 23:00 UTC; Wed 2026-12-02 08:00 JST = Tue 2026-12-01 23:00 UTC |" in page
    )
    assert (
        "| task | 1024 cpu / 2048 MiB; image `123456789012.dkr.ecr.us-east-1.amazonaws.com/reports/mailer:1.2.3`;"
        in page
    )
    assert "launch 13 after 18 min 30 s on each of 2 capacity sources; rides out a capacity outage of 37 min |" in page
    assert (
        "| on failure | alert to log at once, and to email, slack, chatwork through the alert queue (grouped over "
        "20 s, retried for more than 24 hours); then FAILED, and alarms on ExecutionsAborted, "
        "ExecutionsFailed, ExecutionsTimedOut notify the alert topic |" in page
    )
    # The watchdog: nightly-report's 15-minute flexible window makes its grace 25 minutes; the
    # disabled job is not watched.
    assert (
        "| watched | a run not started 25 min after its time is reported missed, within 30 min at worst; "
        "recovery notices on; a run still going after 20 min is announced |" in page
    )
    assert page.count("| watched | no: the job is disabled (enabled = false) |") == 1
    # A compact flowchart at the top of each job, the full one folded away below it.
    assert page.count("```mermaid") == 8
    assert page.count("<details><summary>Every state and transition</summary>") == 4
    costs = page.split("## Standing costs")[1].splitlines()
    assert [[cell.strip() for cell in row.split("|")[1:4]] for row in costs if row.startswith("| ")] == [
        ["what", "count", "a month"],
        ["KMS key", "2", "$2.00"],  # the alert topic's and the log key
        ["CloudWatch alarm", "18", "$1.80"],  # 3 per job, each Lambda's 2, the two dead-letter queues'
        ["in all", "", "$3.80"],
    ]
    assert "NAT gateway" not in page  # no NAT in this stack


def test_each_job_shows_its_limits_its_names_and_its_worst_case(multi_stack):
    page = review(multi_stack, stack_name="batch", region="us-east-1", after=AFTER)
    nightly = page.split("### nightly-report")[1].split("### ")[0]
    assert "| timeout | 30 min per run of the task |" in nightly
    assert (
        "| concurrency | one at a time: a run due while the previous one runs launches nothing and alerts |" in nightly
    )
    assert "| capacity, in order | FARGATE |" in nightly
    # Names only: the values of environment and secrets never reach the page.
    assert (
        "| environment and secrets (names) | `LOG_LEVEL`, `REPORT_KIND`, `DB_PASSWORD` (secret), `DB_USER` (secret), "
        "`SMTP_PASSWORD` (secret) |" in nightly
    )
    # 18 min 30 s of waits, then the 30-minute timeout on the first launch and on each of the 12
    # relaunches an exit code 75 may cause: 1,110 + 13 x 1,800 s.
    assert "| worst-case duration | 6 h 48 min 30 s (18 min 30 s of retry waits, then 13 × the 30 min timeout) |" in (
        nightly
    )
    thumbnails = page.split("### thumbnails")[1]
    assert "| capacity, in order | FARGATE, then FARGATE_SPOT |" in thumbnails
    # Guard, then each capacity source with its retries, then alert and fail.
    assert (
        "```mermaid\nflowchart LR\n"
        '  guard{"previous run<br/>still running?"} -->|no| launch0\n'
        "  guard -->|yes| alert\n"
        '  launch0["launch on FARGATE<br/>retried ×12"]\n'
        '  launch0 -->|"the task succeeded"| done(["SUCCEEDED"])\n'
        '  launch1["launch on FARGATE_SPOT<br/>retried ×12"]\n'
        '  launch1 -->|"the task succeeded"| done(["SUCCEEDED"])\n'
        "  launch0 -->|no capacity| launch1\n"
        '  launch1 -->|"gave up, or the job failed"| alert["alert every channel"]\n'
        '  alert --> fail[["FAILED: alarms fire"]]\n```'
    ) in thumbnails
    sync = page.split("### idempotent-sync-job")[1].split("### ")[0]
    assert "| concurrency | runs may overlap |" in sync


def test_arns_read_as_resolved(multi_stack):
    page = review(multi_stack, stack_name="batch", region="us-east-1", after=AFTER)
    assert "`arn:${partition}:ssm:${region}:${account}:parameter/batch/alerts/slack-webhook`" in page
    assert "`<aws_sqs_queue.undelivered_queue.arn>`" in page
    assert "aws_partition." not in page and "aws_caller_identity." not in page


def test_the_roles_table_shows_a_task_role_s_grants_and_attached_policies(multi_stack):
    page = review(multi_stack, stack_name="batch", region="us-east-1", after=AFTER)
    rows = page.split("## Roles")[1].split("## Resources")[0].splitlines()
    start = rows.index(
        "| batch-nightly-report-task | ecs-tasks.amazonaws.com (aws:SourceArn, aws:SourceAccount) "
        "| `s3:PutObject` | `arn:aws:s3:::batch-reports/daily/*` |  |"
    )
    assert rows[start + 1 : start + 4] == [
        "|  |  | `cloudwatch:PutMetricData` | `*` |  |",
        "|  |  | what the managed policy `arn:aws:iam::123456789012:policy/report-readers` allows | | |",
        "|  |  | what the managed policy `arn:aws:iam::aws:policy/AmazonSESFullAccess` allows | | |",
    ]


def test_the_roles_table_lists_every_statement(default_stack):
    page = review(default_stack, stack_name="scheduled-jobs", region="ap-northeast-1", after=AFTER)
    rows = [line for line in page.split("## Roles")[1].split("## Resources")[0].splitlines() if line.startswith("| ")]
    statements = sum(
        len(json.loads(body["policy"])["Statement"])
        for body in resources(default_stack, "aws_iam_role_policy").values()
    )
    roles_without_policy = 1  # the task role: nothing
    assert len(rows) - 1 == statements + roles_without_policy  # the header row aside
    assert (
        "| scheduled-jobs-run-once-a-hour-task | ecs-tasks.amazonaws.com (aws:SourceArn, aws:SourceAccount) "
        "| nothing | | |" in rows
    )
    assert any(
        "`iam:PassRole`" in row and "`iam:PassedToService` StringEquals `ecs-tasks.amazonaws.com`" in row
        for row in rows
    )
    costs = [row for row in page.split("## Standing costs")[1].splitlines() if row.startswith("| ")]
    assert costs[1:] == [
        "| NAT gateway | 1 | $32.85 | $0.045 an hour, plus $0.045 per GB it processes (image pulls, logs) "
        "([prices](https://aws.amazon.com/vpc/pricing/)) |",
        "| public IPv4 address | 1 | $3.65 | $0.005 an hour for each address, in use or not "
        "([prices](https://aws.amazon.com/vpc/pricing/)) |",
        "| KMS key | 1 | $1.00 | $1 a month for each customer-managed key, plus $0.03 per 10,000 requests "
        "([prices](https://aws.amazon.com/kms/pricing/)) |",
        "| CloudWatch alarm | 9 | $0.90 | $0.10 a month for each standard-resolution alarm, the first 10 of the "
        "account free ([prices](https://aws.amazon.com/cloudwatch/pricing/)) |",
        "| in all | | $38.40 | |",
    ]
