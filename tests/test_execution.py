"""The failure semantics, executed: every synthesized state machine runs in moto's Step Functions
interpreter with faults injected at the ECS and Lambda integrations, in virtual time.

Each scenario asserts the final status, the error and cause the execution ends with, the number of
task launches and alert invocations, every wait, the alert payload, and what each alert channel
received: the Slack and Chatwork stand-ins are real HTTP servers on 127.0.0.1, SSM and SNS are
moto's, and the alert Lambda is the real handler.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from alert_world import AlertWorld, alert_world
from moto.stepfunctions.models import StepFunctionBackend
from sfn_harness import (
    ALERT_FUNCTION_ARN,
    CLUSTER_ARN,
    CONTAINER_EXIT_1,
    EXIT_75,
    FAILED_TO_START,
    JOB_LOG_GROUP,
    NO_CAPACITY,
    REGION,
    RULE_INPUT,
    SPOT_INTERRUPTED,
    TIMEOUT,
    ByCapacity,
    Hold,
    LambdaFault,
    Raise,
    Sandbox,
    Succeed,
    launched_on,
)
from stack_helpers import GUARD_PASSED, GUARD_STATES, definition_text
from webhook_server import Webhook, webhook_server

from lambda_src import alert
from lambda_src.alert import handler

logging.getLogger("moto").setLevel(logging.CRITICAL)

ALERT_WAITS = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
TIMEOUT_CAUSE = "The task ran longer than timeout_seconds ({} s); Step Functions stopped it."


@dataclass(frozen=True)
class Job:
    """What the tests expect of one synthesized job, written out rather than derived."""

    stack: str
    name: str
    launch_waits: list[float]  # the waits before each launch retry, at most
    timeout_seconds: int
    rerun_waits: list[float]  # opt-in re-runs of a container that failed
    jittered: bool = False
    channels: tuple[str, ...] = ("log", "email")  # the alert channels its stack configures
    guarded: bool = True  # concurrency = "forbid": the run first checks for a previous one still running
    retry_exit_codes: tuple[int, ...] = ()
    schedule: str = ""  # the alert names the next run from it
    timezone: str | None = None  # and shows times on the job's clock

    @property
    def stack_name(self) -> str:
        return {"default_stack": "scheduled-jobs", "multi_stack": "batch"}[self.stack]


ALL_CHANNELS = ("log", "email", "slack", "chatwork")


JOBS = [
    Job("default_stack", "run-once-a-hour", [1, 2, 4], 3600, [], schedule="cron(0 * * * ? *)"),
    Job(
        "multi_stack",
        "nightly-report",
        [10, 20, 40, 80] + [120] * 8,  # the default policy: 1110 s
        1800,
        [],
        channels=ALL_CHANNELS,
        retry_exit_codes=(75,),
        schedule="cron(0 8 ? * MON-FRI *)",
        timezone="Asia/Tokyo",
    ),
    # The default policy in the 3 minutes that a 2-minute timeout leaves of 5: 150 s.
    Job("multi_stack", "every-5-minutes", [10, 20, 40, 80], 120, [], channels=ALL_CHANNELS, schedule="rate(5 minutes)"),
    Job(
        "multi_stack",
        "idempotent-sync-job-with-a-name-that-uses-all-sixty-four-chars-x",
        [30, 45, 60, 60],  # 30 s x1.5, capped at 60 s, with FULL jitter
        600,
        [30],
        jittered=True,
        channels=ALL_CHANNELS,
        guarded=False,  # concurrency = "allow"
        retry_exit_codes=(75, 69),
        schedule="cron(15 */6 * * ? *)",
    ),
]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sandbox:
        yield sandbox


@dataclass
class Channels:
    """What the alert Lambda reaches in a test: Slack and Chatwork stand-ins, the topic's mailbox."""

    slack: Webhook
    chatwork: Webhook
    world: AlertWorld

    def messages(self) -> dict[str, int]:
        """How many messages each channel accepted (the mailbox is drained)."""
        return {
            "slack": len(self.slack.accepted),
            "chatwork": len(self.chatwork.accepted),
            "email": len(self.world.emails()),
        }


_worlds = itertools.count()


