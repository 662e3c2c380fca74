"""The task options (tags, Graviton, disk, EFS, env files, stop grace, the task definition's
size): what each synthesizes and grants, on the example that sets them all. Their validation:
tests/test_task_options_config.py."""

from __future__ import annotations

import json

from conftest import ROOT
from stack_helpers import definition, job_resource, policy, resources

from constructs_lib.documents.iam import render_statements
from constructs_lib.model.config import parse_config
from constructs_lib.model.task_definition_size import (
    STACK_RESERVE_BYTES,
    job_written_bytes,
)

EXAMPLE = "graviton-efs-tagged"


def test_the_reserve_covers_what_the_stack_writes_around_a_job_with_the_longest_names(example_stacks):
    """The synthesized task definition of the example, its names at their longest, less what the
    job writes, fits in the reserve the size check adds."""
    stack = example_stacks[EXAMPLE]
    _, body = job_resource(stack, "aws_ecs_task_definition", "transcode", "task_task-definition")
    config_path = ROOT / "examples" / f"{EXAMPLE}.toml"
    job = parse_config(config_path.read_text()).jobs[0]
    # What ECS receives: the containers and the task's own fields; role ARNs at their longest
    # (partition aws-us-gov, a 64-character role name).
    arn = "arn:aws-us-gov:iam::123456789012:role/" + "r" * 64
    registration = {
        "family": "f" * 255,
        "containerDefinitions": json.loads(body["container_definitions"]),
        "cpu": body["cpu"],
        "memory": body["memory"],
        "networkMode": body["network_mode"],
        "requiresCompatibilities": body["requires_compatibilities"],
        "executionRoleArn": arn,
        "taskRoleArn": arn,
        "volumes": body["volume"],
        "runtimePlatform": body["runtime_platform"],
        "ephemeralStorage": body["ephemeral_storage"],
        "tags": [{"key": key, "value": value} for key, value in body["tags"].items()],
    }
    total = len(json.dumps(registration, separators=(",", ":")).encode())
    stack_part = total - sum(job_written_bytes(job).values())
    assert 0 < stack_part < STACK_RESERVE_BYTES


# --- synthesis: the example sets every option ----------------------------------------------------


def test_the_example_task_definition_carries_each_option(example_stacks):
    stack = example_stacks[EXAMPLE]
    _, body = job_resource(stack, "aws_ecs_task_definition", "transcode", "task_task-definition")
    assert body["runtime_platform"] == {"cpu_architecture": "ARM64", "operating_system_family": "LINUX"}
    assert body["ephemeral_storage"] == {"size_in_gib": 100}
    assert body["volume"] == [
        {"name": "scratch"},
        {
            "name": "efs-0",
            "efs_volume_configuration": {
                "file_system_id": "fs-0a1b2c3d4e5f60718",
                "transit_encryption": "ENABLED",
                "authorization_config": {"access_point_id": "fsap-0a1b2c3d4e5f60719", "iam": "ENABLED"},
            },
        },
    ]
    (container,) = json.loads(body["container_definitions"])
    assert container["stopTimeout"] == 90
    assert container["environmentFiles"] == [
        {"type": "s3", "value": "arn:aws:s3:::media-config-123456789012/transcode/prod.env"}
    ]
    assert container["mountPoints"] == [
        {"containerPath": "/tmp", "readOnly": False, "sourceVolume": "scratch"},
        {"containerPath": "/media", "readOnly": False, "sourceVolume": "efs-0"},
    ]
    assert container["readonlyRootFilesystem"] is True  # the volume is its own mount
    assert body["tags"] == {"owner": "video-pipeline", "scheduled-job": "transcode"}


def test_a_job_without_options_synthesizes_none_of_them(default_stack):
    (body,) = resources(default_stack, "aws_ecs_task_definition").values()
    assert {"runtime_platform", "ephemeral_storage", "tags"} & set(body) == set()
    assert body["volume"] == [{"name": "scratch"}]
    (container,) = json.loads(body["container_definitions"])
    assert {"stopTimeout", "environmentFiles"} & set(container) == set()
    (machine,) = resources(default_stack, "aws_sfn_state_machine").values()
    parameters = json.loads(machine["definition"])["States"]["RunJob"]["Branches"][0]["States"]["RunTask"]
    assert {"PropagateTags", "EnableECSManagedTags"} & set(parameters["Parameters"]) == set()
    assert default_stack["provider"]["aws"][0]["default_tags"] == [
        {"tags": {"ManagedBy": "cdktf", "Stack": "scheduled-jobs"}}
    ]


def test_stack_tags_are_the_providers_default_tags_and_job_resources_add_theirs(example_stacks):
    stack = example_stacks[EXAMPLE]
    assert stack["provider"]["aws"][0]["default_tags"] == [
        {"tags": {"ManagedBy": "cdktf", "Stack": "media", "team": "media", "cost-center": "4711"}}
    ]
    job_tags_ = {"owner": "video-pipeline", "scheduled-job": "transcode"}
    tagged, untagged = set(), set()
    for kind, items in stack["resource"].items():
        for name, body in items.items():
            if name.startswith("job-transcode_"):
                (tagged if body.get("tags") == job_tags_ else untagged).add(kind)
    assert tagged == {
        "aws_cloudwatch_event_rule",
        "aws_cloudwatch_log_group",
        "aws_cloudwatch_metric_alarm",
        "aws_ecs_task_definition",
        "aws_iam_role",
        "aws_security_group",
        "aws_sfn_state_machine",
        "aws_vpc_security_group_egress_rule",
    }
    # These take no tags in the AWS provider.
    assert untagged == {"aws_cloudwatch_event_target", "aws_iam_role_policy", "aws_lambda_permission"}


