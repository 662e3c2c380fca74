"""The state machine's pieces, built without a synth: each builder against what docs/failure-semantics.md's
"Failure semantics" says it must do. test_execution.py runs the whole definition in moto; these
check the pieces one by one, fast enough for mutation testing (`make mutate`)."""

from __future__ import annotations

from typing import Any

import pytest
from stack_helpers import GUARD_STATES

from constructs_lib.documents.asl import (
    render_branch,
    render_classify_failure,
    render_definition,
    render_run_job,
    render_run_task,
    stage_name,
    with_suffix,
)
from constructs_lib.documents.asl_alert import (
    ALERT_RETRY,
    LAMBDA_TRANSIENT_ERRORS,
    AlertJob,
    alert_state_name,
    render_alert_payload,
    render_notify_failure,
)
from constructs_lib.documents.asl_guard import GUARD_RETRY, render_concurrency_guard
from constructs_lib.documents.asl_states import render_catch, render_retry
from constructs_lib.model.retry_policy import RetryPolicy

CLUSTER = "arn:aws:ecs:r:1:cluster/c"
TASK = "arn:aws:ecs:r:1:task-definition/t:3"
FUNCTION = "arn:aws:lambda:r:1:function:alert"
PLACEMENT = ["AmazonECS.Unknown", "ECS.AmazonECSException"]
POLICY = RetryPolicy(max_attempts=3, interval_seconds=1, backoff_rate=2.0)


def job(capacity=("FARGATE",), retry: RetryPolicy = POLICY) -> AlertJob:
    return AlertJob.of(
        stack_name="batch",
        job_name="report",
        retry=retry,
        timeout_seconds=600,
        log_group_name="/ecs/r",
        capacity=capacity,
    )


def definition(*, capacity=("FARGATE",), retry: RetryPolicy = POLICY, concurrency="forbid", partition="aws"):
    return render_definition(
        job=job(capacity, retry),
        partition=partition,
        cluster_arn=CLUSTER,
        task_definition_arn=TASK,
        subnet_ids=["subnet-a", "subnet-b"],
        security_group_ids=["sg-1"],
        assign_public_ip=False,
        alert_function_arn=FUNCTION,
        alert_channels=("log", "slack"),
        retry=retry,
        concurrency=concurrency,
    )


def transitions(states: dict[str, Any]) -> set[str]:
    """Every state name a Next, Default or StartAt names, at any depth."""
    found = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("Next", "Default", "StartAt") and isinstance(item, str):
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(states)
    return found


def test_a_retry_entry_carries_only_what_the_policy_sets():
    assert render_retry(["E"], POLICY) == {
        "ErrorEquals": ["E"],
        "IntervalSeconds": 1,
        "MaxAttempts": 3,
        "BackoffRate": 2.0,
    }
    capped = RetryPolicy(max_attempts=5, interval_seconds=10, backoff_rate=1.5, max_delay_seconds=60, jitter="FULL")
    assert render_retry(("A", "B"), capped, attempts=2) == {
        "ErrorEquals": ["A", "B"],
        "IntervalSeconds": 10,
        "MaxAttempts": 2,
        "BackoffRate": 1.5,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    }
    assert render_retry(["E"], capped, attempts=0)["MaxAttempts"] == 0


def test_a_catch_takes_every_error_to_the_next_state():
    assert render_catch("Next", result_path="$.F") == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.F",
        "Next": "Next",
    }


@pytest.mark.parametrize("public", [True, False])
def test_run_task_on_fargate_names_the_launch_type(public):
    state = render_run_task(
        partition="aws-cn",
        cluster_arn=CLUSTER,
        task_definition_arn=TASK,
        subnet_ids=("subnet-a",),
        security_group_ids=("sg-1", "sg-2"),
        assign_public_ip=public,
        timeout_seconds=900,
    )
    assert state == {
        "Type": "Task",
        "Resource": "arn:aws-cn:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": CLUSTER,
            "TaskDefinition": TASK,
            "LaunchType": "FARGATE",
            "PlatformVersion": "1.4.0",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": ["subnet-a"],
                    "SecurityGroups": ["sg-1", "sg-2"],
                    "AssignPublicIp": "ENABLED" if public else "DISABLED",
                }
            },
        },
        "ResultPath": "$.RunTask",
        "TimeoutSeconds": 900,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.Failure", "Next": "ClassifyFailure"}],
        "End": True,
    }


