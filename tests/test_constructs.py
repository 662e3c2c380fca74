"""The constructs from Python, without jobs.toml: keyword-only inputs and their own checks."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from stack_helpers import resources

from constructs_lib import (
    AlertFunction,
    AlertTopic,
    AwsEnvironment,
    Cluster,
    DeadLetterQueue,
    FargateTask,
    JobSpec,
    Network,
    RetryPolicy,
    ScheduledJob,
)
from constructs_lib import cdk as cdktf
from constructs_lib.model.config import NetworkSpec
from constructs_lib.model.schedule_expression import ScheduleError, parse_schedule
from constructs_lib.shared import StackShared


def compose(name: str, job: JobSpec, **options):
    """A user's own stack that composes the constructs directly around one job: its JSON, the
    stack, the environment and the alert topic. ``options`` go to the shared pieces (StackShared)."""
    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, name)
    aws = AwsEnvironment(stack, "aws")
    network = Network(stack, "net", name=name, spec=NetworkSpec(nat_gateways=0, max_azs=1))
    cluster = Cluster(stack, "cluster", name=name, aws=aws)
    topic = AlertTopic(stack, "topic", name=f"{name}-alerts", aws=aws)
    alert = AlertFunction(stack, "alert", name=f"{name}-alert", stack_name=name, aws=aws, topic=topic)
    queue = DeadLetterQueue(stack, "undelivered", name=f"{name}-undelivered", stack_name=name, aws=aws)
    shared = StackShared(
        aws=aws, network=network, cluster=cluster, alert=alert, topic=topic, dead_letter_queue=queue, **options
    )
    ScheduledJob(stack, job.name, prefix=name, job=job, shared=shared)
    return json.loads(cdktf.Testing.synth(stack)), stack, aws, topic


@pytest.fixture(scope="module")
def composed():
    job = JobSpec(
        name="hello",
        schedule="rate(1 day)",
        image="alpine",
        command=("echo", "hello"),
        cpu=512,
        memory=1024,
        retry=RetryPolicy(max_attempts=2, interval_seconds=60, backoff_rate=1.0),
    )
    return compose("own", job)


def test_a_composed_stack_synthesizes(composed):
    synthesized, _, _, _ = composed
    (machine,) = resources(synthesized, "aws_sfn_state_machine").values()
    assert machine["name"] == "own-hello"
    definition = json.loads(machine["definition"])
    assert definition["States"]["RunJob"]["Retry"][0]["MaxAttempts"] == 2
    assert definition["States"]["RunJob"]["Retry"][0]["BackoffRate"] == 1.0
    rules = {rule["name"]: rule for rule in resources(synthesized, "aws_cloudwatch_event_rule").values()}
    assert sorted(rules) == ["own-hello", "own-hello-ended-early"]
    assert rules["own-hello"]["schedule_expression"] == "rate(1 day)"
    # Without chat channels, each alert goes to the log and to the topic.
    branches = definition["States"]["NotifyFailure"]["Branches"]
    assert [branch["StartAt"] for branch in branches] == ["AlertLog", "AlertEmail"]


def test_alert_function_checks_its_channels(composed):
    _, stack, aws, topic = composed
    from constructs_lib.model.alert_channels import ChannelSetting

    with pytest.raises(ValueError, match=r"^'slack-webhook' is not an SSM parameter name \(allowed: a leading '/'"):
        AlertFunction(
            stack,
            "bad-parameter",
            name="x",
            stack_name="x",
            aws=aws,
            topic=topic,
            channels=[ChannelSetting("slack", {"WEBHOOK_SSM_PARAMETER": "slack-webhook"}, ("slack-webhook",))],
        )
    with pytest.raises(ValueError, match=r"^x: 'email' is not a chat channel \(allowed: slack, chatwork, teams, "):
        AlertFunction(stack, "mail", name="x", stack_name="x", aws=aws, topic=topic, channels=[ChannelSetting("email")])


def test_inputs_are_keyword_only(composed):
    _, stack, _, _ = composed
    with pytest.raises(TypeError, match=r"takes 3 positional arguments but 4 were given"):
        Cluster(stack, "positional", "name")  # type: ignore[misc]


def test_fargate_task_takes_a_validated_job_and_builds_its_container_from_it(composed):
    """A task is built from a JobSpec, whose validation already refused bad sizes and images
    (tests/test_config.py); the container says what the job says."""
    _, stack, aws, _ = composed
    network = SimpleNamespace(vpc_id="vpc-1", job_subnet_ids=[], assign_public_ip=False, security_group_ids=[])
    job = JobSpec(
        name="x", schedule="rate(1 day)", image="alpine:3", command=("echo", "hi"), cpu=512, memory=2048,
        environment={"B": "2", "A": "1"}, readonly_root_filesystem=False,
    )  # fmt: skip
    task = FargateTask(stack, "from-job", name="own-x", job=job, aws=aws, network=network)
    (container,) = json.loads(task.task_definition.container_definitions_input)
    assert (container["image"], container["command"], container["readonlyRootFilesystem"]) == (
        "alpine:3", ["echo", "hi"], False
    )  # fmt: skip
    assert container["environment"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert (task.task_definition.cpu_input, task.task_definition.memory_input) == ("512", "2048")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'cpu'"):
        FargateTask(stack, "wide", name="x", job=job, aws=aws, network=network, cpu=256)  # type: ignore[call-arg]


def test_a_schedule_is_checked_where_it_is_parsed_before_any_construct_takes_it():
    # The schedule constructs take the parsed value object (JobSpec.parsed_schedule), not a string.
    with pytest.raises(ScheduleError, match=r"^'cron\(0 8 \* \* \*\)' has 5 fields"):
        parse_schedule("cron(0 8 * * *)")
    job = JobSpec(name="x", schedule="rate(1 day)", image="a", command=("a",), cpu=256, memory=512)
    assert (job.parsed_schedule.expression, job.parsed_schedule.period_seconds) == ("rate(1 day)", 86400)


def test_value_objects_validate_themselves():
    with pytest.raises(ValueError, match=r"max_attempts\n  Input should be greater than or equal to 0"):
        RetryPolicy(max_attempts=-1)
    with pytest.raises(ValueError, match=r"4096 is not valid with cpu 256"):
        JobSpec(name="x", schedule="rate(1 day)", image="a", command=("a",), cpu=256, memory=4096)


def test_execution_logging_off_leaves_no_log_group_nor_delivery_rights():
    job = JobSpec(name="j", schedule="rate(1 day)", image="alpine", command=("true",), cpu=256, memory=512)
    synthesized, _, _, _ = compose("quiet", job, execution_log_level="OFF")
    (machine,) = resources(synthesized, "aws_sfn_state_machine").values()
    assert "logging_configuration" not in machine
    assert [g["name"] for g in resources(synthesized, "aws_cloudwatch_log_group").values()] == [
        "/aws/lambda/quiet-alert",
        "/ecs/quiet-j",
    ]
    sids = [
        statement["Sid"]
        for body in resources(synthesized, "aws_iam_role_policy").values()
        for statement in json.loads(body["policy"])["Statement"]
    ]
    assert "DeliverExecutionLogs" not in sids


def test_an_alert_queue_without_a_window_is_read_ten_messages_at_a_time():
    """group_seconds = 0: no batching window, so SQS's default batch of ten (more needs a window)."""
    from constructs_lib.alert_queue import AlertQueue
    from constructs_lib.queue_event_source import QueueEventSource

    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "own")
    aws = AwsEnvironment(stack, "aws")
    topic = AlertTopic(stack, "topic", name="own-alerts", aws=aws)
    queue = AlertQueue(stack, "queue", name="own-alert-queue")
    alert = AlertFunction(stack, "alert", name="own-alert", stack_name="own", aws=aws, topic=topic, alert_queue=queue)
    QueueEventSource(stack, "source", queue=queue, function=alert, batching_window_seconds=0)
    synthesized = json.loads(cdktf.Testing.synth(stack))
    (mapping,) = resources(synthesized, "aws_lambda_event_source_mapping").values()
    assert mapping["batch_size"] == 10
    assert "maximum_batching_window_in_seconds" not in mapping
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]


