"""The alert's words, from hand-written payloads: every branch of ``lambda_src.message``.

``test_alert_messages.py`` renders the payloads the synthesized state machine really sends; these
tests cover what those runs cannot reach (odd values, each partition, each reason a task never
started, the limits of each channel) and need no synth, so ``make mutate`` runs them. The payload
keys are the contract's (``lambda_src.contract.AlertPayload``); the expected texts are written out.
"""

from __future__ import annotations

import json
import time

import pytest

from lambda_src.chatwork import chatwork_message
from lambda_src.mail import email_message
from lambda_src.message import RAW_LIMIT, SUBJECT_LIMIT, Alert, describe
from lambda_src.slack import slack_message

EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:batch-nightly:run-1"
MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:batch-nightly"
TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/batch/abc123"
EXECUTION_LINK = "https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/" + EXECUTION
GROUP_LINK = (
    "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fnightly"
)
STREAM_LINK = GROUP_LINK + "/log-events/nightly$252Fapp$252Fabc123"
TASK_LINK = "https://console.aws.amazon.com/ecs/v2/clusters/batch/tasks/abc123?region=eu-west-1"
RUN_NOW = ("Run it now", "make run JOB=nightly")


def payload(**changes: object) -> dict:
    """A payload as the state machine sends it, with ``changes`` (``None`` removes a key)."""
    base = {
        "stack": "batch",
        "job": "nightly",
        "error": "Job.TaskFailed",
        "execution": EXECUTION,
        "stateMachine": MACHINE,
        "startTime": "2026-11-28T08:00:01.500Z",
        "gaveUpAt": "2026-11-28T08:02:31.900Z",
        "input": {"job": "nightly", "scheduledTime": "2026-11-28T08:00:00Z"},
        "launchBudget": 4,
        "timeoutSeconds": 1800,
        "logGroup": "/ecs/nightly",
        "logStreamPrefix": "nightly/app",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def task(**changes: object) -> str:
    """A stopped task as DescribeTasks returns it, as the ``cause`` Step Functions gives."""
    base = {
        "TaskArn": TASK_ARN,
        "StopCode": "EssentialContainerExited",
        "StoppedReason": "Essential container in task exited",
        "Containers": [{"Name": "app", "ExitCode": 3, "Reason": None}],
    }
    base.update(changes)
    return json.dumps({key: value for key, value in base.items() if value is not None})


FACTS = (
    ("Job", "nightly"),
    ("Stack", "batch"),
    ("Region", "eu-west-1"),
    ("Scheduled for", "2026-11-28 08:00:00 UTC"),
    ("Started", "2026-11-28 08:00:01 UTC"),
    ("Gave up", "2026-11-28 08:02:31 UTC"),
)


# --- what happened, per error -----------------------------------------------------------------


def test_a_container_that_exited_non_zero():
    alert = describe(payload(cause=task()))
    assert alert.title == "[batch] nightly failed: the container exited with code 3"
    assert alert.what == "The container exited with code 3. The job ran, maybe half-way; it was not re-run."
    assert alert.facts == (*FACTS, ("Error", "Job.TaskFailed"), ("Task", TASK_ARN), RUN_NOW)
    assert alert.links == (
        ("Execution (Step Functions console)", EXECUTION_LINK),
        ("Task (ECS console)", TASK_LINK),
        ("Task log (CloudWatch console)", STREAM_LINK),
    )
    assert alert.alert_id == EXECUTION


def test_the_exit_reason_is_given_and_the_first_non_zero_container_counts():
    cause = task(
        Containers=[
            "not a container",
            {"Name": "sidecar", "ExitCode": 0},
            {"Name": "app", "ExitCode": 137, "Reason": "OutOfMemoryError: Container killed due to memory usage"},
            {"Name": "other", "ExitCode": 2, "Reason": "later"},
        ]
    )
    alert = describe(payload(cause=cause))
    assert alert.title == "[batch] nightly failed: the container exited with code 137"
    assert alert.what == (
        "The container exited with code 137 (OutOfMemoryError: Container killed due to memory usage). "
        "The job ran, maybe half-way; it was not re-run."
    )


@pytest.mark.parametrize(
    ("cause", "stopped"),
    [
        (
            task(Containers=[{"Name": "app", "ExitCode": 0}]),
            "EssentialContainerExited: Essential container in task exited",
        ),
        (task(Containers=None, StopCode=None), "Essential container in task exited"),
        (task(Containers="garbled", StoppedReason=None), "EssentialContainerExited"),
        (task(Containers=[{"Name": "app", "ExitCode": "1"}], StopCode="", StoppedReason=""), "no reason given"),
    ],
    ids=["exit-0", "reason-only", "code-only", "neither"],
)
def test_a_task_that_stopped_without_a_non_zero_exit(cause, stopped):
    alert = describe(payload(cause=cause))
    assert alert.title == "[batch] nightly failed: the task stopped"
    assert alert.what == f"The task stopped before its container exited: {stopped}. It was not re-run."


def test_no_capacity_on_one_provider_quotes_ecs():
    cause = "Capacity is unavailable at this time"
    alert = describe(payload(error="ECS.AmazonECSException", cause=cause, capacity=["FARGATE"]))
    assert alert.title == "[batch] nightly failed: Fargate had no capacity"
    assert alert.what == (
        "Fargate had no capacity for the task: it was not placed after 4 launches over 2 min 30 s, "
        'so the job did not run. ECS said: "Capacity is unavailable at this time"'
    )
    assert alert.facts[-2:] == (("Error", "ECS.AmazonECSException"), RUN_NOW)  # no task: the cause is not one
    assert alert.links[-1] == ("Job log group (CloudWatch console)", GROUP_LINK)


def test_no_capacity_on_each_provider_names_them_in_order():
    alert = describe(payload(error="AmazonECS.Unknown", cause="", capacity=["FARGATE", "FARGATE_SPOT"], launchBudget=1))
    assert alert.title == "[batch] nightly failed: Fargate had no capacity"
    assert alert.what == (
        "Fargate had no capacity for the task on FARGATE, then FARGATE_SPOT: it was not placed after "
        "launching on each over 2 min 30 s, so the job did not run."
    )


def test_no_capacity_quotes_at_most_300_characters_of_the_cause():
    alert = describe(payload(error="AmazonECS.Unknown", cause="x" * 301, launchBudget=True))
    assert alert.what == (
        "Fargate had no capacity for the task: it was not placed after launching over 2 min 30 s, "
        f'so the job did not run. ECS said: "{"x" * 299}…"'
    )
    exactly = describe(payload(error="AmazonECS.Unknown", cause="y" * 300, launchBudget=2))
    assert exactly.what.endswith(f'after 2 launches over 2 min 30 s, so the job did not run. ECS said: "{"y" * 300}"')


@pytest.mark.parametrize(
    ("containers", "stopped_reason", "reason", "stuck"),
    [
        (
            [{"Name": "app", "Reason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)"}],
            "Task failed to start",
            "CannotPullContainerError: pull image manifest has been retried 5 time(s); Task failed to start",
            " (the image could not be pulled)",
        ),
        (
            [],
            "ResourceInitializationError: unable to pull secrets or registry auth: retrieve ssm parameter",
            "ResourceInitializationError: unable to pull secrets or registry auth: retrieve ssm parameter",
            " (its secrets could not be fetched)",
        ),
        (
            [{"Name": "app", "Reason": "Timeout waiting for network interface provisioning to complete."}],
            "Timeout waiting for network interface provisioning to complete.",
            "Timeout waiting for network interface provisioning to complete.",
            " (its network interface could not be set up)",
        ),
        (
            [],
            "ResourceInitializationError: failed to configure ENI",
            "ResourceInitializationError: failed to configure ENI",
            " (its network interface could not be set up)",
        ),
        (
            [],
            "ResourceInitializationError: failed to validate logger args",
            "ResourceInitializationError: failed to validate logger args",
            " (its resources could not be set up)",
        ),
        (
            [],
            "the network interface was slow (lower case eni)",
            "the network interface was slow (lower case eni)",
            " (its network interface could not be set up)",
        ),
        ([], "Something new", "Something new", ""),
    ],
    ids=["image", "secrets", "network-interface", "eni", "resources", "words", "unknown"],
)
def test_a_task_that_never_started_says_what_it_was_stuck_on(containers, stopped_reason, reason, stuck):
    cause = task(StopCode="TaskFailedToStart", StoppedReason=stopped_reason, Containers=containers)
    alert = describe(payload(error="Job.TaskFailedToStart", cause=cause, launchBudget=13))
    assert alert.title == "[batch] nightly failed: the task never started"
    assert alert.what == (
        f"The task never started{stuck}, after 13 launches over 2 min 30 s, so the job did not run. ECS said: {reason}"
    )
    # It never ran: the link is to the group, not to a stream that does not exist.
    assert alert.links[-1] == ("Job log group (CloudWatch console)", GROUP_LINK)


def test_lower_case_eni_alone_is_not_read_as_a_network_interface():
    cause = task(StopCode="TaskFailedToStart", StoppedReason="a genie appeared", Containers=[])
    alert = describe(payload(error="Job.TaskFailedToStart", cause=cause))
    assert alert.what.startswith("The task never started, after 4 launches")


def test_a_task_that_never_started_without_a_reason():
    cause = task(StopCode="TaskFailedToStart", StoppedReason=None, Containers=[{"Name": "app", "Reason": ""}])
    alert = describe(payload(error="Job.TaskFailedToStart", cause=cause, startTime=None))
    assert alert.what == "The task never started, after 4 launches, so the job did not run. ECS said: no reason given"


def test_a_retryable_exit_code_on_every_launch():
    alert = describe(payload(error="Job.RetryableExit", cause=task(Containers=[{"ExitCode": 75}])))
    assert alert.title == "[batch] nightly failed: exit code 75 on every launch"
    assert alert.what == (
        'The container exited with code 75, which the job declares as "nothing was done, try again" '
        "(retry_exit_codes), after 4 launches over 2 min 30 s, so the job did not complete."
    )
    unknown = describe(payload(error="Job.RetryableExit", cause="not json", gaveUpAt=None))
    assert unknown.title == "[batch] nightly failed: exit code ? on every launch"
    assert unknown.what.endswith("(retry_exit_codes), after 4 launches, so the job did not complete.")


def test_the_other_endings():
    def said(error: str, **changes: object) -> tuple[str, str]:
        alert = describe(payload(error=error, **changes))
        return alert.title.removeprefix("[batch] nightly failed: "), alert.what

    assert said("Job.SpotInterrupted") == (
        "Fargate Spot took the capacity back",
        "Fargate Spot took its capacity back while the task ran (SpotInterruption, two minutes' warning). "
        "The job may have run half-way; it was not re-run (rerun_attempts allows re-runs).",
    )
    assert said("Execution.ABORTED") == (
        "the run was aborted",
        "The run was aborted (stopped by hand, or by a deploy that replaced the state machine) before it "
        "finished; Step Functions asked ECS to stop its task. The job may have run half-way; it was not re-run.",
    )
    assert said("Execution.TIMED_OUT") == (
        "the run timed out",
        "The execution ran past its own time limit and was stopped before it finished. The job may have run "
        "half-way; it was not re-run.",
    )
    assert said("Job.TimedOut") == (
        "the task ran past its timeout",
        "The task ran past its timeout of 30 min; Step Functions stopped it. It was not re-run.",
    )
    assert said("Job.TimedOut", timeoutSeconds="1800")[1] == (
        "The task ran past its timeout; Step Functions stopped it. It was not re-run."
    )
    assert said("States.Runtime", cause={"detail": "ü"}) == (
        "States.Runtime",
        'The run failed with States.Runtime and was not retried. Cause: {"detail": "ü"}',
    )
    assert said("States.Runtime", cause={"detail": b"\x00"}) == (  # from Python, not JSON: shown as repr
        "States.Runtime",
        """The run failed with States.Runtime and was not retried. Cause: {"detail": "b'\\\\x00'"}""",
    )
    assert said("States.Runtime", cause="") == (
        "States.Runtime",
        "The run failed with States.Runtime and was not retried. Cause: none given",
    )
    long = said("States.Runtime", cause="c" * (RAW_LIMIT + 1))[1]
    assert long == f"The run failed with States.Runtime and was not retried. Cause: {'c' * (RAW_LIMIT - 1)}…"


def test_the_previous_run_links_to_the_running_executions():
    alert = describe(payload(error="Job.PreviousRunStillRunning"))
    assert alert.title == "[batch] nightly failed: the previous run was still running"
    assert alert.what == (
        "The previous run of this job was still running when this one started, so this run launched no task "
        '(concurrency = "forbid"). A run still going a whole period later is news of its own: see the state '
        "machine's running executions."
    )
    assert alert.links == (
        ("Execution (Step Functions console)", EXECUTION_LINK),
        (
            "Running executions (Step Functions console)",
            f"https://console.aws.amazon.com/states/home?region=eu-west-1#/statemachines/view/{MACHINE}",
        ),
        ("Job log group (CloudWatch console)", GROUP_LINK),
    )
    assert [label for label, _ in describe(payload(error="Job.PreviousRunStillRunning", stateMachine="")).links] == [
        "Execution (Step Functions console)",
        "Job log group (CloudWatch console)",
    ]


# --- the facts and links ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partition", "console"),
    [
        ("aws", "https://console.aws.amazon.com"),
        ("aws-cn", "https://console.amazonaws.cn"),
        ("aws-us-gov", "https://console.amazonaws-us-gov.com"),
        ("aws-new", "https://console.aws.amazon.com"),
    ],
)
def test_links_use_the_partitions_console(partition, console):
    execution = EXECUTION.replace("arn:aws:", f"arn:{partition}:")
    alert = describe(payload(execution=execution))
    assert alert.links[0][1] == f"{console}/states/home?region=eu-west-1#/v2/executions/details/{execution}"


