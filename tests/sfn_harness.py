"""Run a synthesized state machine definition in moto's Step Functions interpreter, with faults.

moto 5.2.5 executes definitions in-process with its copy of LocalStack's ASL interpreter. This
module adds what a fault-injection test needs:

- the fix for getmoto/moto#10076: ``_normalise_parameters`` and ``_normalise_response`` are
  no-ops in 5.2.5, so parameters reach boto3 in PascalCase and fail, and an ``aws-sdk`` result
  keeps boto3's casing (``executions``, where Step Functions gives ``Executions``); LocalStack's
  botocore-model-based normalisation is restored here for the ECS and ``aws-sdk`` integrations;
- RunTask's ``CapacityProviderStrategy``, which moto 5.2.5 drops before the call, kept;
- a script of what each task launch does (run and succeed, fail to place, fail to start, exit
  non-zero, time out). Every launch's parameters are first checked against the ECS RunTask API
  model (botocore's own validator), so a misspelt or misplaced parameter fails the test. A
  successful task is simulated rather than run by moto's ECS backend, whose awsvpc support
  fails in 5.2.5 (``'NetworkInterface' object has no attribute 'private_dns_name'``);
- the alert Lambda invoke routed to the real handler in ``lambda_src`` (or to a scripted fault,
  per alert channel: the channels' branches run in parallel threads), recording which function
  the definition named;
- virtual time: the retrier's ``time.sleep`` records the wait instead of sleeping;
- each definition parsed once: moto parses the definition again for every execution (with an
  ANTLR parser, about 70 ms for ours); parsing once took ``test_execution.py`` from 21.0 s to
  16.4 s. The parsed program keeps no state of its own (an execution's state lives in its
  ``Environment``), so executions share it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import botocore.session
import moto
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator
from moto import mock_aws
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
    _SUPPORTED_API_PARAM_BINDINGS,
    StateTaskServiceEcs,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

# The hooks below replace private parts of moto's Step Functions interpreter, as they are in this
# version: another one fails here, with this message, not deep inside a test.
MOTO_VERSION = "5.2.5"
if moto.__version__ != MOTO_VERSION:
    raise ImportError(
        f"tests/sfn_harness.py patches moto {MOTO_VERSION}'s internals, and moto {moto.__version__} is installed: "
        "check each hook against the new version, then change MOTO_VERSION (and the Pipfile pin)"
    )

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
ALERT_FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:alert"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/jobs"
JOB_LOG_GROUP = "/ecs/job"
SCHEDULED_TIME = "2026-11-28T08:00:00Z"
# The "Scheduled Event" an EventBridge schedule rule emits, and what the rule target's input
# transformer makes of it (constructs_lib.documents.run_input; test_schedule_delivery.py runs the
# synthesized transformer on this event in moto's EventBridge and checks that it gives this).
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
SCHEDULED_EVENT = {
    "version": "0",
    "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": ACCOUNT,
    "time": SCHEDULED_TIME,
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/jobs-job"],
    "detail": {},
}
RULE_INPUT = {"job": "job", "scheduledTime": SCHEDULED_TIME}


# --- what a launch or an alert does -------------------------------------------------------------


@dataclass(frozen=True)
class Succeed:
    """The task runs and its container exits 0."""


@dataclass(frozen=True)
class Hold:
    """The task runs until ``release`` is set (``running`` says when it has started), then exits 0."""

    running: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class ByCapacity:
    """What a launch does depends on where it is launched: ``outcomes`` by ``FARGATE`` (the launch
    type) or the capacity provider the strategy names."""

    outcomes: dict[str, Any]


def launched_on(parameters: dict[str, Any]) -> str:
    strategy = parameters.get("capacityProviderStrategy")
    return strategy[0]["capacityProvider"] if strategy else parameters["launchType"]


@dataclass(frozen=True)
class Raise:
    """The integration raises ``error`` with ``cause`` (a placement failure, an ECS API error)."""

    error: str
    cause: str = "RunTask failed"


def stopped_task(*, stop_code: str, stopped_reason: str, exit_code: int | None) -> str:
    """The Cause Step Functions reports for a stopped task: DescribeTasks' task, compact JSON."""
    container: dict[str, Any] = {"Name": "app", "LastStatus": "STOPPED"}
    if exit_code is not None:
        container["ExitCode"] = exit_code
    else:
        container["Reason"] = "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
    task = {
        "TaskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/cluster/0123456789abcdef",
        "LastStatus": "STOPPED",
        "StopCode": stop_code,
        "StoppedReason": stopped_reason,
        "Containers": [container],
    }
    return json.dumps(task, separators=(",", ":"))