def configure_channels(monkeypatch, slack_answers, chatwork_answers) -> Iterator[Channels]:
    with webhook_server(slack_answers) as slack, webhook_server(chatwork_answers) as chatwork:
        world = alert_world(
            monkeypatch.setenv,
            region=REGION,
            slack_url=slack.url,
            chatwork_base=chatwork.base,
            topic_name=f"alerts-{next(_worlds)}",
        )
        yield Channels(slack, chatwork, world)
    alert.reset()


@pytest.fixture
def channels(sandbox, monkeypatch) -> Iterator[Channels]:
    """Every channel configured (whether the job's stack uses it or not) and answering 200."""
    yield from configure_channels(monkeypatch, [200], [200])


def job_and_definition(request, sandbox) -> tuple[Job, str, Sandbox]:
    expected: Job = request.param
    return expected, definition_text(request.getfixturevalue(expected.stack), expected.name), sandbox


@pytest.fixture(params=JOBS, ids=lambda job: job.name[:20])
def job(request, sandbox, channels) -> tuple[Job, str, Sandbox]:
    """The job and its synthesized definition (Terraform references and all)."""
    return job_and_definition(request, sandbox)


def jobs_where(predicate) -> Any:
    """A fixture like ``job``, over the jobs ``predicate`` selects: each test then checks one
    behaviour, with no ``if`` that turns it into another."""

    @pytest.fixture(params=[job for job in JOBS if predicate(job)], ids=lambda job: job.name[:20])
    def fixture(request, sandbox, channels) -> tuple[Job, str, Sandbox]:
        return job_and_definition(request, sandbox)

    return fixture


job_with_exit_codes = jobs_where(lambda job: job.retry_exit_codes)
job_with_exit_codes_no_reruns = jobs_where(lambda job: job.retry_exit_codes and not job.rerun_waits)
job_with_neither = jobs_where(lambda job: not job.retry_exit_codes and not job.rerun_waits)
job_without_reruns = jobs_where(lambda job: not job.rerun_waits)
job_with_reruns = jobs_where(lambda job: job.rerun_waits)
guarded_job = jobs_where(lambda job: job.guarded)
unguarded_job = jobs_where(lambda job: not job.guarded)


def assert_waits(job: Job, waits: list[float], expected: list[float]) -> None:
    if job.jittered:  # FULL jitter: a random wait below the computed one (uniform, so never equal to it)
        assert len(waits) == len(expected)
        assert all(0 <= wait < limit for wait, limit in zip(waits, expected, strict=True)), waits
    else:
        assert waits == expected


PAYLOAD_KEYS = {
    "channel", "stack", "job", "error", "cause", "execution", "stateMachine", "startTime", "gaveUpAt", "input",
    "launchBudget", "timeoutSeconds", "logGroup", "logStreamPrefix", "capacity", "schedule",
}  # fmt: skip


def assert_alert(run, job: Job, *, error: str, cause: str) -> None:
    """One invocation per channel the job's stack configures (more only where a channel was retried),
    each with the same payload but for its channel."""
    assert set(run.alert_functions) == {ALERT_FUNCTION_ARN}  # the stack's alert function
    assert {payload["channel"] for payload in run.alerts} == set(job.channels)
    (payload, *repeats) = run.alerts
    assert all({**repeat, "channel": "-"} == {**payload, "channel": "-"} for repeat in repeats)
    assert set(payload) == PAYLOAD_KEYS | ({"timezone"} if job.timezone else set())
    assert (payload["schedule"], payload.get("timezone")) == (job.schedule, job.timezone)
    assert payload["stack"] == job.stack_name
    assert payload["job"] == job.name
    assert payload["error"] == error
    assert payload["cause"] == cause
    assert payload["execution"] == run.execution_arn  # unique per run: the deduplication key
    assert payload["stateMachine"] == run.state_machine_arn
    assert payload["input"] == RULE_INPUT  # the job and its scheduled time
    assert payload["startTime"] <= payload["gaveUpAt"]
    assert payload["startTime"].startswith("20")
    assert payload["launchBudget"] == 1 + len(job.launch_waits)
    assert payload["timeoutSeconds"] == job.timeout_seconds
    assert (payload["logGroup"], payload["logStreamPrefix"]) == (JOB_LOG_GROUP, "job/app")
    assert payload["capacity"] == ["FARGATE"]


