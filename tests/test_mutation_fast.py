"""Fast, exact tests of the newer pure modules, with no synth and no moto, so that `make mutate`
can run them against each mutant: the user's snapshot diff, the pinned time zones, Terraform's
literal text, the task log's tail and the dead-letter queue's messages."""

from __future__ import annotations

import json

import pytest
from alert_world import sqs_record

from constructs_lib.documents.terraform_text import literal, literal_config
from constructs_lib.model.retry_policy import RetryPolicy
from constructs_lib.model.time_zone import ABBREVIATIONS, TZDATA_VERSION, is_zone, zone_info, zone_names
from constructs_lib.reporting.snapshot import MAX_LINES_PER_CHANGE, addresses, diff, dumps, readable
from lambda_src.task_log import MAX_CHARACTERS, MAX_LINE, MAX_LINES, clean, last_lines, stream_of
from lambda_src.undelivered import is_queue_event, payload_of

# --- the user's snapshot ---------------------------------------------------------------------------


def test_readable_opens_json_inside_strings_and_leaves_the_rest():
    assert readable({"a": '{"b": [1]}', "c": "[x", "d": ["[]", 5]}) == {
        "a": {"(parsed JSON)": {"b": [1]}},
        "c": "[x",
        "d": [{"(parsed JSON)": []}, 5],
    }
    assert dumps({"b": 1, "a": "é"}) == '{\n  "a": "é",\n  "b": 1\n}\n'


def test_addresses_name_each_piece_as_terraform_does():
    stack = {
        "resource": {"aws_sqs_queue": {"q": 1}},
        "data": {"aws_region": {"r": 2}},
        "output": {"o": 3},
        "provider": {"aws": 4},
        "terraform": 5,
    }
    assert addresses(stack) == {
        "aws_sqs_queue.q": 1,
        "data.aws_region.r": 2,
        "output.o": 3,
        "provider.aws": 4,
        "terraform": 5,
    }


def test_the_diff_lists_added_removed_and_changed_with_the_changed_lines():
    before = {"resource": {"t": {"kept": {"a": 1}, "gone": {}, "moved": {"a": 1, "b": 2}}}}
    after = {"resource": {"t": {"kept": {"a": 1}, "new": {}, "moved": {"a": 1, "b": 3}}}}
    assert diff(before, after) == [
        "- removed  t.gone",
        "~ changed  t.moved",
        "    @@ -1,4 +1,4 @@",
        "     {",
        '       "a": 1,',
        '    -  "b": 2',
        '    +  "b": 3',
        "     }",
        "+ added    t.new",
    ]
    assert diff(before, before) == []


def test_a_long_change_is_cut_with_a_count():
    before = {"resource": {"t": {"x": {str(n): n for n in range(100)}}}}
    after = {"resource": {"t": {"x": {str(n): -n - 1 for n in range(100)}}}}
    lines = diff(before, after)
    assert len(lines) == 1 + MAX_LINES_PER_CHANGE + 1
    assert lines[-1].startswith("    ... ") and lines[-1].endswith(" more lines")


# --- time zones --------------------------------------------------------------------------------


def test_zone_names_are_the_pinned_databases_places():
    names = zone_names()
    assert TZDATA_VERSION == "2026f"
    assert {"Asia/Tokyo", "UTC", "US/Eastern", "America/Argentina/Buenos_Aires"} <= names
    assert "Factory" not in names and "localtime" not in names
    assert is_zone("Asia/Tokyo") and not is_zone("EST") and not is_zone("Nowhere/Town")
    assert ABBREVIATIONS["JST"] == "Asia/Tokyo"
    assert zone_info("Asia/Tokyo").key == "Asia/Tokyo"
    with pytest.raises(KeyError):
        zone_info("localtime")


# --- Terraform's literal text -----------------------------------------------------------------


def test_literal_config_escapes_every_string_and_keeps_what_was_set():
    assert literal("a${b}%{c}") == "a$${b}%%{c}"
    assert literal_config({"${k}": ["%{v}", ("${t}",)]}) == {"$${k}": ["%%{v}", ("$${t}",)]}
    assert literal_config(7) == 7
    policy = RetryPolicy(retry_exit_codes=[75])
    assert literal_config(policy) is policy  # nothing to escape: the same object
    same = RetryPolicy(max_attempts=2)
    assert literal_config(same).model_fields_set == {"max_attempts"}


# --- the task log's tail -------------------------------------------------------------------------


def payload(**changes):
    base = {
        "logGroup": "/ecs/g",
        "logStreamPrefix": "job/app",
        "cause": json.dumps({"TaskArn": "arn:aws:ecs:r:1:task/c/abc", "StopCode": "EssentialContainerExited"}),
    }
    return {**base, **changes}


