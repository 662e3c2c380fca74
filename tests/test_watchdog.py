"""The watchdog (lambda_src.watchdog) in virtual time, with stand-in AWS clients: which runs it
reports missed, once each, what it says it found, and which successes it reports as recoveries.

Each test ticks the watchdog every 5 minutes over days, as its schedule does; the stand-in
ListExecutions answers only the executions started by the tick's time. The expected fire times
are written out by hand (daylight saving worked through per zone), not computed by the model."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from lambda_src.contract import ERROR_MISSED
from lambda_src.watchdog import INTERVAL_SECONDS, Clients, Watched, check, findings, missed_runs, recovery

UTC = dt.UTC
ACCOUNT = "arn:aws:states:ap-northeast-1:123456789012"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def arns(service: str, resource: str) -> str:
    return f"arn:aws:{service}:ap-northeast-1:123456789012:{resource}"


@dataclass
class Sfn:
    """ListExecutions over a list of (start, status), newest first, as of ``now``."""

    runs: list[tuple[dt.datetime, str]]
    now: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=UTC)
    calls: int = 0

    def list_executions(
        self, *, stateMachineArn: str, maxResults: int, nextToken: str | None = None, statusFilter: str | None = None
    ) -> dict:
        self.calls += 1
        started = sorted((run for run in self.runs if run[0] <= self.now), reverse=True)
        started = [run for run in started if statusFilter in (None, run[1])]
        return {
            "executions": [
                {"executionArn": f"{stateMachineArn.replace(':stateMachine:', ':execution:')}:{start:%H%M}",
                 "startDate": start, "status": status}
                for start, status in started
            ]
        }  # fmt: skip


@dataclass
class Events:
    state: str = "ENABLED"
    expression: str | None = None
    target: str | None = None
    missing: bool = False

    def describe_rule(self, *, Name: str) -> dict:
        if self.missing:
            raise _NotFound()
        return {"Name": Name, "State": self.state, "ScheduleExpression": self.expression}

    def list_targets_by_rule(self, *, Rule: str) -> dict:
        return {"Targets": [{"Arn": self.target or arns("states", f"stateMachine:{Rule}")}]}


class _NotFound(Exception):
    response: ClassVar = {"Error": {"Code": "ResourceNotFoundException"}}


@dataclass
class Scheduler:
    state: str = "ENABLED"
    zone: str | None = None
    schedules: dict[str, Any] = field(default_factory=dict)

    def get_schedule(self, *, Name: str, GroupName: str) -> dict:
        return {
            "State": self.state,
            "ScheduleExpressionTimezone": self.zone,
            "Target": {"Arn": arns("states", f"stateMachine:{Name}")},
        }


@dataclass
class Sqs:
    waiting: int = 0

    def get_queue_attributes(self, *, QueueUrl: str, AttributeNames: list[str]) -> dict:
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.waiting)}}


def job(
    schedule: str, *, zone: str | None = None, grace: int = 600, name: str = "report", warn: int | None = None
) -> Watched:
    rule = None if zone else f"batch-{name}"
    return Watched(
        job=name,
        state_machine=f"batch-{name}",
        schedule=schedule,
        timezone=zone,
        grace_seconds=grace,
        rule=rule,
        schedule_name=f"batch-{name}" if zone else None,
        schedule_group="batch" if zone else None,
        warn_after_seconds=warn,
    )


def watch(watched: Watched, runs: list[tuple[dt.datetime, str]], start: str, end: str, **clients: Any) -> list[str]:
    """Tick the watchdog every 5 minutes from ``start`` to ``end``: the scheduled times it alerted."""
    sfn = Sfn(runs)
    found = Clients(
        sfn, clients.get("events", Events()), clients.get("scheduler", Scheduler()), clients.get("sqs", Sqs())
    )
    alerts: list[dict] = []
    now = at(start)
    while now <= at(end):
        sfn.now = now
        alerts += check([watched], now=now, clients=found, arns=arns, stack="batch", queue_url="https://q/undelivered",
                        log=lambda entry: None)  # fmt: skip
        now += dt.timedelta(seconds=INTERVAL_SECONDS)
    assert {alert["error"] for alert in alerts} <= {ERROR_MISSED}
    return [alert["input"]["scheduledTime"] for alert in alerts]


def ran(*times: str, status: str = "SUCCEEDED") -> list[tuple[dt.datetime, str]]:
    return [(at(text), status) for text in times]


# --- which runs are missed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "start", "end", "expected"),
    [
        # Clocks spring forward at 02:00 on 2027-03-14: that day has no 02:30, and Scheduler skips it.
        ("America/New_York", "2027-03-13T00:00Z", "2027-03-16T00:00Z",
         ["2027-03-13T07:30:00Z", "2027-03-15T06:30:00Z"]),
        # Clocks fall back at 03:00 on 2026-10-25: 02:30 happens twice, and runs once, the first time.
        ("Europe/Berlin", "2026-10-24T00:00Z", "2026-10-27T00:00Z",
         ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]),
        # Sydney springs forward at 02:00 on 2026-10-04: no 02:30 that day.
        ("Australia/Sydney", "2026-10-02T00:00Z", "2026-10-05T00:00Z",
         ["2026-10-02T16:30:00Z", "2026-10-04T15:30:00Z"]),
    ],
)  # fmt: skip
def test_runs_that_never_started_are_reported_once_each_across_daylight_saving(zone, start, end, expected):
    assert watch(job("cron(30 2 * * ? *)", zone=zone), [], start, end) == expected


def test_runs_that_started_are_not_reported():
    watched = job("cron(30 2 * * ? *)", zone="Europe/Berlin")
    runs = ran("2026-10-24T00:30:02Z", "2026-10-25T00:30:01Z", "2026-10-26T01:30:03Z")
    assert watch(watched, runs, "2026-10-24T00:00Z", "2026-10-27T00:00Z") == []


def test_a_weekday_cron_is_expected_on_weekdays_only():
    # 2026-11-30 is a Monday.
    assert watch(job("cron(0 8 ? * MON-FRI *)"), [], "2026-11-29T00:00Z", "2026-12-07T00:00Z") == [
        f"2026-{day}T08:00:00Z" for day in ("11-30", "12-01", "12-02", "12-03", "12-04")
    ]


def test_a_monthly_last_day_cron():
    assert watch(job("cron(0 0 L * ? *)"), [], "2026-11-29T00:00Z", "2026-12-02T00:00Z") == ["2026-11-30T00:00:00Z"]


def test_a_rate_counts_from_its_latest_run():
    runs = ran("2026-12-01T00:00:05Z", "2026-12-01T01:00:04Z")
    assert watch(job("rate(1 hour)"), runs, "2026-12-01T00:00Z", "2026-12-01T04:05Z") == [
        "2026-12-01T02:00:04Z",
        "2026-12-01T03:00:04Z",
    ]


def test_a_rate_that_never_ran_is_not_judged():
    assert watch(job("rate(1 hour)"), [], "2026-12-01T00:00Z", "2026-12-01T04:05Z") == []


def test_a_run_that_started_late_but_inside_its_flexible_window_is_on_time():
    # A 15-minute flexible window: the default grace is 25 minutes.
    watched = job("cron(0 8 * * ? *)", zone="Asia/Tokyo", grace=25 * 60)
    runs = ran("2026-11-30T23:14:00Z")  # 08:14 JST, 14 minutes late
    assert watch(watched, runs, "2026-11-30T22:00Z", "2026-12-01T02:00Z") == []
    assert watch(watched, ran("2026-11-30T23:26:00Z"), "2026-11-30T22:00Z", "2026-12-01T02:00Z") == [
        "2026-11-30T23:00:00Z"
    ]


def test_the_alert_comes_within_the_grace_and_one_interval():
    watched = job("cron(0 8 * * ? *)")
    sfn = Sfn([])
    clients = Clients(sfn, Events(), Scheduler(), Sqs())
    first = None
    now = at("2026-12-01T08:00Z")
    while first is None:
        sfn.now = now
        if check([watched], now=now, clients=clients, arns=arns, stack="batch", queue_url=None, log=lambda e: None):
            first = now
        now += dt.timedelta(minutes=1)  # ticks at any minute: the worst case is grace + interval
    assert dt.timedelta(minutes=10) <= first - at("2026-12-01T08:00Z") <= dt.timedelta(minutes=15)


def test_a_tick_with_nothing_due_asks_no_one():
    sfn = Sfn([])
    check([job("cron(0 8 * * ? *)")], now=at("2026-12-01T12:00Z"), clients=Clients(sfn, Events(), Scheduler(), Sqs()),
          arns=arns, stack="batch", queue_url=None, log=lambda e: None)  # fmt: skip
    assert sfn.calls == 0


def test_each_start_answers_one_fire_time():
    # Two fire times a minute apart, one start between them: one of the two was missed.
    watched = job("cron(* * * * ? *)", grace=50)
    assert missed_runs(watched, starts=[at("2026-12-01T00:00:30Z")], since=at("2026-12-01T00:00Z"),
                       until=at("2026-12-01T00:02Z")) == [at("2026-12-01T00:01Z")]  # fmt: skip


# --- what it found -------------------------------------------------------------------------------------


def found(watched: Watched, **clients: Any) -> list[str]:
    return list(
        findings(
            watched,
            arns=arns,
            events=clients.get("events", Events()),
            scheduler=clients.get("scheduler", Scheduler()),
            sqs=clients.get("sqs", Sqs()),
            queue_url="https://sqs.ap-northeast-1.amazonaws.com/123456789012/batch-undelivered",
        ).lines
    )


def test_what_the_check_finds():
    daily = job("cron(0 8 * * ? *)")
    assert found(daily, events=Events(state="DISABLED")) == ["The rule batch-report is disabled."]
    assert found(daily, events=Events(missing=True)) == ["The rule batch-report is missing: deleted outside Terraform."]
    assert found(daily, events=Events(expression="cron(0 9 * * ? *)")) == [
        "The rule's schedule was changed to cron(0 9 * * ? *) (deployed: cron(0 8 * * ? *))."
    ]
    assert found(daily, events=Events(target=arns("states", "stateMachine:other"))) == [
        "The rule batch-report no longer starts state machine batch-report."
    ]
    assert found(daily, sqs=Sqs(waiting=2)) == [
        "2 message(s) wait in the dead-letter queue batch-undelivered: starts that failed."
    ]
    assert found(daily) == [
        "No execution started at all, and the schedule is as deployed: an EventBridge or Scheduler problem, or a "
        "start still being retried."
    ]
    tokyo = job("cron(0 8 * * ? *)", zone="Asia/Tokyo")
    assert found(tokyo, scheduler=Scheduler(state="DISABLED", zone="Asia/Tokyo")) == [
        "The schedule batch-report is disabled."
    ]
    assert found(tokyo, scheduler=Scheduler(zone="UTC")) == [
        "The schedule's time zone was changed to UTC (deployed: Asia/Tokyo)."
    ]


# --- two missed runs, then a recovery --------------------------------------------------------------------


def test_a_rule_disabled_for_two_fire_times_gives_two_alerts_then_a_recovery():
    watched = job("cron(0 * * * ? *)")
    runs = ran("2026-12-01T00:00:01Z", "2026-12-01T01:00:01Z", "2026-12-01T04:00:02Z")
    alerted = watch(watched, runs, "2026-12-01T00:00Z", "2026-12-01T05:00Z", events=Events(state="DISABLED"))
    assert alerted == ["2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z"]
    sfn = Sfn(runs, now=at("2026-12-01T05:00Z"))
    executions = sfn.list_executions(stateMachineArn=arns("states", "stateMachine:batch-report"), maxResults=100)
    latest = executions["executions"][0]["executionArn"]
    assert recovery(watched, executions=executions["executions"], succeeded=latest) == {
        "missedRuns": 2,
        "since": "2026-12-01T02:00:00+00:00",
        "lastFailure": {"status": "MISSED", "scheduledTime": "2026-12-01T03:00:00+00:00"},
    }


def test_the_first_success_after_failures_is_a_recovery_and_the_next_is_not():
    watched = job("cron(0 * * * ? *)")
    runs = ran("2026-12-01T00:00:01Z") + ran("2026-12-01T01:00:01Z", "2026-12-01T02:00:01Z", status="FAILED")
    runs += ran("2026-12-01T03:00:01Z", status="TIMED_OUT") + ran("2026-12-01T04:00:01Z", "2026-12-01T05:00:01Z")
    sfn = Sfn(runs, now=at("2026-12-01T06:00Z"))
    listed = sfn.list_executions(stateMachineArn=arns("states", "stateMachine:batch-report"), maxResults=100)
    listed = listed["executions"]
    by_hour = {item["startDate"].hour: item["executionArn"] for item in listed}
    assert recovery(watched, executions=listed, succeeded=by_hour[4]) == {
        "failedRuns": 3,
        "since": "2026-12-01T01:00:01+00:00",
        "lastFailure": {"status": "TIMED_OUT", "execution": by_hour[3]},
    }
    assert recovery(watched, executions=listed, succeeded=by_hour[5]) is None


# --- the handler, end to end: a tick and a success, to the channels -----------------------------------


@pytest.fixture
def watchdog_world(monkeypatch, tmp_path):
    """The watchdog's handler with stand-in AWS clients for what it reads, moto's SQS for the alert
    queue, and the alert Lambda delivering from that queue to a Slack stand-in."""
    import json

    import boto3
    from alert_world import alert_world
    from moto import mock_aws
    from webhook_server import webhook_server

    from lambda_src import alert, watchdog
    from lambda_src.contract import ALERT_CHANNELS_VARIABLE, ALERT_QUEUE_URL_VARIABLE, STACK_NAME_VARIABLE

    hourly = job("cron(0 * * * ? *)")
    listed = tmp_path / "watched_jobs.json"
    listed.write_text(json.dumps([hourly.__dict__]))
    monkeypatch.setattr(watchdog, "WATCHED_PATH", listed)
    runs = ran("2026-12-01T00:00:01Z", "2026-12-01T01:00:01Z", "2026-12-01T04:00:02Z")
    sfn = Sfn(runs)
    clients = {"stepfunctions": sfn, "events": Events(state="DISABLED"), "scheduler": Scheduler(), "sqs": Sqs()}
    monkeypatch.setattr(watchdog, "_aws", lambda service: clients[service])
    with mock_aws(), webhook_server([200]) as slack:
        alert_world(monkeypatch.setenv, region="ap-northeast-1", slack_url=slack.url)
        sqs = boto3.client("sqs", region_name="ap-northeast-1")
        url = sqs.create_queue(QueueName="batch-alert-queue")["QueueUrl"]
        monkeypatch.setenv(ALERT_QUEUE_URL_VARIABLE, url)
        monkeypatch.setenv(ALERT_CHANNELS_VARIABLE, "slack")
        monkeypatch.setenv(STACK_NAME_VARIABLE, "batch")
        alert.reset()

        def deliver() -> list[dict]:
            """The alert queue's messages, delivered as the event source mapping would."""
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                        "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:ap-northeast-1:123456789012:batch-alert-queue"}
                       for m in messages]  # fmt: skip
            if records:
                assert alert.handler({"Records": records}, None) == {"batchItemFailures": []}
            return [request["body"] for request in slack.accepted]

        yield sfn, deliver
    alert.reset()