def assert_one_message_each(channels: Channels, job: Job) -> None:
    """Every chat and e-mail channel the job's stack configures got the alert exactly once."""
    expected = {name: int(name in job.channels) for name in ("slack", "chatwork", "email")}
    assert channels.messages() == expected


def test_success_runs_once_with_the_job_parameters(job, channels):
    _expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[Succeed()], handler=handler)
    assert (run.status, run.error, run.alerts, run.waits) == ("SUCCEEDED", None, [], [])
    assert channels.messages() == {"slack": 0, "chatwork": 0, "email": 0}
    (launch,) = run.launches
    assert launch["cluster"] == CLUSTER_ARN
    assert launch["launchType"] == "FARGATE"
    assert launch["platformVersion"] == "1.4.0"
    assert "overrides" not in launch  # the task definition's command runs (test_stack checks it)
    assert launch["startedBy"] == "AWS Step Functions"


def entered(run) -> list[str]:
    """The states the execution entered, in order."""
    return [event["stateEnteredEventDetails"]["name"] for event in run.history if "stateEnteredEventDetails" in event]


def test_launch_failure_twice_then_success(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[NO_CAPACITY, NO_CAPACITY, Succeed()], handler=handler)
    assert run.status == "SUCCEEDED"
    assert len(run.launches) == 3
    assert run.alerts == []
    assert_waits(expected, run.waits, expected.launch_waits[:2])


@pytest.mark.parametrize(
    ("fault", "error", "branch_path", "summary"),
    [
        (NO_CAPACITY, "ECS.AmazonECSException", ["LaunchFailed"], "Fargate had no capacity"),
        (
            FAILED_TO_START,
            "Job.TaskFailedToStart",
            ["ReadStoppedTask", "HowDidTheTaskStop", "TaskFailedToStart"],
            "the task never started",
        ),
    ],
    ids=["no-capacity", "failed-to-start"],
)
def test_a_container_that_never_runs_is_relaunched_until_the_budget_ends(
    job, channels, fault, error, branch_path, summary
):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[fault], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", error, fault.cause)
    assert len(run.launches) == 1 + len(expected.launch_waits)
    assert_waits(expected, run.waits, expected.launch_waits)
    assert len(run.alerts) == len(expected.channels)
    assert_alert(run, expected, error=error, cause=fault.cause)
    assert_one_message_each(channels, expected)
    # A retry of the Parallel state runs its branch again without re-entering RunJob.
    launches = ["RunTask", "ClassifyFailure", *branch_path] * len(run.launches)
    # Alone and listed: the oldest running execution, so it runs.
    guard = list(GUARD_PASSED) if expected.guarded else []
    alerting = entered(run)[len(guard) + 2 + len(launches) : -1]  # the branches interleave
    assert entered(run) == [*guard, "RunJob", *launches, "NotifyFailure", *alerting, "JobFailed"]
    assert sorted(alerting) == sorted(f"Alert{channel.capitalize()}" for channel in expected.channels)
    (log_call,) = run.alerts_to("log")
    assert log_call["launchBudget"] == len(run.launches)
    assert all(result["alert_id"] == run.execution_arn for result in run.alert_results)
    if "slack" in expected.channels:
        (message,) = channels.slack.accepted
        assert message["body"]["text"] == f"[batch] {expected.name} failed: {summary}"


def test_placement_error_named_amazon_ecs_unknown_is_retried_too(job):
    expected, definition, sandbox = job
    unknown = Raise("AmazonECS.Unknown", "RunTask failures: RESOURCE:FARGATE")
    run = sandbox.execute(definition, launches=[unknown, Succeed()], handler=handler)
    assert (run.status, len(run.launches)) == ("SUCCEEDED", 2)
    assert_waits(expected, run.waits, expected.launch_waits[:1])