@pytest.mark.parametrize(
    "execution",
    [
        None,
        "",
        "arn:aws:states::123456789012:execution:x:y",
        "arn:aws:states:eu-west-1",
        "urn:aws:states:eu-west-1:1:x",
    ],
    ids=["absent", "empty", "no-region", "four-parts", "not-an-arn"],
)
def test_without_a_region_in_the_execution_there_are_no_links(execution):
    alert = describe(payload(execution=execution))
    assert alert.links == ()
    assert ("Region", "?") in alert.facts


@pytest.mark.parametrize(
    "execution",
    ["arn:aws:states:eu-west-1:123456789012", "arn:aws:states:eu-west-1::execution:x"],
    ids=["five-parts", "no-account"],
)
def test_the_region_is_the_fourth_part_of_any_arn_longer_than_four(execution):
    alert = describe(payload(execution=execution))
    assert ("Region", "eu-west-1") in alert.facts
    assert alert.links[0] == (
        "Execution (Step Functions console)",
        f"https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{execution}",
    )


def test_the_log_link_needs_a_group_and_names_the_stream_only_with_a_prefix():
    assert describe(payload(cause=task(), logGroup="")).links[-1] == ("Task (ECS console)", TASK_LINK)
    assert describe(payload(cause=task(), logGroup=7)).links[-1] == ("Task (ECS console)", TASK_LINK)
    assert describe(payload(cause=task(), logStreamPrefix=None)).links[-1] == (
        "Job log group (CloudWatch console)",
        GROUP_LINK,
    )
    assert describe(payload(cause=task(TaskArn=None))).links[-1] == ("Job log group (CloudWatch console)", GROUP_LINK)
    assert describe(payload(cause=task(TaskArn="abc123"))).links[-1] == ("Task log (CloudWatch console)", STREAM_LINK)


