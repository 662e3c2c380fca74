"""The task options' validation (tags, architecture, disk, stop grace, environment files, EFS
volumes, the task definition's size): every rule, with its message. Pure: no synth, so that
`make mutate` runs it against the model's modules. What the options synthesize and grant:
tests/test_task_options.py."""

from __future__ import annotations

import pytest

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


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.problems


def job_problems(lines: str, *, stack: str = STACK) -> list[str]:
    return problems(stack + JOB + lines)


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
    assert parse_config(fits).jobs[0].tags == {f"j{n}": "v" for n in range(7)}
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


def test_the_buckets_of_the_environment_files_each_once_in_order():
    from constructs_lib.model.task_options import environment_file_buckets

    assert environment_file_buckets(
        ("arn:aws:s3:::conf/a.env", "arn:aws:s3:::other/x/b.env", "arn:aws:s3:::conf/c/d.env",
         "arn:aws-cn:s3:::cn-conf/e.env")
    ) == ["arn:aws:s3:::conf", "arn:aws:s3:::other", "arn:aws-cn:s3:::cn-conf"]  # fmt: skip


def test_what_a_job_writes_is_measured_field_by_field_as_ecs_receives_it():
    text = (
        STACK + JOB.replace('command = ["true"]', 'command = ["é"]')
        + 'environment = { A = "1" }\nsecrets = { S = "arn:aws:ssm:eu-west-1:123456789012:parameter/p" }\n'
        + 'environment_files = ["arn:aws:s3:::bkt/a.env"]\ntags = { t = "v" }\n'
        + '[[jobs.volumes]]\nfile_system_id = "fs-0123abcd"\ncontainer_path = "/d"\n'
    )  # fmt: skip
    written = job_written_bytes(parse_config(text).jobs[0])
    assert written == {
        "environment": len('[{"name":"A","value":"1"}]'),
        "secrets": len('[{"name":"S","valueFrom":"arn:aws:ssm:eu-west-1:123456789012:parameter/p"}]'),
        "command": len('["é"]'.encode()),  # bytes, not characters: é is two
        "image": len('"alpine"'),
        "environment_files": len('[{"value":"arn:aws:s3:::bkt/a.env","type":"s3"}]'),
        "volumes": 2
        * len('[{"file_system_id":"fs-0123abcd","container_path":"/d","access_point_id":null,"read_only":false}]'),
        "tags": len('[{"key":"t","value":"v"}]'),
    }


@pytest.mark.parametrize("path", ["/data", "/mnt/data-1.x", "/usrx", "/var/lib"])
def test_a_volume_may_be_mounted_outside_the_system_folders(path):
    volume = f'[[jobs.volumes]]\nfile_system_id = "fs-0123abcd"\ncontainer_path = "{path}"\n'
    assert parse_config(STACK + JOB + volume).jobs[0].volumes[0].container_path == path


def test_an_access_point_and_read_only_are_kept():
    volume = (
        '[[jobs.volumes]]\nfile_system_id = "fs-0123abcd"\ncontainer_path = "/d"\n'
        'access_point_id = "fsap-0123abcd"\nread_only = true\n'
    )
    (parsed,) = parse_config(STACK + JOB + volume).jobs[0].volumes
    assert (parsed.file_system_id, parsed.access_point_id, parsed.read_only) == ("fs-0123abcd", "fsap-0123abcd", True)


def test_the_limits_themselves_are_allowed():
    key, value = "k" * 128, "v" * 256
    assert parse_config(STACK + JOB + f'tags = {{ {key} = "{value}" }}\n').jobs[0].tags == {key: value}
    ten = ", ".join(f'"arn:aws:s3:::conf/{n}.env"' for n in range(10))
    assert len(parse_config(STACK + JOB + f"environment_files = [{ten}]\n").jobs[0].environment_files) == 10
    assert parse_config(STACK + JOB + "ephemeral_storage_gib = 200\nstop_timeout_seconds = 120\n").jobs[0].model_dump(
        include={"ephemeral_storage_gib", "stop_timeout_seconds"}
    ) == {"ephemeral_storage_gib": 200, "stop_timeout_seconds": 120}
    # A short value is shown whole, without an ellipsis.
    assert job_problems('tags = { team = "a!" }\n') == [
        "jobs[0] (report).tags: team = 'a!' is not a tag value (allowed: at most 256 letters, digits, spaces and "
        "+ - = . _ : / @)"
    ]