def test_run_task_on_fargate_spot_names_a_capacity_provider_strategy_and_no_launch_type():
    state = render_run_task(
        partition="aws",
        cluster_arn=CLUSTER,
        task_definition_arn=TASK,
        subnet_ids=(),
        security_group_ids=(),
        assign_public_ip=False,
        timeout_seconds=60,
        capacity="FARGATE_SPOT",
    )
    assert "LaunchType" not in state["Parameters"]
    assert state["Parameters"]["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]


def test_classify_failure_routes_each_way_a_task_ends():
    states = render_classify_failure(timeout_seconds=600)
    assert states["ClassifyFailure"] == {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.Failure.Error", "StringEquals": "States.TaskFailed"},
                    {"Variable": "$.Failure.Cause", "StringMatches": "{*"},
                ],
                "Next": "ReadStoppedTask",
            },
            {"Variable": "$.Failure.Error", "StringEquals": "States.TaskFailed", "Next": "TaskFailed"},
            {"Variable": "$.Failure.Error", "StringEquals": "States.Timeout", "Next": "TimedOut"},
        ],
        "Default": "LaunchFailed",
    }
    assert states["ReadStoppedTask"] == {
        "Type": "Pass",
        "Parameters": {
            "Error.$": "$.Failure.Error",
            "Cause.$": "$.Failure.Cause",
            "Task.$": "States.StringToJson($.Failure.Cause)",
        },
        "ResultPath": "$.Failure",
        "Next": "HowDidTheTaskStop",
    }
    stop_code = "$.Failure.Task.StopCode"
    assert states["HowDidTheTaskStop"] == {
        "Type": "Choice",
        "Choices": [
            {"Not": {"Variable": stop_code, "IsPresent": True}, "Next": "TaskFailed"},
            {"Variable": stop_code, "StringEquals": "TaskFailedToStart", "Next": "TaskFailedToStart"},
            {"Variable": stop_code, "StringEquals": "SpotInterruption", "Next": "SpotInterrupted"},
        ],
        "Default": "TaskFailed",
    }
    for name, error in [
        ("TaskFailedToStart", "Job.TaskFailedToStart"),
        ("SpotInterrupted", "Job.SpotInterrupted"),
        ("TaskFailed", "Job.TaskFailed"),
    ]:
        assert states[name] == {"Type": "Fail", "Error": error, "CausePath": "$.Failure.Cause"}
    assert states["TimedOut"] == {
        "Type": "Fail",
        "Error": "Job.TimedOut",
        "Cause": "The task ran longer than timeout_seconds (600 s); Step Functions stopped it.",
    }
    assert states["LaunchFailed"] == {"Type": "Fail", "ErrorPath": "$.Failure.Error", "CausePath": "$.Failure.Cause"}
    assert "ReadExitCode" not in states


def test_retryable_exit_codes_are_read_from_the_stopped_container():
    states = render_classify_failure(timeout_seconds=600, retry_exit_codes=(75, 69))
    assert states["HowDidTheTaskStop"]["Choices"][-1] == {
        "Variable": "$.Failure.Task.StopCode",
        "StringEquals": "EssentialContainerExited",
        "Next": "ReadExitCode",
    }
    assert states["ReadExitCode"] == {
        "Type": "Pass",
        "Parameters": {"Codes.$": "$.Failure.Task.Containers[*].ExitCode"},
        "ResultPath": "$.Exit",
        "Next": "MatchExitCode",
    }
    assert states["MatchExitCode"] == {
        "Type": "Pass",
        "Parameters": {
            "Exited75.$": "States.ArrayContains($.Exit.Codes, 75)",
            "Exited69.$": "States.ArrayContains($.Exit.Codes, 69)",
        },
        "ResultPath": "$.Exit.Matches",
        "Next": "IsExitRetryable",
    }
    assert states["IsExitRetryable"] == {
        "Type": "Choice",
        "Choices": [
            {
                "Or": [
                    {"Variable": "$.Exit.Matches.Exited75", "BooleanEquals": True},
                    {"Variable": "$.Exit.Matches.Exited69", "BooleanEquals": True},
                ],
                "Next": "RetryableExit",
            }
        ],
        "Default": "TaskFailed",
    }
    assert states["RetryableExit"] == {"Type": "Fail", "Error": "Job.RetryableExit", "CausePath": "$.Failure.Cause"}
    one = render_classify_failure(timeout_seconds=600, retry_exit_codes=(75,))["IsExitRetryable"]["Choices"]
    assert one == [{"Variable": "$.Exit.Matches.Exited75", "BooleanEquals": True, "Next": "RetryableExit"}]