FAILED_TO_START = Raise(
    "States.TaskFailed",
    stopped_task(
        stop_code="TaskFailedToStart",
        stopped_reason="CannotPullContainerError: pull image manifest has been retried 5 time(s)",
        exit_code=None,
    ),
)
CONTAINER_EXIT_1 = Raise(
    "States.TaskFailed",
    stopped_task(
        stop_code="EssentialContainerExited",
        stopped_reason="Essential container in task exited",
        exit_code=1,
    ),
)
EXIT_75 = Raise(
    "States.TaskFailed",
    stopped_task(
        stop_code="EssentialContainerExited", stopped_reason="Essential container in task exited", exit_code=75
    ),
)
SPOT_INTERRUPTED = Raise(
    "States.TaskFailed",
    stopped_task(
        stop_code="SpotInterruption",
        stopped_reason="Your Spot Task was interrupted.",
        exit_code=143,
    ),
)
NO_CAPACITY = Raise(
    "ECS.AmazonECSException",
    "Capacity is unavailable at this time. Please try again later or in a different availability zone",
)
TIMEOUT = Raise("States.Timeout", "")


@dataclass(frozen=True)
class LambdaFault:
    """The Lambda service answers with ``code`` (surfaces as ``Lambda.<code>``)."""

    code: str = "ServiceException"


@dataclass
class Run:
    """What one execution did."""

    status: str
    error: str | None
    cause: str | None
    launches: list[dict[str, Any]]
    alerts: list[dict[str, Any]]  # every invocation's payload, all channels
    alert_results: list[Any]  # what each invocation that returned gave back
    waits: list[float]
    execution_arn: str = ""
    alert_functions: list[str] = field(default_factory=list)  # FunctionName of each invoke
    state_machine_arn: str = ""
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def alerts_to(self, channel: str) -> list[dict[str, Any]]:
        """The payloads of the invocations for ``channel``."""
        return [payload for payload in self.alerts if payload.get("channel") == channel]


# --- the moto fixes and hooks -------------------------------------------------------------------

_BOTO_SESSION = botocore.session.get_session()


def _operation_model(service: str, action: str):
    model = _BOTO_SESSION.get_service_model(service)
    for name in model.operation_names:
        if botocore.xform_name(name) == action:
            return model.operation_model(name)
    raise KeyError(f"{service} has no operation {action}")


def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    service = self._get_boto_service_name(boto_service_name)
    action = self._get_boto_service_action(service_action_name)
    self._to_boto_request(parameters, _operation_model(service, action).input_shape)


def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
    service = self._get_boto_service_name(boto_service_name)
    action = self._get_boto_service_action(service_action_name)
    shape = _operation_model(service, action).output_shape
    if shape is not None:
        self._from_boto_response(response, shape)


# moto keeps only the RunTask parameters it lists and drops the rest, CapacityProviderStrategy and
# EnableECSManagedTags among them, which Step Functions passes to ECS:
# https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html
_RUN_TASK_PARAMETERS = {*_SUPPORTED_API_PARAM_BINDINGS["runtask"], "CapacityProviderStrategy", "EnableECSManagedTags"}


def _supported_ecs_parameters(self) -> set[str] | None:
    return _RUN_TASK_PARAMETERS if self.resource.api_action.lower() == "runtask" else None


def _check_run_task(parameters: dict) -> None:
    report = ParamValidator().validate(parameters, _operation_model("ecs", "run_task").input_shape)
    if report.has_errors():
        raise AssertionError(f"RunTask parameters do not fit the ECS API: {report.generate_report()}")