def test_console_links_escape_the_group_and_stream_twice():
    alert = describe(payload(cause=task(), logGroup="/aws/ecs/a b+c", logStreamPrefix="p/x%y"))
    assert alert.links[-1][1] == (
        "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/"
        "$252Faws$252Fecs$252Fa$2520b$252Bc/log-events/p$252Fx$2525y$252Fabc123"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-11-28T08:00:01+09:00", "2026-11-27 23:00:01 UTC"),
        ("2026-11-28T08:00:01", "2026-11-28 08:00:01 UTC"),  # no offset: UTC
        (1795852801000, "2026-11-28 08:00:01 UTC"),  # epoch milliseconds, from an event
        (1795852801000.0, "2026-11-28 08:00:01 UTC"),
        (1, "1970-01-01 00:00:00 UTC"),
    ],
)
def test_times_are_read_as_iso_or_epoch_milliseconds_and_shown_in_utc(value, shown, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # whatever the machine's zone
    time.tzset()
    try:
        alert = describe(payload(startTime=value, gaveUpAt=None))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert ("Started", shown) in alert.facts


@pytest.mark.parametrize("value", [True, 0, -5, 10**20, "yesterday", "", None, ["2026-11-28"]])
def test_unreadable_times_are_left_out(value):
    alert = describe(payload(startTime=value, input={"scheduledTime": value}))
    assert [label for label, _ in alert.facts] == ["Job", "Stack", "Region", "Gave up", "Error", "Run it now"]
    assert " over " not in alert.what


def test_the_scheduled_time_comes_from_the_input_or_an_events_time():
    from_event = describe(payload(input={"time": "2026-11-28T07:00:00Z"}))
    assert ("Scheduled for", "2026-11-28 07:00:00 UTC") in from_event.facts
    preferred = describe(payload(input={"scheduledTime": "2026-11-28T06:00:00Z", "time": "2026-11-28T07:00:00Z"}))
    assert ("Scheduled for", "2026-11-28 06:00:00 UTC") in preferred.facts
    assert "Scheduled for" not in dict(describe(payload(input="2026-11-28T07:00:00Z")).facts)


def test_a_missing_stack_is_shown_as_a_question_mark():
    assert describe(payload(stack=None)).title == "[?] nightly failed: the task stopped"
    assert describe(payload(stack="")).facts[1] == ("Stack", "?")
    assert describe(payload(stack=5)).facts[1] == ("Stack", "?")


def test_the_record_is_one_structured_log_line():
    cause = task(Containers=[{"Name": "app", "ExitCode": 3, "Reason": "boom"}])
    alert = describe(payload(cause=cause))
    assert alert.record == {
        "level": "ERROR",
        "message": "scheduled job nightly failed: Job.TaskFailed",
        "alert_id": EXECUTION,
        "stack": "batch",
        "job": "nightly",
        "error": "Job.TaskFailed",
        "what": "The container exited with code 3 (boom). The job ran, maybe half-way; it was not re-run.",
        "cause": cause,
        "execution": EXECUTION,
        "start_time": "2026-11-28T08:00:01.500Z",
        "gave_up_at": "2026-11-28T08:02:31.900Z",
        "state_machine": MACHINE,
        "task": {
            "task_arn": TASK_ARN,
            "stop_code": "EssentialContainerExited",
            "stopped_reason": "Essential container in task exited",
            "containers": [{"name": "app", "exit_code": 3, "reason": "boom"}],
        },
    }
    assert "task" not in describe(payload(cause="{}")).record


def test_a_cause_is_a_task_only_when_it_looks_like_one():
    for cause in ('{"StopCode": "X"}', json.dumps({"TaskArn": TASK_ARN})):
        assert "task" in describe(payload(cause=cause)).record
    for cause in ('{"Other": 1}', "[1]", "{", 5):
        assert "task" not in describe(payload(cause=cause)).record


# --- payloads it does not know ----------------------------------------------------------------


def test_a_test_request():
    alert = describe({"test": True, "stack": "batch", "id": "req-1"})
    assert alert == Alert(
        title="[batch] test alert",
        what="This is a test alert. If you read it, alerts reach you here.",
        alert_id="req-1",
        record={
            "level": "INFO",
            "message": "test alert",
            "what": "This is a test alert. If you read it, alerts reach you here.",
            "event": {"test": True, "stack": "batch", "id": "req-1"},
        },
    )
    assert describe({"test": True}).title == "[this stack] test alert"
    assert describe({"test": "yes"}).title == "Scheduled jobs alert (unrecognised payload)"


@pytest.mark.parametrize(
    ("event", "raw"),
    [
        ("text", '"text"'),
        ([1], "[1]"),
        ({"job": "nightly"}, '{"job": "nightly"}'),
        ({"job": 1, "error": "E"}, '{"error": "E", "job": 1}'),
        ({"job": "ü", "error": None}, '{"error": null, "job": "ü"}'),
        ({"job": {1, 2}}, '{"job": "{1, 2}"}'),  # from Python, not JSON: shown as repr
    ],
)
def test_an_unrecognised_payload_carries_its_content(event, raw):
    alert = describe(event)
    what = f"The alert function was called with a payload it does not recognise: {raw}"
    assert alert == Alert(
        title="Scheduled jobs alert (unrecognised payload)",
        what=what,
        record={"level": "ERROR", "message": "unrecognised alert payload", "what": what, "event": event},
    )


def test_an_unrecognised_payload_is_clipped():
    alert = describe({"job": "x" * RAW_LIMIT})
    raw = json.dumps({"job": "x" * RAW_LIMIT})
    assert alert.what == f"The alert function was called with a payload it does not recognise: {raw[: RAW_LIMIT - 1]}…"


def test_surprising_values_of_the_right_shape_say_what_went_wrong():
    alert = describe(payload(cause=task(Containers=[{"ExitCode": 1, "Reason": ["out", "of", "memory"]}])))
    assert alert.what == (
        "The container exited with code 1 (['out', 'of', 'memory']). The job ran, maybe half-way; it was not re-run."
    )
    cause = json.dumps({"StopCode": "X", "Containers": [{"Reason": {"a": 1}}], "StoppedReason": {"a": 1}})
    never = describe(payload(error="Job.TaskFailedToStart", cause=cause))
    assert never.what == (
        "The task never started, after 4 launches over 2 min 30 s, so the job did not run. ECS said: {'a': 1}"
    )
    odd = describe({"job": "j", "error": "E", "startTime": "9999-12-31T23:59:59-01:00"})  # UTC is year 10000
    assert odd == Alert(
        title="Scheduled jobs alert (unrecognised payload)",
        what="The alert function was called with a payload it does not recognise (OverflowError while reading "
        'it: date value out of range): {"error": "E", "job": "j", "startTime": "9999-12-31T23:59:59-01:00"}',
        record=odd.record,
    )


# --- per channel ------------------------------------------------------------------------------

ALERT = Alert(
    title="[batch] <nightly> failed & more",
    what="It failed: <b> & 1 > 0.",
    facts=(("Job", "<nightly>"), ("Error", "A&B")),
    links=(("Execution", "https://example.com/a?b=1&c=2"), ("Log", "https://example.com/log")),
    alert_id="arn:x",
)


def test_slack_escapes_its_control_characters_everywhere_but_in_links():
    assert slack_message(ALERT) == {
        "text": "[batch] &lt;nightly&gt; failed &amp; more",  # the notification text is mrkdwn too
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*[batch] &lt;nightly&gt; failed &amp; more*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "It failed: &lt;b&gt; &amp; 1 &gt; 0."}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Job:* &lt;nightly&gt;\n*Error:* A&amp;B"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "<https://example.com/a?b=1&c=2|Execution>  ·  <https://example.com/log|Log>",
                    }
                ],
            },
        ],
    }


