"""The task options (issue: tags, Graviton, disk, EFS, env files, stop grace, the task
definition's size): each key's validation, what it synthesizes, and what it grants."""

from __future__ import annotations

import json

import pytest
from stack_helpers import definition, job_resource, policy, resources

from constructs_lib.documents.iam import render_statements
from constructs_lib.model.config import ConfigError, parse_config
from constructs_lib.model.tags import default_tags, job_tags
from constructs_lib.model.task_definition_size import (
    STACK_RESERVE_BYTES,
    TASK_DEFINITION_QUOTA_BYTES,
    job_written_bytes,
)

STACK = '[stack]\nregion = "eu-west-1"\n'
JOB = (
    '[[jobs]]\nname = "report"\nschedule = "rate(1 day)"\nimage = "alpine"\ncommand = ["true"]\n'
    "cpu = 256\nmemory = 512\n"
)
EXAMPLE = "graviton-efs-tagged"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.problems


def job_problems(lines: str, *, stack: str = STACK) -> list[str]:
    return problems(stack + JOB + lines)


# --- validation: every rule, with its message ---------------------------------------------------


def test_arm64_is_refused_with_fargate_spot_and_accepted_without():
    assert job_problems('architecture = "ARM64"\ncapacity = ["FARGATE", "FARGATE_SPOT"]\n') == [
        "jobs[0] (report).architecture: 'ARM64' cannot run on FARGATE_SPOT: Fargate Spot runs X86_64 tasks only "
        "(allowed: X86_64 with FARGATE_SPOT, or a capacity without it) "
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html"
    ]
    assert parse_config(STACK + JOB + 'architecture = "ARM64"\n').jobs[0].architecture == "ARM64"
    spot = 'architecture = "X86_64"\ncapacity = ["FARGATE_SPOT", "FARGATE"]\n'
    assert parse_config(STACK + JOB + spot).jobs[0].architecture == "X86_64"
    assert job_problems('architecture = "arm64"\n') == [
        "jobs[0] (report).architecture: \"arm64\" is not an allowed value (allowed: 'X86_64' or 'ARM64')"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("ephemeral_storage_gib = 20", "ephemeral_storage_gib: 20 is out of range (allowed: at least 21)"),
        ("ephemeral_storage_gib = 201", "ephemeral_storage_gib: 201 is out of range (allowed: at most 200)"),
        ("stop_timeout_seconds = 0", "stop_timeout_seconds: 0 is out of range (allowed: at least 1)"),
        ("stop_timeout_seconds = 121", "stop_timeout_seconds: 121 is out of range (allowed: at most 120)"),
    ],
)
def test_disk_and_stop_grace_ranges(line, message):
    assert job_problems(line + "\n") == [f"jobs[0] (report).{message}"]


def test_environment_files_are_s3_env_objects_each_once_at_most_ten():
    key = "jobs[0] (report).environment_files"
    assert job_problems('environment_files = ["arn:aws:s3:::conf/app.txt"]\n') == [
        f"{key}: 'arn:aws:s3:::conf/app.txt' is not the ARN of an S3 object whose name ends in .env "
        "(allowed: 'arn:aws:s3:::<bucket>/<key>.env')"
    ]
    twice = '"arn:aws:s3:::conf/a.env", "arn:aws:s3:::conf/a.env"'
    assert job_problems(f"environment_files = [{twice}]\n") == [
        f"{key}: ['arn:aws:s3:::conf/a.env', 'arn:aws:s3:::conf/a.env'] names a file twice (allowed: each once)"
    ]
    eleven = ", ".join(f'"arn:aws:s3:::conf/{n}.env"' for n in range(11))
    assert job_problems(f"environment_files = [{eleven}]\n") == [
        f"{key}: 11 files (allowed: at most 10, ECS's limit per container)"
    ]