def test_the_stream_is_named_only_for_a_task_that_ran():
    assert stream_of(payload()) == ("/ecs/g", "job/app/abc")
    assert stream_of(payload(cause=json.dumps({"TaskArn": "arn:x/t", "StopCode": "TaskFailedToStart"}))) is None
    assert stream_of(payload(cause="Capacity is unavailable")) is None
    assert stream_of(payload(cause=None)) is None
    assert stream_of(payload(cause=json.dumps({"TaskArn": "no-slash"}))) is None
    assert stream_of(payload(cause=json.dumps(["not", "a", "task"]))) is None
    assert stream_of(payload(logGroup="")) is None
    assert stream_of(payload(logStreamPrefix=None)) is None


class Logs:
    def __init__(self, messages):
        self.messages = messages
        self.asked = {}

    def get_log_events(self, **asked):
        self.asked = asked
        return {"events": [{"message": message} for message in self.messages]}


def test_the_newest_lines_are_read_and_capped():
    logs = Logs(["one\n", "two\ttabs", "x" * 2500, "last"])
    assert last_lines(logs, "/g", "s") == ["one", "two    tabs", "x" * (MAX_LINE - 1) + "…", "last"]
    assert logs.asked == {"logGroupName": "/g", "logStreamName": "s", "limit": MAX_LINES, "startFromHead": False}
    # Eight lines of 300 characters: the newest six fit in 2,000, the seventh would not.
    full = Logs([f"{n}" * MAX_LINE for n in range(8)])
    assert last_lines(full, "/g", "s") == [f"{n}" * MAX_LINE for n in range(2, 8)]
    assert clean("x" * (MAX_LINE + 5)) == "x" * (MAX_LINE - 1) + "…"
    assert clean("x" * MAX_LINE) == "x" * MAX_LINE
    assert MAX_CHARACTERS == 2000


# --- the dead-letter queue's messages ------------------------------------------------------------


record = sqs_record


def test_a_rule_message_names_the_job_from_the_rule_and_the_time_from_the_event():
    event = {"detail-type": "Scheduled Event", "time": "2026-12-01T00:15:00Z", "resources": ["arn:x:rule/s-job-a"]}
    assert payload_of(record(event, ERROR_CODE="E", ERROR_MESSAGE="M"), stack="s") == {
        "stack": "s",
        "alertId": "undelivered:m",
        "gaveUpAt": 1796079660000,
        "cause": "E: M",
        "job": "job-a",
        "error": "Schedule.StartFailed",
        "input": {"job": "job-a", "scheduledTime": "2026-12-01T00:15:00Z"},
        "source": "arn:x:rule/s-job-a",
    }


def test_a_message_nobody_can_read_still_alerts():
    assert payload_of(record("not json"), stack="s") == {
        "stack": "s",
        "alertId": "undelivered:m",
        "gaveUpAt": 1796079660000,
        "cause": "no reason given",
        "job": "?",
        "error": "Schedule.StartFailed",
        "input": "not json",
        "source": None,
    }
    named = payload_of(record({}, SCHEDULE_ARN="arn:aws:scheduler:r:1:schedule/g/other-x"), stack="s")
    assert named["job"] == "other-x"  # not the stack's prefix: the name as it is


def test_an_execution_status_change_becomes_its_ended_early_alert():
    detail = {
        "status": "ABORTED",
        "executionArn": "arn:x:execution:s-job:run",
        "stateMachineArn": "arn:x:stateMachine:s-job",
        "startDate": 1,
        "stopDate": 2,
        "input": '{"job": "job"}',
    }
    result = payload_of(record({"detail-type": "Step Functions Execution Status Change", "detail": detail}), stack="s")
    assert (result["job"], result["error"], result["execution"], result["input"]) == (
        "job",
        "Execution.ABORTED",
        "arn:x:execution:s-job:run",
        {"job": "job"},
    )
    assert (result["startTime"], result["gaveUpAt"]) == (1, 2)


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"Records": []},
        {"Records": [{"eventSource": "aws:sns"}]},
        {"Records": [{"eventSource": "aws:sqs"}, {"eventSource": "aws:sns"}]},
        {"Records": "x"},
        [],
        None,
    ],
    ids=["empty", "no-records", "other-source", "one-other-source", "not-a-list", "a-list", "none"],
)
def test_only_records_all_from_sqs_make_a_queue_event(event):
    assert is_queue_event(event) is False
    assert is_queue_event({"Records": [{"eventSource": "aws:sqs"}]}) is True