def test_a_branch_starts_with_the_task_and_holds_the_classification():
    branch = render_branch({"Type": "Task"}, timeout_seconds=60)
    assert branch["StartAt"] == "RunTask"
    assert list(branch["States"])[:2] == ["RunTask", "ClassifyFailure"]
    assert branch["States"]["RunTask"] == {"Type": "Task"}
    assert transitions(branch["States"]) <= set(branch["States"])


def test_stage_names():
    assert stage_name(0, "FARGATE_SPOT") == "RunJob"
    assert stage_name(1, "FARGATE_SPOT") == "RunJobOnFargateSpot"
    assert stage_name(1, "FARGATE") == "RunJobOnFargate"


def test_with_suffix_renames_the_branch_s_states_and_nothing_else():
    branch = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Next": "B", "Catch": [{"Next": "B"}], "Parameters": {"Next": "A"}},
            "B": {"Type": "Choice", "Choices": [{"Next": "A"}, {"Next": "Outside"}], "Default": "A"},
        },
    }
    assert with_suffix(branch, "X") == {
        "StartAt": "AX",
        "States": {
            "AX": {"Type": "Task", "Next": "BX", "Catch": [{"Next": "BX"}], "Parameters": {"Next": "AX"}},
            "BX": {"Type": "Choice", "Choices": [{"Next": "AX"}, {"Next": "Outside"}], "Default": "AX"},
        },
    }
    assert branch["StartAt"] == "A"  # the original is left as it was


def test_a_stage_retries_launches_that_never_ran_in_one_budget():
    stage = render_run_job({"StartAt": "RunTask", "States": {}}, retry=POLICY)
    assert stage == {
        "Type": "Parallel",
        "Branches": [{"StartAt": "RunTask", "States": {}}],
        "OutputPath": "$[0]",
        "Retry": [render_retry([*PLACEMENT, "Job.TaskFailedToStart"], POLICY)],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.Failure", "Next": "NotifyFailure"}],
        "End": True,
    }


def test_a_stage_with_exit_codes_re_runs_and_a_next_source():
    policy = RetryPolicy(
        max_attempts=4, interval_seconds=30, backoff_rate=1.5, rerun_attempts=1, retry_exit_codes=(75,)
    )
    stage = render_run_job({"StartAt": "RunTask", "States": {}}, retry=policy, on_no_capacity="RunJobOnFargateSpot")
    assert stage["Retry"] == [
        render_retry([*PLACEMENT, "Job.TaskFailedToStart", "Job.RetryableExit"], policy),
        render_retry(["Job.TaskFailed", "Job.SpotInterrupted"], policy, attempts=1),
    ]
    assert stage["Catch"] == [
        {"ErrorEquals": PLACEMENT, "ResultPath": "$.Failure", "Next": "RunJobOnFargateSpot"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.Failure", "Next": "NotifyFailure"},
    ]


def test_the_concurrency_guard_lists_running_executions_and_fails_open():
    states = render_concurrency_guard(partition="aws-us-gov", next_state="RunJob")
    assert states["CheckPreviousRun"] == {
        "Type": "Task",
        "Resource": "arn:aws-us-gov:states:::aws-sdk:sfn:listExecutions",
        "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING", "MaxResults": 100},
        # The running executions' ARNs, newest first, and this execution's own.
        "ResultSelector": {"Running.$": "$.Executions[*].ExecutionArn", "Self.$": "$$.Execution.Id"},
        "ResultPath": "$.Guard",
        "Retry": [render_retry(["States.ALL"], GUARD_RETRY)],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.GuardFailure", "Next": "RunJob"}],
        "Next": "WhoIsRunning",
    }
    assert RetryPolicy(max_attempts=3, interval_seconds=1, backoff_rate=2.0) == GUARD_RETRY
    assert states["WhoIsRunning"] == {
        "Type": "Pass",
        "Parameters": {
            "Count.$": "States.ArrayLength($.Guard.Running)",
            "Listed.$": "States.ArrayContains($.Guard.Running, $.Guard.Self)",
        },
        "ResultPath": "$.Guard.Order",
        "Next": "IsPreviousRunRunning",
    }
    # Nothing listed: go ahead. Others listed but not this one (not yet): they are older, refuse.
    assert states["IsPreviousRunRunning"] == {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.Guard.Order.Count", "NumericEquals": 0, "Next": "RunJob"},
            {"Variable": "$.Guard.Order.Listed", "BooleanEquals": False, "Next": "PreviousRunStillRunning"},
        ],
        "Default": "FindOldestRun",
    }
    # Listed: only the oldest (the last, the list being newest first) runs.
    assert states["FindOldestRun"] == {
        "Type": "Pass",
        "Parameters": {"Oldest.$": "States.ArrayGetItem($.Guard.Running, States.MathAdd($.Guard.Order.Count, -1))"},
        "ResultPath": "$.Guard.Order",
        "Next": "IsThisTheOldestRun",
    }
    assert states["IsThisTheOldestRun"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.Guard.Order.Oldest", "StringEqualsPath": "$.Guard.Self", "Next": "RunJob"}],
        "Default": "PreviousRunStillRunning",
    }
    still = states["PreviousRunStillRunning"]
    assert (still["Type"], still["ResultPath"], still["Next"]) == ("Pass", "$.Failure", "NotifyFailure")
    assert still["Result"] == {
        "Error": "Job.PreviousRunStillRunning",
        "Cause": 'Another execution of this job was still running (concurrency = "forbid"), '
        "so this run launched no task.",
    }