def test_other_ecs_errors_are_not_retried(job):
    _expected, definition, sandbox = job
    denied = Raise("ECS.AccessDeniedException", "not authorized to perform: ecs:RunTask")
    run = sandbox.execute(definition, launches=[denied], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", "ECS.AccessDeniedException", denied.cause)
    assert (len(run.launches), run.waits, len(run.alerts)) == (1, [], len(_expected.channels))


def test_container_exit_1_is_not_rerun_by_default(job_without_reruns, channels):
    expected, definition, sandbox = job_without_reruns
    run = sandbox.execute(definition, launches=[CONTAINER_EXIT_1, Succeed()], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.TaskFailed", CONTAINER_EXIT_1.cause)
    assert (len(run.launches), run.waits) == (1, [])
    assert_alert(run, expected, error="Job.TaskFailed", cause=CONTAINER_EXIT_1.cause)
    assert_one_message_each(channels, expected)


NO_STOP_CODE = Raise(
    "States.TaskFailed",
    json.dumps(
        {
            "TaskArn": "arn:aws:ecs:ap-northeast-1:123456789012:task/cluster/0123456789abcdef",
            "LastStatus": "STOPPED",
            "StoppedReason": "Task stopped by user",
            "Containers": [{"Name": "app", "LastStatus": "STOPPED"}],
        },
        separators=(",", ":"),
    ),
)


def test_a_stopped_task_without_a_stop_code_is_a_failed_task(job_without_reruns, channels):
    """The first rule of HowDidTheTaskStop: no StopCode at all (a task stopped by hand, say). A second
    engine read the old "IsPresent: false" form wrongly and ended in States.Runtime, with no alert."""
    expected, definition, sandbox = job_without_reruns
    run = sandbox.execute(definition, launches=[NO_STOP_CODE, Succeed()], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.TaskFailed", NO_STOP_CODE.cause)
    assert (len(run.launches), run.waits) == (1, [])
    assert_alert(run, expected, error="Job.TaskFailed", cause=NO_STOP_CODE.cause)
    assert_one_message_each(channels, expected)


def test_container_exit_1_is_rerun_where_the_job_opted_in(job_with_reruns):
    expected, definition, sandbox = job_with_reruns
    run = sandbox.execute(definition, launches=[CONTAINER_EXIT_1, Succeed()], handler=handler)
    assert (run.status, len(run.launches), run.alerts) == ("SUCCEEDED", 2, [])
    assert_waits(expected, run.waits, expected.rerun_waits)


def test_opted_in_reruns_are_bounded(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[CONTAINER_EXIT_1], handler=handler)
    assert (run.status, run.error) == ("FAILED", "Job.TaskFailed")
    assert len(run.launches) == 1 + len(expected.rerun_waits)
    assert_waits(expected, run.waits, expected.rerun_waits)
    assert len(run.alerts) == len(expected.channels)


def test_failed_to_start_once_then_success(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[FAILED_TO_START, Succeed()], handler=handler)
    assert (run.status, len(run.launches), run.alerts) == ("SUCCEEDED", 2, [])
    assert_waits(expected, run.waits, expected.launch_waits[:1])


def test_placement_failures_and_failed_starts_share_one_budget(job):
    expected, definition, sandbox = job
    alternating = [NO_CAPACITY, FAILED_TO_START] * len(expected.launch_waits)
    run = sandbox.execute(definition, launches=alternating, handler=handler)
    assert run.status == "FAILED"
    assert len(run.launches) == 1 + len(expected.launch_waits)
    assert_waits(expected, run.waits, expected.launch_waits)


def test_timeout_is_not_rerun_and_alerts(job):
    expected, definition, sandbox = job
    run = sandbox.execute(definition, launches=[TIMEOUT, Succeed()], handler=handler)
    cause = TIMEOUT_CAUSE.format(expected.timeout_seconds)
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.TimedOut", cause)
    assert (len(run.launches), run.waits) == (1, [])
    assert_alert(run, expected, error="Job.TimedOut", cause=cause)
    run_task = json.loads(definition)["States"]["RunJob"]["Branches"][0]["States"]["RunTask"]
    assert run_task["TimeoutSeconds"] == expected.timeout_seconds


def test_alert_lambda_failing_once_is_retried_for_that_channel_only(job, channels):
    expected, definition, sandbox = job
    run = sandbox.execute(
        definition, launches=[CONTAINER_EXIT_1], alerts={"email": [LambdaFault(), None]}, handler=handler
    )
    if expected.rerun_waits:
        run.waits = run.waits[len(expected.rerun_waits) :]
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.TaskFailed", CONTAINER_EXIT_1.cause)
    assert len(run.alerts_to("email")) == 2
    assert all(len(run.alerts_to(channel)) == 1 for channel in expected.channels if channel != "email")
    assert len(run.alert_results) == len(expected.channels)
    assert run.waits == ALERT_WAITS[:1]
    assert_alert(run, expected, error="Job.TaskFailed", cause=CONTAINER_EXIT_1.cause)
    assert_one_message_each(channels, expected)


def test_alert_lambda_failing_always_still_ends_failed_with_the_jobs_error(job, channels):
    expected, definition, sandbox = job
    throttled = {channel: [LambdaFault("TooManyRequestsException")] for channel in expected.channels}
    run = sandbox.execute(definition, launches=[TIMEOUT], alerts=throttled, handler=handler)
    assert (run.status, run.error) == ("FAILED", "Job.TimedOut")
    assert run.cause == TIMEOUT_CAUSE.format(expected.timeout_seconds)
    assert len(run.alerts) == len(expected.channels) * (1 + len(ALERT_WAITS))
    assert run.alert_results == []
    assert sorted(run.waits) == sorted(ALERT_WAITS * len(expected.channels))  # each branch backs off
    assert channels.messages() == {"slack": 0, "chatwork": 0, "email": 0}


def test_alert_function_errors_that_are_not_transient_are_not_retried(job):
    expected, definition, sandbox = job
    missing = {channel: [LambdaFault("ResourceNotFoundException")] for channel in expected.channels}
    run = sandbox.execute(definition, launches=[TIMEOUT], alerts=missing, handler=handler)
    assert (run.status, run.error, len(run.alerts), run.waits) == ("FAILED", "Job.TimedOut", len(expected.channels), [])


# --- the chat channels of the three-job stack, down and refusing ------------------------------------

NIGHTLY = JOBS[1]


@pytest.fixture
def nightly(sandbox, multi_stack) -> str:
    return definition_text(multi_stack, "nightly-report")


def test_slack_down_then_up_gets_one_message_and_no_channel_repeats(sandbox, nightly, monkeypatch):
    for channels in configure_channels(monkeypatch, [(503, "rollup_error"), 200], [200]):
        run = sandbox.execute(nightly, launches=[TIMEOUT], handler=handler)
        assert (run.status, run.error) == ("FAILED", "Job.TimedOut")
        assert [len(run.alerts_to(channel)) for channel in ALL_CHANNELS] == [1, 1, 2, 1]
        assert run.waits == ALERT_WAITS[:1]  # the Slack branch's one retry
        assert [request["status"] for request in channels.slack.received] == [503, 200]
        assert channels.messages() == {"slack": 1, "chatwork": 1, "email": 1}
        (message,) = channels.slack.accepted
        assert message["body"]["text"] == "[batch] nightly-report failed: the task ran past its timeout"


def test_slack_down_for_good_is_given_up_after_its_retries_and_the_others_still_deliver(sandbox, nightly, monkeypatch):
    for channels in configure_channels(monkeypatch, [503], [200]):
        run = sandbox.execute(nightly, launches=[TIMEOUT], handler=handler)
        assert (run.status, run.error) == ("FAILED", "Job.TimedOut")
        assert len(channels.slack.received) == 1 + len(ALERT_WAITS)
        assert run.waits == ALERT_WAITS
        assert channels.messages() == {"slack": 0, "chatwork": 1, "email": 1}
        assert "AlertSlackUndelivered" in entered(run)


def test_chatwork_refusing_the_token_is_not_retried(sandbox, nightly, monkeypatch):
    for channels in configure_channels(monkeypatch, [200], [(401, '{"errors":["Invalid API token"]}')]):
        run = sandbox.execute(nightly, launches=[CONTAINER_EXIT_1], handler=handler)
        assert (run.status, run.error) == ("FAILED", "Job.TaskFailed")
        assert (len(channels.chatwork.received), run.waits) == (1, [])
        assert channels.messages() == {"slack": 1, "chatwork": 0, "email": 1}
        assert "AlertChatworkUndelivered" in entered(run)
        assert "AlertSlackUndelivered" not in entered(run)


def test_a_manual_run_without_a_scheduled_event_still_alerts(sandbox, nightly, monkeypatch):
    for channels in configure_channels(monkeypatch, [200], [200]):
        run = sandbox.execute(nightly, launches=[TIMEOUT], handler=handler, execution_input={})
        assert {payload["input"] == {} for payload in run.alerts} == {True}
        assert channels.messages() == {"slack": 1, "chatwork": 1, "email": 1}


# --- at most one run of a job at a time (concurrency = "forbid") -------------------------------------


def start_while_one_runs(definition: str, sandbox: Sandbox):
    """A run, and a second one started while the first still runs."""
    hold = Hold()
    with sandbox.running(definition, launches=[hold], handler=handler) as first:
        assert hold.running.wait(timeout=10)
        second = sandbox.execute(definition, launches=[Succeed()], handler=handler)
        hold.release.set()
    return first, second


def test_a_run_that_finds_the_previous_one_still_running_launches_nothing_and_alerts(guarded_job, channels):
    expected, definition, sandbox = guarded_job
    first, second = start_while_one_runs(definition, sandbox)
    assert (first.status, len(first.launches), first.alerts) == ("SUCCEEDED", 1, [])
    cause = 'Another execution of this job was still running (concurrency = "forbid"), so this run launched no task.'
    assert (second.status, second.error, second.cause) == ("FAILED", "Job.PreviousRunStillRunning", cause)
    assert (second.launches, second.waits) == ([], [])
    # Listed second of two: the other is the older one.
    assert entered(second)[:6] == list(GUARD_STATES)
    assert {payload["error"] for payload in second.alerts} == {"Job.PreviousRunStillRunning"}
    assert_one_message_each(channels, expected)


@contextlib.contextmanager
def listed(change):
    """``ListExecutions`` as moto answers it (newest first), then changed by ``change``: the lag
    AWS warns of ("may not reflect very recent updates"), or another start of the same event."""
    original = StepFunctionBackend.list_executions

    def answer(self, arn, *args, **kwargs):
        executions, token = original(self, arn, *args, **kwargs)
        return change(list(executions)), token

    with mock.patch.object(StepFunctionBackend, "list_executions", answer):
        yield


def without_the_newest(executions: list) -> list:
    """The caller, the newest execution, not listed yet."""
    return executions[1:]


def with_a_newer_duplicate(executions: list) -> list:
    """A second start of the same scheduled event, a moment later, already listed."""
    newest = executions[0]
    twin = SimpleNamespace(
        execution_arn=newest.execution_arn + "-duplicate",
        name=newest.name + "-duplicate",
        start_date=newest.start_date,
        status="RUNNING",
    )
    return [twin, *executions]


def test_a_run_not_yet_listed_still_sees_its_predecessor(guarded_job):
    """Before, the guard counted RUNNING executions and refused above 1: not yet listed itself, a
    run counted 1 and launched beside the one still running."""
    _expected, definition, sandbox = guarded_job
    hold = Hold()
    with sandbox.running(definition, launches=[hold], handler=handler) as first:
        assert hold.running.wait(timeout=10)
        with listed(without_the_newest):
            second = sandbox.execute(definition, launches=[Succeed()], handler=handler)
        hold.release.set()
    assert (first.status, len(first.launches)) == ("SUCCEEDED", 1)
    assert (second.status, second.error, second.launches) == ("FAILED", "Job.PreviousRunStillRunning", [])
    # Not listed, and another is: no need to find the oldest.
    assert entered(second)[:4] == [*GUARD_STATES[:3], "PreviousRunStillRunning"]


def test_a_run_alone_and_not_yet_listed_goes_ahead(guarded_job):
    _expected, definition, sandbox = guarded_job
    with listed(without_the_newest):
        run = sandbox.execute(definition, launches=[Succeed()], handler=handler)
    assert (run.status, len(run.launches), run.alerts) == ("SUCCEEDED", 1, [])
    assert entered(run)[:4] == [*GUARD_STATES[:3], "RunJob"]


def test_two_starts_for_one_scheduled_event_run_the_job_exactly_once(guarded_job):
    """EventBridge delivers at least once. The older start runs the job even when it sees the newer
    one listed beside it; the newer one, seeing the older, launches nothing: one run, not two, and
    not none."""
    _expected, definition, sandbox = guarded_job
    hold = Hold()
    with listed(with_a_newer_duplicate), sandbox.running(definition, launches=[hold], handler=handler) as first:
        assert hold.running.wait(timeout=10)
        second = sandbox.execute(definition, launches=[Succeed()], handler=handler)
        hold.release.set()
    assert entered(first)[:6] == [*GUARD_PASSED, "RunJob"]
    assert (first.status, len(first.launches)) == ("SUCCEEDED", 1)
    assert (second.status, second.error, second.launches) == ("FAILED", "Job.PreviousRunStillRunning", [])


def test_runs_may_overlap_where_the_job_allows_it(unguarded_job):
    _expected, definition, sandbox = unguarded_job
    first, second = start_while_one_runs(definition, sandbox)
    assert (first.status, len(first.launches), first.alerts) == ("SUCCEEDED", 1, [])
    assert (second.status, len(second.launches), second.alerts) == ("SUCCEEDED", 1, [])


def test_a_run_after_the_previous_one_ended_goes_ahead(job):
    _expected, definition, sandbox = job
    first = sandbox.execute(definition, launches=[Succeed()], handler=handler)
    second = sandbox.execute(definition, launches=[Succeed()], handler=handler)
    assert (first.status, second.status, len(second.launches)) == ("SUCCEEDED", "SUCCEEDED", 1)


# --- exit codes that mean "try again", and Fargate Spot interruptions -------------------------------


def test_a_retryable_exit_code_is_relaunched_in_the_launch_budget(job_with_exit_codes):
    expected, definition, sandbox = job_with_exit_codes
    run = sandbox.execute(definition, launches=[EXIT_75, Succeed()], handler=handler)
    assert (run.status, len(run.launches), run.alerts) == ("SUCCEEDED", 2, [])
    assert_waits(expected, run.waits, expected.launch_waits[:1])
    assert "RetryableExit" in entered(run)


def test_exit_75_is_final_where_no_code_is_declared(job_with_neither):
    _expected, definition, sandbox = job_with_neither
    run = sandbox.execute(definition, launches=[EXIT_75, Succeed()], handler=handler)
    assert (run.status, run.error, len(run.launches), run.waits) == ("FAILED", "Job.TaskFailed", 1, [])


def test_a_retryable_exit_code_on_every_launch_gives_up_after_the_budget(job_with_exit_codes, channels):
    expected, definition, sandbox = job_with_exit_codes
    run = sandbox.execute(definition, launches=[EXIT_75], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.RetryableExit", EXIT_75.cause)
    assert len(run.launches) == 1 + len(expected.launch_waits)
    assert_waits(expected, run.waits, expected.launch_waits)
    assert_alert(run, expected, error="Job.RetryableExit", cause=EXIT_75.cause)
    assert_one_message_each(channels, expected)
    (message,) = channels.slack.accepted
    assert message["body"]["text"] == f"[batch] {expected.name} failed: exit code 75 on every launch"


def test_other_exit_codes_stay_final_where_codes_are_declared(job_with_exit_codes_no_reruns):
    _expected, definition, sandbox = job_with_exit_codes_no_reruns
    run = sandbox.execute(definition, launches=[CONTAINER_EXIT_1, Succeed()], handler=handler)
    assert (run.status, run.error, len(run.launches), run.waits) == ("FAILED", "Job.TaskFailed", 1, [])
    path = entered(run)  # the exit code was read and judged not retryable
    start = path.index("ReadStoppedTask")
    assert path[start : start + 6] == [
        "ReadStoppedTask",
        "HowDidTheTaskStop",
        "ReadExitCode",
        "MatchExitCode",
        "IsExitRetryable",
        "TaskFailed",
    ]


def test_a_spot_interruption_is_final_without_reruns(job_without_reruns, channels):
    expected, definition, sandbox = job_without_reruns
    run = sandbox.execute(definition, launches=[SPOT_INTERRUPTED, Succeed()], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", "Job.SpotInterrupted", SPOT_INTERRUPTED.cause)
    assert (len(run.launches), run.waits) == (1, [])
    assert_alert(run, expected, error="Job.SpotInterrupted", cause=SPOT_INTERRUPTED.cause)
    assert_one_message_each(channels, expected)


def test_a_spot_interruption_is_rerun_where_the_job_opted_in(job_with_reruns):
    expected, definition, sandbox = job_with_reruns
    run = sandbox.execute(definition, launches=[SPOT_INTERRUPTED, Succeed()], handler=handler)
    assert (run.status, len(run.launches), run.alerts) == ("SUCCEEDED", 2, [])
    assert_waits(expected, run.waits, expected.rerun_waits)


# --- a second source of capacity (capacity = ["FARGATE", "FARGATE_SPOT"]) ---------------------------

THUMBNAILS_WAITS = [10, 20, 40, 80] + [120] * 8  # the default policy, on each source


@pytest.fixture
def thumbnails(sandbox, multi_stack, channels) -> str:
    return definition_text(multi_stack, "thumbnails")


def test_no_capacity_on_fargate_moves_on_to_fargate_spot(sandbox, thumbnails, channels):
    run = sandbox.execute(
        thumbnails, launches=[ByCapacity({"FARGATE": NO_CAPACITY, "FARGATE_SPOT": Succeed()})], handler=handler
    )
    assert (run.status, run.alerts) == ("SUCCEEDED", [])
    assert [launched_on(launch) for launch in run.launches] == ["FARGATE"] * 13 + ["FARGATE_SPOT"]
    assert run.waits == THUMBNAILS_WAITS
    spot = run.launches[-1]
    assert spot["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert "launchType" not in spot  # RunTask refuses a launch type with a strategy
    assert all(
        launch["launchType"] == "FARGATE" and "capacityProviderStrategy" not in launch for launch in run.launches[:-1]
    )
    assert entered(run).count("RunJobOnFargateSpot") == 1
    assert channels.messages() == {"slack": 0, "chatwork": 0, "email": 0}


def test_no_capacity_anywhere_gives_up_after_both_budgets_with_one_alert(sandbox, thumbnails, channels):
    run = sandbox.execute(thumbnails, launches=[NO_CAPACITY], handler=handler)
    assert (run.status, run.error, run.cause) == ("FAILED", "ECS.AmazonECSException", NO_CAPACITY.cause)
    assert [launched_on(launch) for launch in run.launches] == ["FARGATE"] * 13 + ["FARGATE_SPOT"] * 13
    assert run.waits == THUMBNAILS_WAITS * 2
    assert sorted(payload["channel"] for payload in run.alerts) == sorted(ALL_CHANNELS)
    assert {json.dumps(payload["capacity"]) for payload in run.alerts} == {'["FARGATE", "FARGATE_SPOT"]'}
    assert channels.messages() == {"slack": 1, "chatwork": 1, "email": 1}
    (message,) = channels.slack.accepted
    assert message["body"]["blocks"][1]["text"]["text"].startswith(
        "Fargate had no capacity for the task on FARGATE, then FARGATE_SPOT: it was not placed after 13 launches "
        "on each"
    )


def test_a_task_that_never_starts_does_not_move_on(sandbox, thumbnails):
    run = sandbox.execute(thumbnails, launches=[FAILED_TO_START], handler=handler)
    assert (run.status, run.error) == ("FAILED", "Job.TaskFailedToStart")
    assert [launched_on(launch) for launch in run.launches] == ["FARGATE"] * 13
    assert "RunJobOnFargateSpot" not in entered(run)


def test_a_spot_interruption_on_the_second_source_is_final_without_reruns(sandbox, thumbnails):
    run = sandbox.execute(
        thumbnails, launches=[ByCapacity({"FARGATE": NO_CAPACITY, "FARGATE_SPOT": SPOT_INTERRUPTED})], handler=handler
    )
    assert (run.status, run.error) == ("FAILED", "Job.SpotInterrupted")
    assert [launched_on(launch) for launch in run.launches] == ["FARGATE"] * 13 + ["FARGATE_SPOT"]
    assert "SpotInterruptedOnFargateSpot" in entered(run)


def test_a_tagged_jobs_launch_asks_ecs_to_carry_the_task_definitions_tags(sandbox, channels, example_stacks):
    """RunTask with tag propagation passes botocore's ECS model (the harness validates every launch)."""
    definition = definition_text(example_stacks["graviton-efs-tagged"], "transcode")
    run = sandbox.execute(definition, launches=[Succeed()], handler=handler)
    assert (run.status, run.error) == ("SUCCEEDED", None)
    (launch,) = run.launches
    assert (launch["propagateTags"], launch["enableECSManagedTags"]) == ("TASK_DEFINITION", True)