def test_an_ended_early_alert_that_reached_the_queue_goes_to_its_own_channel():
    """After its input transformer, an ended-early target's message is the alert payload itself."""
    body = {"channel": "slack", "job": "nightly-report", "error": "Execution.ABORTED", "stack": "s"}
    message = record(body, message_id="m-7", ERROR_CODE="ThrottlingException")
    assert is_queue_event({"Records": [message]})
    assert payload_of(message, stack="s") == {
        **body,
        "alertId": "undelivered:m-7",
        "undelivered": "ThrottlingException",
    }


def test_a_model_with_text_to_escape_is_copied_with_what_the_user_set_unchanged():
    from constructs_lib.model.config import TaskRoleStatement

    given = TaskRoleStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/${x}"])
    escaped = literal_config(given)
    assert escaped is not given
    assert escaped.resources == ("arn:aws:s3:::b/$${x}",)
    assert escaped.actions is given.actions  # unchanged fields are the same objects
    assert escaped.model_fields_set == given.model_fields_set == {"actions", "resources"}
    plain = TaskRoleStatement(actions=["s3:GetObject"], resources=["*"])
    assert literal_config(plain) is plain


def test_lines_without_a_message_and_answers_without_events():
    assert last_lines(Logs([]), "/g", "s") == []

    class Bare:
        def get_log_events(self, **asked):
            return {"events": [{}, {"message": "x"}]}

    class Empty:
        def get_log_events(self, **asked):
            return {}

    assert last_lines(Bare(), "/g", "s") == ["", "x"]
    assert last_lines(Empty(), "/g", "s") == []
    exactly = Logs(["y" * 250] * 8)  # 2,000 characters exactly: all kept
    assert last_lines(exactly, "/g", "s") == ["y" * 250] * 8


def test_clean_removes_control_and_direction_characters_and_surrogates():
    assert clean("a\u202eb\x00c\x1b[0m\r\n") == "abc[0m"
    assert clean("tab\there\n") == "tab    here"
    assert clean("x\udcffy") == "x?y"
    assert clean("keep \u00e9 \u2603") == "keep \u00e9 \u2603"


def test_a_lambda_dead_letter_keeps_its_payload_and_says_why():
    body = {"channel": "slack", "job": "j", "error": "Execution.ABORTED", "stack": "own"}
    lambda_dlq = record(body, ErrorCode="200", ErrorMessage="slack answered HTTP 503")
    assert payload_of(lambda_dlq, stack="s") == {
        **body,
        "alertId": "undelivered:m",
        "undelivered": "200: slack answered HTTP 503",
    }
    no_stack = record({"job": "j", "error": "E"})
    assert payload_of(no_stack, stack="s") == {
        "job": "j",
        "error": "E",
        "stack": "s",
        "alertId": "undelivered:m",
        "undelivered": "",
    }


def test_a_scheduler_message_keeps_the_run_input_and_names_its_schedule():
    schedule = "arn:aws:scheduler:r:1:schedule/g/s-nightly"
    message = record({"job": "nightly", "scheduledTime": "T"}, ERROR_CODE="E", SCHEDULE_ARN=schedule)
    assert payload_of(message, stack="s") == {
        "stack": "s",
        "alertId": "undelivered:m",
        "gaveUpAt": 1796079660000,
        "cause": "E",
        "job": "nightly",
        "error": "Schedule.StartFailed",
        "input": {"job": "nightly", "scheduledTime": "T"},
        "source": schedule,
    }
    rule = "arn:aws:events:r:1:rule/s-x"
    assert payload_of(record({"detail-type": "Scheduled Event"}, RULE_ARN=rule), stack="s")["source"] == rule
    assert payload_of(record({}, sent=None), stack="s")["gaveUpAt"] is None


def test_the_job_is_the_name_less_the_stack_s_prefix_and_nothing_shorter():
    def job(arn):
        return payload_of(record({}, RULE_ARN=arn), stack="s")["job"]

    assert job("arn:aws:events:r:1:rule/s-a") == "a"
    assert job("arn:aws:events:r:1:rule/s-") == "s-"  # nothing after the prefix: the name as it is
    assert job("arn:aws:states:r:1:stateMachine:s-report") == "report"
    assert job("arn:aws:events:r:1:rule/other") == "other"


def test_an_execution_status_change_names_its_status_and_state_machine():
    detail = {"status": "TIMED_OUT", "stateMachineArn": "arn:x:stateMachine:s-job"}
    result = payload_of(record({"detail-type": "Step Functions Execution Status Change", "detail": detail}), stack="s")
    assert result["stateMachine"] == "arn:x:stateMachine:s-job"
    assert result["cause"] == (
        "The execution ended TIMED_OUT before the alert step, and its alert could not be delivered at first "
        "(no reason given)"
    )
    no_detail = payload_of(record({"detail-type": "Step Functions Execution Status Change"}), stack="s")
    assert (no_detail["job"], no_detail["error"]) == ("?", "Execution.UNKNOWN")