def test_slack_leaves_out_empty_sections():
    assert slack_message(Alert(title="t", what="w")) == {
        "text": "t",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*t*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "w"}},
        ],
    }


def test_chatwork_notation():
    assert chatwork_message(ALERT) == (
        "[info][title][batch] <nightly> failed & more[/title]It failed: <b> & 1 > 0.\n\nJob: <nightly>\nError: A&B"
        "\n\nExecution: https://example.com/a?b=1&c=2\nLog: https://example.com/log[/info]"
    )
    assert chatwork_message(Alert(title="t", what="w")) == "[info][title]t[/title]w[/info]"


def test_email_subject_and_body():
    assert email_message(ALERT) == (
        "[batch] <nightly> failed & more",
        "It failed: <b> & 1 > 0.\n\nJob: <nightly>\nError: A&B\n\n"
        "Execution:\n  https://example.com/a?b=1&c=2\nLog:\n  https://example.com/log\n\nAlert id: arn:x\n",
    )
    assert email_message(Alert(title="t", what="w")) == ("t", "w\n")


def test_email_subjects_stay_within_snss_limits():
    assert email_message(Alert(title="a\nb\tc\x00d", what="w"))[0] == "a b c d"
    fits = "s" * SUBJECT_LIMIT
    assert email_message(Alert(title=fits, what="w"))[0] == fits
    long = email_message(Alert(title=fits + "t", what="w"))[0]
    assert long == "s" * (SUBJECT_LIMIT - 1) + "…"
    assert len(long) == 99