def test_the_alert_job_counts_the_first_launch_and_describes_itself():
    alert_job = job(("FARGATE", "FARGATE_SPOT"))
    assert alert_job.launch_budget == 4
    assert alert_job.static_fields("slack") == {
        "channel": "slack",
        "stack": "batch",
        "job": "report",
        "launchBudget": 4,
        "timeoutSeconds": 600,
        "logGroup": "/ecs/r",
        "logStreamPrefix": "job/app",
        "capacity": ["FARGATE", "FARGATE_SPOT"],
    }
    assert render_alert_payload(channel="log", job=alert_job) == {
        **alert_job.static_fields("log"),
        "error.$": "$.Failure.Error",
        "cause.$": "$.Failure.Cause",
        "execution.$": "$$.Execution.Id",
        "startTime.$": "$.StartTime",
        "gaveUpAt.$": "$.GaveUpAt",
        "stateMachine.$": "$$.StateMachine.Id",
        "input.$": "$.Input",
    }
    assert alert_state_name("chatwork") == "AlertChatwork"


def test_the_definition_guards_runs_launches_and_alerts():
    whole = definition()
    assert whole["Comment"] == (
        "Runs job report on Fargate: retries launches whose container never ran, alerts and fails otherwise."
    )
    assert whole["StartAt"] == "CheckPreviousRun"
    assert list(whole["States"]) == [
        *GUARD_STATES,
        "RunJob",
        "NotifyFailure",
        "JobFailed",
    ]
    assert whole["States"]["JobFailed"] == {
        "Type": "Fail",
        "ErrorPath": "$.Failure.Error",
        "CausePath": "$.Failure.Cause",
    }
    run_job = whole["States"]["RunJob"]
    (branch,) = run_job["Branches"]
    assert branch["StartAt"] == "RunTask"
    assert branch["States"]["RunTask"]["Parameters"]["NetworkConfiguration"] == {
        "AwsvpcConfiguration": {
            "Subnets": ["subnet-a", "subnet-b"],
            "SecurityGroups": ["sg-1"],
            "AssignPublicIp": "DISABLED",
        }
    }
    assert branch["States"]["RunTask"]["TimeoutSeconds"] == 600
    assert branch["States"]["TimedOut"]["Cause"].startswith("The task ran longer than timeout_seconds (600 s)")
    notify = whole["States"]["NotifyFailure"]
    assert [b["StartAt"] for b in notify["Branches"]] == ["AlertLog", "AlertSlack"]
    assert notify["Branches"][0]["States"]["AlertLog"]["Parameters"]["FunctionName"] == FUNCTION
    assert notify["Branches"][0]["States"]["AlertLog"]["Retry"] == [render_retry(LAMBDA_TRANSIENT_ERRORS, ALERT_RETRY)]
    every_state = set(whole["States"]) | {name for b in [branch, *notify["Branches"]] for name in b["States"]}
    assert transitions(whole) <= every_state


def test_without_the_guard_a_run_starts_with_its_launch():
    whole = definition(concurrency="allow")
    assert whole["StartAt"] == "RunJob"
    assert "CheckPreviousRun" not in whole["States"]