def test_volumes_are_checked_field_by_field():
    volume = '[[jobs.volumes]]\nfile_system_id = "{fs}"\ncontainer_path = "{path}"\n'
    assert job_problems(volume.format(fs="fs-1", path="/data") + 'access_point_id = "ap-1"\n') == [
        "jobs[0] (report).volumes[0].file_system_id: 'fs-1' is not an EFS file system id (allowed: 'fs-' and hex "
        "digits, as fs-0123abcd)",
        "jobs[0] (report).volumes[0].access_point_id: 'ap-1' is not an EFS access point id (allowed: 'fsap-' and hex "
        "digits, as fsap-0123abcd)",
    ]
    for path in ("/tmp", "/usr/local", "data", "/"):
        assert job_problems(volume.format(fs="fs-0123abcd", path=path)) == [
            f"jobs[0] (report).volumes[0].container_path: {path!r} is not a folder the volume may be mounted at "
            "(allowed: an absolute path of letters, digits, '_', '.', '-', outside /bin, /dev, /etc, /lib, /lib64, "
            "/proc, /sbin, /sys, /tmp, /usr, for example '/data')"
        ]
    two = volume.format(fs="fs-0123abcd", path="/data") + volume.format(fs="fs-0123abce", path="/data")
    assert job_problems(two) == [
        "jobs[0] (report).volumes: '/data' is the container_path of two volumes (allowed: each path once)"
    ]


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ('{ "" = "x" }', "key '' is not a tag key (allowed: 1 to 128 letters, digits, spaces and + - = . _ : / @)"),
        (f'{{ {"k" * 129} = "x" }}', f"key '{'k' * 129}' is not a tag key (allowed: 1 to 128 letters, digits, "
         "spaces and + - = . _ : / @)"),
        ('{ "team!" = "x" }', "key 'team!' is not a tag key (allowed: 1 to 128 letters, digits, spaces and "
         "+ - = . _ : / @)"),
        (f'{{ team = "{"v" * 257}" }}', f"team = '{'v' * 40}'... is not a tag value (allowed: at most 256 letters, "
         "digits, spaces and + - = . _ : / @)"),
        ('{ "AWS:team" = "x" }', "AWS:team = 'x' starts with 'AWS:' (allowed: no 'aws:' prefix, AWS's own)"),
        ('{ team = "aws:x" }', "team = 'aws:x' starts with 'aws:' (allowed: no 'aws:' prefix, AWS's own)"),
        ('{ Stack = "x" }', "key 'Stack' is set by the stack itself (allowed: any key but ManagedBy, Stack, "
         "scheduled-job)"),
        ('{ "Scheduled-Job" = "x" }', "key 'Scheduled-Job' is set by the stack itself (allowed: any key but "
         "ManagedBy, Stack, scheduled-job)"),
    ],
)  # fmt: skip
def test_tags_follow_awss_rules_on_the_stack_and_on_a_job(tags, message):
    assert job_problems(f"tags = {tags}\n") == [f"jobs[0] (report).tags: {message}"]
    stack = STACK + f"tags = {tags}\n"
    assert problems(stack + JOB) == [f"stack.tags: {message}"]


def test_at_most_50_tags_per_resource_counting_the_stacks_own_and_the_job_tag():
    stack_tags = ", ".join(f"s{n} = 'v'" for n in range(40))
    job_tags_ = ", ".join(f"j{n} = 'v'" for n in range(7))  # 2 + 1 + 40 + 7 = 50
    fits = STACK + f"tags = {{ {stack_tags} }}\n" + JOB + f"tags = {{ {job_tags_} }}\n"
    assert parse_config(fits).jobs[0].tags is not None and len(parse_config(fits).jobs[0].tags) == 7
    over = fits.replace("j0 = 'v'", "j0 = 'v', j7 = 'v'")
    assert problems(over) == [
        "jobs[0] (report).tags: 51 tags on each of the job's resources, counting the stack's 2 and 'scheduled-job' "
        "(allowed: at most 50, AWS's limit per resource)"
    ]
    # A job's tag that replaces a stack tag of the same key does not count twice.
    assert parse_config(over.replace("j7 = 'v'", "s0 = 'job'")).jobs[0].tags["s0"] == "job"


def test_job_tags_are_none_when_nothing_is_tagged_so_the_stack_stays_as_it_was():
    assert job_tags("x", stack_tags=None, tags=None) is None
    assert job_tags("x", stack_tags={}, tags=None) == {"scheduled-job": "x"}
    assert job_tags("x", stack_tags=None, tags={"a": "1"}) == {"scheduled-job": "x", "a": "1"}
    assert default_tags("media") == {"ManagedBy": "cdktf", "Stack": "media"}


def test_a_task_definition_over_ecs_size_quota_is_refused_naming_its_largest_field():
    big = "x" * (300 * 1024)
    assert job_problems(f'environment = {{ PAYLOAD = "{big}" }}\n') == [
        # '[{"name":"PAYLOAD","value":"' (28 bytes), the value, '"}]' (3); the other fields as JSON: the
        # command ["true"] (8), the image "alpine" (8), four empty lists (8) and the two of volumes (4);
        # then the 4,096 bytes of reserve.
        "jobs[0] (report).environment: the task definition would take about 311,353 bytes, 307,231 of them here "
        "(allowed: at most 65,536, ECS's task definition size quota; put large values in an S3 object the job "
        "reads, or in environment_files)"
    ]
    # Just under the quota is accepted; a byte more is not.
    config = parse_config(STACK + JOB + 'environment = { PAYLOAD = "" }\n')
    room = TASK_DEFINITION_QUOTA_BYTES - STACK_RESERVE_BYTES - sum(job_written_bytes(config.jobs[0]).values())
    fits = STACK + JOB + f'environment = {{ PAYLOAD = "{"x" * room}" }}\n'
    assert parse_config(fits).jobs[0].environment["PAYLOAD"] == "x" * room
    assert len(job_problems(f'environment = {{ PAYLOAD = "{"x" * (room + 1)}" }}\n')) == 1


def test_the_reserve_covers_what_the_stack_writes_around_a_job_with_the_longest_names(example_stacks):
    """The synthesized task definition of the example, its names at their longest, less what the
    job writes, fits in the reserve the size check adds."""
    stack = example_stacks[EXAMPLE]
    _, body = job_resource(stack, "aws_ecs_task_definition", "transcode", "task_task-definition")
    config_path = __import__("conftest").ROOT / "examples" / f"{EXAMPLE}.toml"
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