# --- what the on-call person needs next: the job's own clock, the next run, the task -------------


def test_times_in_the_jobs_zone_beside_utc_and_the_next_run():
    alert = describe(
        payload(
            timezone="Asia/Tokyo",
            schedule="cron(0 8 ? * MON-FRI *)",
            input={"job": "nightly", "scheduledTime": "2026-11-27T23:00:00Z"},  # Saturday 08:00 in Tokyo
            gaveUpAt="2026-11-27T23:18:30Z",
        )
    )
    facts = dict(alert.facts)
    assert facts["Scheduled for"] == "2026-11-27 23:00:00 UTC (Sat 08:00 JST, Asia/Tokyo)"
    # The next weekday 08:00 in Tokyo after the give-up: Monday, Sunday 23:00 UTC.
    assert facts["Next run"] == "2026-11-29 23:00:00 UTC (Mon 08:00 JST, Asia/Tokyo)"
    assert facts["Run it now"] == "make run JOB=nightly"


def test_no_next_run_for_a_rate_an_unknown_zone_stands_alone_in_utc():
    rate = dict(describe(payload(schedule="rate(15 minutes)")).facts)
    assert "Next run" not in rate
    unknown = dict(describe(payload(timezone="Mars/Olympus_Mons", schedule="cron(0 8 * * ? *)")).facts)
    assert unknown["Scheduled for"].endswith(" UTC")
    assert "Next run" not in unknown  # a zone the model does not know: no guess