class _Context:
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:123456789012:function:batch-watchdog"


def test_a_missed_run_reaches_the_chat_and_a_recovery_follows(watchdog_world):
    from lambda_src import watchdog

    sfn, deliver = watchdog_world
    sfn.now = at("2026-12-01T02:10Z")
    assert watchdog.handler({"time": "2026-12-01T02:10:00Z"}, _Context())["alerts"] == 1
    (missed,) = deliver()
    assert missed["text"] == "[batch] report failed: the run did not start"
    assert "The rule batch-report is disabled." in json.dumps(missed)
    # 04:00's run succeeded: the first success after the missed ones.
    sfn.now = at("2026-12-01T04:00:30Z")
    success = {
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {
            "status": "SUCCEEDED",
            "stateMachineArn": arns("states", "stateMachine:batch-report"),
            "executionArn": arns("states", "execution:batch-report:0400"),
            "startDate": 1796097602000,
            "stopDate": 1796097630000,
        },
    }
    assert watchdog.handler(success, _Context())["alerts"] == 1
    _, recovered = deliver()
    assert recovered["text"] == "[batch] report recovered"
    assert "report ran successfully again, after 2 missed runs. The job was broken for 2 h 30 s." in json.dumps(
        recovered
    )
    # The next success says nothing.
    sfn.runs += ran("2026-12-01T05:00:01Z")
    sfn.now = at("2026-12-01T05:00:30Z")
    later = {**success, "detail": {**success["detail"], "executionArn": arns("states", "execution:batch-report:0500")}}
    assert watchdog.handler(later, _Context())["alerts"] == 0