def _stopped_ok(cluster_arn: str, index: int) -> dict[str, Any]:
    return {
        "TaskArn": f"{cluster_arn.replace(':cluster/', ':task/')}/task{index}",
        "ClusterArn": cluster_arn,
        "LastStatus": "STOPPED",
        "StopCode": "EssentialContainerExited",
        "StoppedReason": "Essential container in task exited",
        "Containers": [{"Name": "app", "LastStatus": "STOPPED", "ExitCode": 0}],
    }


def _failure(env, error: str, cause: str) -> FailureEventException:
    if error.startswith("States."):
        name = StatesErrorName(typ=StatesErrorNameType[error.replace(".", "", 1)])
    else:
        name = CustomErrorName(error)
    details = TaskFailedEventDetails(error=error, cause=cause)
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=name,
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=details),
        )
    )


@contextmanager
def _hooks(launch_script: list, alert_script: dict[str, list], run: Run, handler: Callable) -> Iterator[None]:
    lock = threading.Lock()

    def eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        index = len(run.launches)
        run.launches.append(json.loads(json.dumps(normalised_parameters)))
        _check_run_task(normalised_parameters)
        outcome = launch_script[min(index, len(launch_script) - 1)]
        if isinstance(outcome, ByCapacity):
            outcome = outcome.outcomes[launched_on(normalised_parameters)]
        if isinstance(outcome, Raise):
            raise _failure(env, outcome.error, outcome.cause)
        if isinstance(outcome, Hold):
            outcome.running.set()
            if not outcome.release.wait(timeout=30):
                raise AssertionError("a held task was never released")
        task = _stopped_ok(normalised_parameters["cluster"], index)
        env.stack.append({"Tasks": [task], "Failures": []})

    def build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        submitted = env.stack.pop()
        return lambda: submitted["Tasks"][0]

    def invoke_lambda(parameters, region, state_credentials):
        payload = parameters["Payload"]
        payload = json.loads(payload) if isinstance(payload, (bytes, str)) else payload
        channel = payload.get("channel") if isinstance(payload, dict) else None
        with lock:
            index = len(run.alerts_to(channel))
            run.alert_functions.append(parameters["FunctionName"])
            run.alerts.append(payload)
        script = alert_script.get(channel, [])
        outcome = script[min(index, len(script) - 1)] if script else None
        if isinstance(outcome, LambdaFault):
            raise ClientError(
                {
                    "Error": {"Code": outcome.code, "Message": "injected fault"},
                    "ResponseMetadata": {"HTTPStatusCode": 500, "RequestId": "test"},
                },
                "Invoke",
            )
        try:
            result = handler(payload, None)
        except Exception as error:  # what the Lambda runtime reports for an unhandled exception
            failure = {"errorType": type(error).__name__, "errorMessage": str(error)}
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": failure}
        with lock:
            run.alert_results.append(result)
        return {"StatusCode": 200, "Payload": result}

    class VirtualTime:
        @staticmethod
        def sleep(seconds: float) -> None:
            with lock:
                run.waits.append(seconds)

    with (
        mock.patch.object(StateTaskServiceEcs, "_normalise_parameters", _normalise_parameters),
        mock.patch.object(StateTaskServiceEcs, "_get_supported_parameters", _supported_ecs_parameters),
        mock.patch.object(StateTaskServiceAwsSdk, "_normalise_parameters", _normalise_parameters),
        mock.patch.object(StateTaskServiceAwsSdk, "_normalise_response", _normalise_response),
        mock.patch.object(StateTaskServiceEcs, "_eval_service_task", eval_service_task),
        mock.patch.object(StateTaskServiceEcs, "_build_sync_resolver", build_sync_resolver),
        mock.patch.object(lambda_eval_utils, "_invoke_lambda_function", invoke_lambda),
        mock.patch.object(retrier_decl, "time", VirtualTime),
    ):
        yield


# --- Terraform references -> moto resources -----------------------------------------------------

PLAUSIBLE_VALUES = {
    ("data.aws_partition", "partition"): "aws",
    ("aws_ecs_cluster", "arn"): CLUSTER_ARN,
    ("aws_ecs_task_definition", "arn"): f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/job:1",
    ("aws_subnet", "id"): "subnet-0123456789abcdef0",
    ("aws_security_group", "id"): "sg-0123456789abcdef0",
    ("aws_lambda_function", "arn"): ALERT_FUNCTION_ARN,
    ("aws_cloudwatch_log_group", "name"): JOB_LOG_GROUP,
}