def test_each_capacity_source_is_a_stage_whose_states_are_suffixed():
    whole = definition(capacity=("FARGATE", "FARGATE_SPOT"), partition="aws-cn")
    assert list(whole["States"])[6:8] == ["RunJob", "RunJobOnFargateSpot"]
    first, second = whole["States"]["RunJob"], whole["States"]["RunJobOnFargateSpot"]
    assert first["Catch"][0] == {"ErrorEquals": PLACEMENT, "ResultPath": "$.Failure", "Next": "RunJobOnFargateSpot"}
    assert [c["Next"] for c in second["Catch"]] == ["NotifyFailure"]
    assert first["Branches"][0]["StartAt"] == "RunTask"
    (spot,) = second["Branches"]
    assert spot["StartAt"] == "RunTaskOnFargateSpot"
    assert spot["States"]["RunTaskOnFargateSpot"]["Catch"][0]["Next"] == "ClassifyFailureOnFargateSpot"
    assert spot["States"]["RunTaskOnFargateSpot"]["Parameters"]["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}
    ]
    assert spot["States"]["RunTaskOnFargateSpot"]["Resource"] == "arn:aws-cn:states:::ecs:runTask.sync"
    assert whole["States"]["CheckPreviousRun"]["Resource"] == "arn:aws-cn:states:::aws-sdk:sfn:listExecutions"
    assert transitions(spot["States"]) <= set(spot["States"])


def test_exit_codes_reach_every_stage():
    policy = RetryPolicy(max_attempts=2, interval_seconds=5, backoff_rate=2.0, retry_exit_codes=(75,))
    whole = definition(capacity=("FARGATE", "FARGATE_SPOT"), retry=policy)
    assert "ReadExitCode" in whole["States"]["RunJob"]["Branches"][0]["States"]
    assert "ReadExitCodeOnFargateSpot" in whole["States"]["RunJobOnFargateSpot"]["Branches"][0]["States"]


def test_notify_failure_alerts_on_each_channel_on_its_own_then_fails_the_run():
    alert_job = job()
    notify = render_notify_failure(partition="aws-cn", job=alert_job, alert_function_arn=FUNCTION, channels=["email"])
    assert notify == {
        "Type": "Parallel",
        "Parameters": {
            "Failure.$": "$.Failure",
            "GaveUpAt.$": "$$.State.EnteredTime",
            "Input.$": "$$.Execution.Input",  # passed in: not read from the context inside a branch
            "StartTime.$": "$$.Execution.StartTime",
        },
        "Branches": [
            {
                "StartAt": "AlertEmail",
                "States": {
                    "AlertEmail": {
                        "Type": "Task",
                        "Resource": "arn:aws-cn:states:::lambda:invoke",
                        "Parameters": {
                            "FunctionName": FUNCTION,
                            "Payload": render_alert_payload(channel="email", job=alert_job),
                        },
                        "Retry": [render_retry(LAMBDA_TRANSIENT_ERRORS, ALERT_RETRY)],
                        "Catch": [
                            {
                                "ErrorEquals": ["States.ALL"],
                                "ResultPath": "$.AlertFailure",
                                "Next": "AlertEmailUndelivered",
                            }
                        ],
                        "End": True,
                    },
                    "AlertEmailUndelivered": {"Type": "Pass", "End": True},
                },
            }
        ],
        "ResultPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.AlertFailure", "Next": "JobFailed"}],
        "Next": "JobFailed",
    }
    assert RetryPolicy(max_attempts=6, interval_seconds=2, backoff_rate=2.0) == ALERT_RETRY
    assert LAMBDA_TRANSIENT_ERRORS == (
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "AlertDeliveryError",
    )


def test_the_guard_is_on_unless_runs_may_overlap():
    whole = render_definition(
        job=job(),
        partition="aws",
        cluster_arn=CLUSTER,
        task_definition_arn=TASK,
        subnet_ids=[],
        security_group_ids=[],
        assign_public_ip=True,
        alert_function_arn=FUNCTION,
        alert_channels=["log"],
        retry=POLICY,
    )
    assert whole["StartAt"] == "CheckPreviousRun"
    (branch,) = whole["States"]["RunJob"]["Branches"]
    assert branch["States"]["RunTask"]["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"][
        "AssignPublicIp"
    ] == ("ENABLED")