# --- a long run's heads-up ------------------------------------------------------------------------------


def test_a_run_still_going_past_warn_after_is_announced_once():
    watched = job("cron(0 8 * * ? *)", warn=1800)
    sfn = Sfn(ran("2026-12-01T08:00:02Z", status="RUNNING"))
    clients = Clients(sfn, Events(), Scheduler(), Sqs())
    alerts: list[dict] = []
    now = at("2026-12-01T08:00Z")
    while now <= at("2026-12-01T10:00Z"):
        sfn.now = now
        alerts += check([watched], now=now, clients=clients, arns=arns, stack="batch", queue_url=None,
                        log=lambda entry: None)  # fmt: skip
        now += dt.timedelta(seconds=INTERVAL_SECONDS)
    (alert,) = alerts
    assert alert["error"] == "Run.StillRunning"
    assert alert["execution"] == arns("states", "execution:batch-report:0800")
    assert alert["alertId"] == arns("states", "execution:batch-report:0800") + ":still-running"
    assert alert["warnAfterSeconds"] == 1800


def test_a_run_that_ended_before_warn_after_is_not_announced():
    watched = job("cron(0 8 * * ? *)", warn=1800)
    sfn = Sfn(ran("2026-12-01T08:00:02Z"))  # SUCCEEDED: not in the RUNNING list
    sfn.now = at("2026-12-01T08:35Z")
    assert check([watched], now=sfn.now, clients=Clients(sfn, Events(), Scheduler(), Sqs()), arns=arns,
                 stack="batch", queue_url=None, log=lambda entry: None) == []  # fmt: skip


def test_the_heads_up_reads_as_a_warning_not_a_failure():
    from lambda_src.message import describe
    from lambda_src.pagerduty import severity

    alert = describe({"job": "report", "stack": "batch", "error": "Run.StillRunning", "warnAfterSeconds": 1800,
                      "timeoutSeconds": 3600, "execution": arns("states", "execution:batch-report:0800")})  # fmt: skip
    assert alert.title == "[batch] report is still running"
    assert alert.what == (
        "The run is still running after 30 min (warn_after_seconds): a heads-up, not a failure; nothing was "
        "stopped. The timeout stops its task after 1 h of running."
    )
    assert severity(alert) == "warning"