_REFERENCE = re.compile(r"\$\{((?:data\.)?[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")


def resolve_references(definition: str, values: dict[tuple[str, str], str]) -> str:
    """Replace each ``${type.name.attribute}`` by ``values[(type, attribute)]``."""

    def replace(match: re.Match) -> str:
        key = (match.group(1), match.group(3))
        if key not in values:
            raise KeyError(f"no test value for Terraform reference {match.group(0)}")
        return values[key]

    return _REFERENCE.sub(replace, definition)


_PROGRAMS: dict[str, Any] = {}


def _parsed_once(worker: ExecutionWorker) -> Any:
    """``ExecutionWorker._get_evaluation_entrypoint``, parsing each definition once a session."""
    definition = worker._evaluation_details.state_machine_details.definition
    if definition not in _PROGRAMS:
        _PROGRAMS[definition] = AmazonStateLanguageParser.parse(definition)[0]
    return _PROGRAMS[definition]


class Sandbox:
    """One moto account for a test session: state machines are created once per definition, and
    each ``execute`` runs a fresh execution with its own scripts."""

    def __init__(self) -> None:
        config = {"stepfunctions": {"execute_state_machine": True}}
        self._mock = mock_aws(config=config)
        self._machines: dict[str, str] = {}
        self._executions = 0

    def __enter__(self) -> Sandbox:
        self._mock.start()
        self._parse_once = mock.patch.object(ExecutionWorker, "_get_evaluation_entrypoint", _parsed_once)
        self._parse_once.start()
        self._sfn = boto3.client("stepfunctions", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        self._role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._parse_once.stop()
        self._mock.stop()

    def _machine(self, definition: str) -> str:
        if definition not in self._machines:
            resolved = resolve_references(definition, PLAUSIBLE_VALUES)
            name = f"job-{len(self._machines)}"
            machine = self._sfn.create_state_machine(name=name, definition=resolved, roleArn=self._role)
            self._machines[definition] = machine["stateMachineArn"]
        return self._machines[definition]

    def execute(
        self,
        definition: str,
        *,
        launches: list,
        alerts: dict[str, list] | None = None,
        handler: Callable,
        execution_input: dict[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> Run:
        """Execute ``definition`` (with Terraform references) once, following the scripts:
        ``launches`` for the task launches in order, ``alerts`` per alert channel."""
        with self.running(
            definition,
            launches=launches,
            alerts=alerts,
            handler=handler,
            execution_input=execution_input,
            timeout=timeout,
        ) as run:
            pass
        return run

    @contextmanager
    def running(
        self,
        definition: str,
        *,
        launches: list,
        alerts: dict[str, list] | None = None,
        handler: Callable,
        execution_input: dict[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> Iterator[Run]:
        """Start an execution and yield its ``Run`` while it runs (a ``Hold`` launch keeps it
        running); on leaving, wait until it ends and fill in the ``Run``. Executions started inside
        the block follow their own scripts."""
        run = Run(status="", error=None, cause=None, launches=[], alerts=[], alert_results=[], waits=[])
        run.state_machine_arn = self._machine(definition)
        self._executions += 1
        with _hooks(launches, alerts or {}, run, handler):
            execution = self._sfn.start_execution(
                stateMachineArn=run.state_machine_arn,
                name=f"run-{self._executions}",
                input=json.dumps(RULE_INPUT if execution_input is None else execution_input),
            )
            run.execution_arn = execution["executionArn"]
            yield run
            deadline = time.monotonic() + timeout
            while True:
                described = self._sfn.describe_execution(executionArn=run.execution_arn)
                if described["status"] != "RUNNING":
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"execution still running after {timeout} s")
                time.sleep(0.005)
        run.status = described["status"]
        run.error = described.get("error")
        run.cause = described.get("cause")
        run.history = self._sfn.get_execution_history(executionArn=run.execution_arn)["events"]