@pytest.mark.parametrize(
    "task_arn",
    ["abc123", "arn:aws:ecs:eu-west-1:123456789012:task/abc123", "arn:aws:ecs:eu-west-1:1:task//x", 7],
    ids=["bare-id", "no-cluster", "empty-cluster", "not-text"],
)
def test_the_task_link_needs_a_task_arn_with_its_cluster(task_arn):
    labels = [label for label, _ in describe(payload(cause=task(TaskArn=task_arn))).links]
    assert "Task (ECS console)" not in labels


def test_every_slack_block_stays_within_3000_characters_and_is_cut_visibly():
    """A long cause passes Slack's section limit once escaped (each "&" becomes "&amp;")."""
    long = describe(payload(error="Custom.Error", cause="a&b " * 2000))
    message = slack_message(long)
    texts = [block["text"]["text"] for block in message["blocks"] if block["type"] == "section"]
    texts += [
        element["text"] for block in message["blocks"] if block["type"] == "context" for element in block["elements"]
    ]
    assert all(len(text) <= 3000 for text in texts)
    cut = message["blocks"][1]["text"]["text"]
    assert 2990 < len(cut) <= 3000  # cut at the limit, less a partial "&amp;" at most
    assert cut.endswith("…") and not cut[:-1].endswith(("&", "&a", "&am", "&amp"))
    short = slack_message(describe(payload()))
    assert not any(block.get("text", {}).get("text", "").endswith("…") for block in short["blocks"])


def test_text_from_a_run_cannot_ping_anyone_or_break_the_frame():
    """A stop reason or cause is the run's text: in Chatwork "[toall]" would ping the room and
    "[/info]" end the frame; in Slack "<!channel>" would ping the channel, in the notification too."""
    hostile = describe(payload(error="Custom <!channel> [toall]", cause="[/info][To:123] x [batch]"))
    chatwork = chatwork_message(hostile)
    assert chatwork.count("[/info]") == 1 and chatwork.endswith("[/info]")
    assert "[toall]" not in chatwork and "[To:123]" not in chatwork
    assert "［toall]" in chatwork and "［/info]［To:123] x [batch]" in chatwork  # other brackets stay
    slack = slack_message(hostile)
    assert "<!channel>" not in json.dumps(slack)
    assert slack["text"] == "[batch] nightly failed: Custom &lt;!channel&gt; [toall]"
