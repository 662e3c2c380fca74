"""The alert Lambda's handler, called directly with the payload the state machine sends, and its
webhook delivery against a real HTTP server on localhost."""

from __future__ import annotations

import json

import pytest
from sfn_harness import CONTAINER_EXIT_1, FAILED_TO_START
from webhook_server import webhook_server

from lambda_src.alert import AlertDeliveryError, AlertRejectedError, describe_failure, handler, post_webhook

EXECUTION = "arn:aws:states:ap-northeast-1:123456789012:execution:scheduled-jobs-nightly:0f1e2d3c"


def payload(error: str, cause: str) -> dict:
    return {
        "job": "nightly",
        "error": error,
        "cause": cause,
        "execution": EXECUTION,
        "startTime": "2026-11-28T08:00:00.000Z",
        "stateMachine": "arn:aws:states:ap-northeast-1:123456789012:stateMachine:scheduled-jobs-nightly",
    }


def test_task_failure_is_parsed_into_stop_code_reason_and_exit_codes(capsys):
    record = handler(payload("Job.TaskFailed", CONTAINER_EXIT_1.cause), None)
    assert record == {
        "level": "ERROR",
        "message": "scheduled job nightly failed: Job.TaskFailed",
        "alert_id": EXECUTION,
        "job": "nightly",
        "error": "Job.TaskFailed",
        "meaning": "the task ran and stopped with an error; it was not re-run",
        "cause": CONTAINER_EXIT_1.cause,
        "execution": EXECUTION,
        "start_time": "2026-11-28T08:00:00.000Z",
        "state_machine": "arn:aws:states:ap-northeast-1:123456789012:stateMachine:scheduled-jobs-nightly",
        "task": {
            "task_arn": "arn:aws:ecs:ap-northeast-1:123456789012:task/cluster/0123456789abcdef",
            "stop_code": "EssentialContainerExited",
            "stopped_reason": "Essential container in task exited",
            "containers": [{"name": "app", "exit_code": 1, "reason": None}],
        },
    }
    # One structured line in the function's log: the same record.
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == record


def test_failed_to_start_keeps_the_container_reason():
    record = handler(payload("Job.TaskFailedToStart", FAILED_TO_START.cause), None)
    assert record["meaning"] == "the task never started (image pull, network, secrets), even after retries"
    assert record["task"]["stop_code"] == "TaskFailedToStart"
    assert record["task"]["containers"] == [
        {
            "name": "app",
            "exit_code": None,
            "reason": "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        }
    ]


def test_plain_text_cause_is_kept_without_a_task():
    cause = "Capacity is unavailable at this time. Please try again later or in a different availability zone"
    record = handler(payload("ECS.AmazonECSException", cause), None)
    assert record["cause"] == cause
    assert record["meaning"] == "Fargate could not place the task (capacity), even after retries"
    assert "task" not in record


def test_json_cause_that_is_not_a_task_is_not_parsed():
    record = handler(payload("Lambda.Unknown", '{"errorMessage": "x"}'), None)
    assert "task" not in record
    assert record["meaning"] == "the run failed and was not retried"


def test_unexpected_event_shapes_do_not_raise():
    assert handler({}, None)["error"] == "unknown"
    assert handler("just text", None)["cause"] == "just text"
    record = handler(payload("States.TaskFailed", '{"StopCode": "X", "Containers": ["bad"]}'), None)
    assert record["task"]["containers"] == []


# --- webhook delivery, against a real HTTP server on localhost -----------------------------------


def test_no_webhook_configured_means_log_only(monkeypatch):
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    assert "webhook_status" not in handler(payload("Job.TaskFailed", CONTAINER_EXIT_1.cause), None)


def test_alert_is_posted_to_the_webhook(monkeypatch):
    with webhook_server([200]) as hook:
        monkeypatch.setenv("ALERT_WEBHOOK_URL", hook.url)
        record = handler(payload("Job.TaskFailed", CONTAINER_EXIT_1.cause), None)
    assert record["webhook_status"] == 200
    (request,) = hook.received
    assert request["path"] == "/hooks/alerts"
    assert request["content_type"] == "application/json; charset=utf-8"
    assert request["body"]["text"] == (
        "scheduled job nightly failed: Job.TaskFailed: the task ran and stopped with an error; it was not re-run "
        "(EssentialContainerExited; Essential container in task exited; app exited 1). "
        f"Execution: {EXECUTION}"
    )
    assert request["body"]["alert"] == {key: value for key, value in record.items() if key != "webhook_status"}


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_webhook_down_raises_a_retryable_error(monkeypatch, status):
    with webhook_server([status]) as hook:
        monkeypatch.setenv("ALERT_WEBHOOK_URL", hook.url)
        with pytest.raises(AlertDeliveryError, match=rf"^webhook answered HTTP {status}$"):
            handler(payload("Job.TimedOut", "timed out"), None)
    assert len(hook.received) == 1


@pytest.mark.parametrize("status", [400, 403, 404])
def test_webhook_refusal_is_not_retryable(monkeypatch, status):
    with webhook_server([status]) as hook:
        monkeypatch.setenv("ALERT_WEBHOOK_URL", hook.url)
        with pytest.raises(AlertRejectedError, match=rf"^webhook refused the alert: HTTP {status}$"):
            handler(payload("Job.TimedOut", "timed out"), None)


def test_unreachable_webhook_is_retryable(monkeypatch):
    with webhook_server([200]) as hook:
        url = hook.url  # the server is gone once the block ends
    monkeypatch.setenv("ALERT_WEBHOOK_URL", url)
    with pytest.raises(AlertDeliveryError, match=r"^webhook unreachable: .*Connection refused"):
        handler(payload("Job.TimedOut", "timed out"), None)


def test_slow_webhook_times_out_as_retryable():
    with webhook_server([200], delay_seconds=1.0) as hook:
        record = describe_failure(payload("Job.TimedOut", "timed out"))
        with pytest.raises(AlertDeliveryError, match=r"^webhook unreachable: .*timed out"):
            post_webhook(hook.url, record, timeout=0.2)