def test_a_watchdog_without_recovery_notices_has_no_rule_for_successes():
    from constructs_lib.alert_queue import AlertQueue
    from constructs_lib.watchdog import Watchdog

    job = JobSpec(name="hello", schedule="rate(1 day)", image="alpine", command=("true",), cpu=256, memory=512)
    app = cdktf.Testing.app()
    stack = cdktf.TerraformStack(app, "own")
    aws = AwsEnvironment(stack, "aws")
    network = Network(stack, "net", name="own", spec=NetworkSpec(nat_gateways=0, max_azs=1))
    cluster = Cluster(stack, "cluster", name="own", aws=aws)
    topic = AlertTopic(stack, "topic", name="own-alerts", aws=aws)
    alert = AlertFunction(stack, "alert", name="own-alert", stack_name="own", aws=aws, topic=topic)
    undelivered = DeadLetterQueue(stack, "undelivered", name="own-undelivered", stack_name="own", aws=aws)
    shared = StackShared(aws=aws, network=network, cluster=cluster, alert=alert, topic=topic,
                         dead_letter_queue=undelivered)  # fmt: skip
    scheduled = ScheduledJob(stack, "hello", prefix="own", job=job, shared=shared)
    watchdog = Watchdog(stack, "watchdog", name="own-watchdog", stack_name="own", aws=aws, jobs=[scheduled],
                        schedule_group=None, alert_queue=AlertQueue(stack, "queue", name="own-alert-queue"),
                        channels=["email"], undelivered=undelivered, recoveries=False)  # fmt: skip
    assert watchdog.recovery_rule is None
    assert watchdog.watched == [
        {"job": "hello", "state_machine": "own-hello", "schedule": "rate(1 day)", "timezone": None,
         "grace_seconds": 600, "rule": "own-hello"}
    ]  # fmt: skip
    synthesized = json.loads(cdktf.Testing.synth(stack))
    rules = sorted(rule["name"] for rule in resources(synthesized, "aws_cloudwatch_event_rule").values())
    assert rules == ["own-hello", "own-hello-ended-early", "own-watchdog-tick"]