def test_runs_launch_tasks_that_carry_the_tags_and_may_tag_them_on_creation_only(example_stacks):
    stack = example_stacks[EXAMPLE]
    run_task = definition(stack, "transcode")["States"]["RunJob"]["Branches"][0]["States"]["RunTask"]
    assert run_task["Parameters"]["PropagateTags"] == "TASK_DEFINITION"
    assert run_task["Parameters"]["EnableECSManagedTags"] is True
    _, role_policy = job_resource(stack, "aws_iam_role_policy", "transcode", "state-machine_role_policy")
    (tagging,) = [s for s in policy(role_policy)["Statement"] if s["Sid"] == "TagJobTask"]
    (tracking,) = [s for s in policy(role_policy)["Statement"] if s["Sid"] == "TrackJobTask"]
    assert tagging == {
        "Sid": "TagJobTask",
        "Effect": "Allow",
        "Action": ["ecs:TagResource"],
        "Resource": tracking["Resource"],  # the cluster's tasks
        "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
    }


def test_the_execution_role_reads_exactly_the_env_files_and_their_buckets_location(example_stacks):
    stack = example_stacks[EXAMPLE]
    _, role_policy = job_resource(stack, "aws_iam_role_policy", "transcode", "task_execution-role_policy")
    statements = {s["Sid"]: s for s in policy(role_policy)["Statement"]}
    assert statements["ReadEnvironmentFiles"] == {
        "Sid": "ReadEnvironmentFiles",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::media-config-123456789012/transcode/prod.env"],
    }
    assert statements["LocateEnvironmentFiles"] == {
        "Sid": "LocateEnvironmentFiles",
        "Effect": "Allow",
        "Action": ["s3:GetBucketLocation"],
        "Resource": ["arn:aws:s3:::media-config-123456789012"],
    }


def test_the_task_role_mounts_and_writes_that_file_system_through_its_access_point_only(example_stacks):
    stack = example_stacks[EXAMPLE]
    _, role_policy = job_resource(stack, "aws_iam_role_policy", "transcode", "task_task-role_policy")
    (statement,) = policy(role_policy)["Statement"]
    prefix = stack_arn_prefix(statement["Resource"][0])
    assert statement == {
        "Sid": "MountFileSystem0",
        "Effect": "Allow",
        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        "Resource": [f"{prefix}file-system/fs-0a1b2c3d4e5f60718"],
        "Condition": {
            "ArnEquals": {"elasticfilesystem:AccessPointArn": f"{prefix}access-point/fsap-0a1b2c3d4e5f60719"}
        },
    }


def stack_arn_prefix(arn: str) -> str:
    """``arn:<partition>:elasticfilesystem:<region>:<account>:`` as synthesized (Terraform references)."""
    head, _, _ = arn.rpartition(":")
    assert head.split(":")[2] == "elasticfilesystem"
    return head + ":"


def test_a_read_only_volume_without_an_access_point_may_only_mount():
    assert render_statements("efs:mountReadOnly", file_system="arn:aws:elasticfilesystem:r:1:file-system/fs-1") == [
        {
            "Sid": "MountFileSystem",
            "Effect": "Allow",
            "Action": ["elasticfilesystem:ClientMount"],
            "Resource": ["arn:aws:elasticfilesystem:r:1:file-system/fs-1"],
        }
    ]


def test_the_security_group_an_efs_mount_target_must_let_in_is_an_output(example_stacks, default_stack):
    value = example_stacks[EXAMPLE]["output"]["jobs"]["value"]["transcode"]
    (group,) = resources(example_stacks[EXAMPLE], "aws_security_group")
    assert value["security_group_id"] == f"${{aws_security_group.{group}.id}}"
    assert "security_group_id" not in default_stack["output"]["jobs"]["value"]["run-once-a-hour"]


def test_the_summary_and_the_review_page_say_what_changes_cost_and_reach(example_stacks):
    from datetime import UTC, datetime
    from pathlib import Path

    from conftest import ROOT

    from constructs_lib.model.config import load_config
    from constructs_lib.reporting.review import review
    from constructs_lib.reporting.summary import summary

    config = load_config(ROOT / "examples" / f"{EXAMPLE}.toml")
    after = datetime(2026, 11, 30, tzinfo=UTC)
    table = summary(config, Path("out"), example_stacks[EXAMPLE], after=after).splitlines()[4]
    assert "2048 cpu / 8192 MiB ARM64" in table
    page = review(example_stacks[EXAMPLE], stack_name="media", region="eu-west-1", after=after).splitlines()
    (task,) = [line for line in page if line.startswith("| task |")]
    assert task.startswith(
        "| task | 2048 cpu / 8192 MiB ARM64, 100 GiB disk; EFS `fs-0a1b2c3d4e5f60718` through "
        "`fsap-0a1b2c3d4e5f60719` at `/media`; image "
    )
    (tags,) = [line for line in page if line.startswith("| tags |")]
    assert tags == (
        "| tags | `owner = video-pipeline`, `scheduled-job = transcode`, over the stack's; "
        "each run's tasks carry them |"
    )
