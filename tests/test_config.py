"""Config validation: every rule has a negative test that matches its message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import DEFAULT_CONFIG

from constructs_lib.model.config import ConfigError, load_config, parse_config
from constructs_lib.model.retry_policy import RetryPolicy

STACK = '[stack]\nregion = "ap-northeast-1"\n'
JOB = """
[[jobs]]
name = "report"
schedule = "cron(0 8 * * ? *)"
image = "alpine:3.20"
command = ["echo", "hi"]
cpu = 256
memory = 512
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="jobs.toml")
    return caught.value.problems


def job_problems(**fields: str) -> list[str]:
    """Problems of the valid job above with ``fields`` replaced (values are TOML source)."""
    lines = []
    for line in JOB.strip().splitlines():
        key = line.split(" = ")[0]
        lines.append(f"{key} = {fields.pop(key)}" if key in fields else line)
    lines += [f"{key} = {value}" for key, value in fields.items()]
    return problems(STACK + "\n".join(lines) + "\n")


def test_the_default_test_config_is_the_original_example():
    config = load_config(DEFAULT_CONFIG)
    assert config.stack.name == "scheduled-jobs"
    assert config.stack.region == "ap-northeast-1"
    assert (config.network.cidr, config.network.max_azs, config.network.nat_gateways) == ("10.0.0.0/16", 2, 1)
    (job,) = config.jobs
    assert job.name == "run-once-a-hour"
    assert job.schedule == "cron(0 * * * ? *)"
    assert job.image == "public.ecr.aws/docker/library/alpine:latest"
    assert job.command == ("echo", "This is scheduled task as run-once-a-hour")
    assert (job.cpu, job.memory, job.log_retention_days) == (256, 512, 7)
    assert job.retry == RetryPolicy(max_attempts=3, interval_seconds=1, backoff_rate=2.0)


def test_defaults():
    config = parse_config(STACK + JOB)
    assert config.stack.name == "scheduled-jobs"
    assert (config.network.cidr, config.network.max_azs, config.network.nat_gateways) == ("10.0.0.0/16", 2, 1)
    assert config.alert.log_retention_days == 30
    (job,) = config.jobs
    assert job.enabled is True
    assert job.environment == {}
    assert job.log_retention_days == 7
    assert job.timeout_seconds == 3600
    assert job.retry is None


def test_value_objects_are_frozen():
    config = parse_config(STACK + JOB)
    with pytest.raises(ValueError, match="frozen"):
        config.jobs[0].cpu = 512


# --- file and syntax -------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml")
    assert caught.value.problems == [f"{tmp_path / 'nope.toml'}: file not found"]


def test_toml_syntax_error_names_the_line():
    assert problems(STACK + "[[jobs]]\nname = report\n") == [
        "jobs.toml: not valid TOML: Invalid value (at line 4, column 8)"
    ]


# --- structure -------------------------------------------------------------------------------------


def test_unknown_key_lists_the_allowed_ones():
    assert job_problems(memroy="512") == [
        "jobs[0] (report).memroy: unknown key (allowed: name, schedule, timezone, flexible_window_minutes, "
        "image, command, "
        "cpu, memory, enabled, grace_minutes, environment, secrets, task_role_policy_arns, task_role_statements, "
        "readonly_root_filesystem, log_retention_days, timeout_seconds, warn_after_seconds, capacity, "
        "concurrency, architecture, ephemeral_storage_gib, stop_timeout_seconds, environment_files, volumes, tags, "
        "retry)"
    ]


def test_unknown_table():
    assert problems(STACK + "[netwrk]\ncidr = '10.0.0.0/16'\n" + JOB) == [
        "netwrk: unknown key (allowed: stack, network, alert, jobs)"
    ]


def test_unknown_key_in_retry_table():
    text = STACK + JOB + "[jobs.retry]\nattempts = 3\n"
    assert problems(text) == [
        "jobs[0] (report).retry.attempts: unknown key (allowed: max_attempts, interval_seconds, backoff_rate, "
        "max_delay_seconds, jitter, rerun_attempts, retry_exit_codes)"
    ]


def test_missing_required_keys():
    assert problems('[[jobs]]\nname = "x"\n') == [
        "stack: required but missing",
        "jobs[0] (x).schedule: required but missing",
        "jobs[0] (x).image: required but missing",
        "jobs[0] (x).command: required but missing",
        "jobs[0] (x).cpu: required but missing",
        "jobs[0] (x).memory: required but missing",
    ]


def test_at_least_one_job():
    assert problems(STACK) == ["jobs: required but missing"]
    assert problems("jobs = []\n" + STACK) == ["jobs: no jobs (allowed: one or more [[jobs]] tables)"]


def test_wrong_types_are_not_coerced():
    assert job_problems(cpu='"256"') == [
        'jobs[0] (report).cpu: "256" is not a whole number (allowed: a whole number without quotes, for example 256)'
    ]
    assert job_problems(enabled='"yes"') == [
        'jobs[0] (report).enabled: "yes" is not true or false (allowed: true or false, without quotes)'
    ]
    assert job_problems(command='"echo hi"') == [
        'jobs[0] (report).command: "echo hi" is not a list (allowed: a list: the program, then its arguments, '
        'for example ["python", "job.py"])'
    ]


def test_all_problems_are_reported_at_once():
    assert job_problems(cpu="300", image='""', log_retention_days="8") == [
        "jobs[0] (report).image: '' is not an image reference (empty or surrounded by spaces)",
        "jobs[0] (report).cpu: 300 is not a Fargate cpu value (allowed: 256, 512, 1024, 2048, 4096, 8192, 16384)",
        "jobs[0] (report).log_retention_days: 8 is not a CloudWatch Logs retention period (allowed: 1, 3, 5, "
        "7, 14, 30, "
        "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
    ]


# --- stack and network -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ("tokyo", "stack.region: 'tokyo' is not an AWS region name (for example 'ap-northeast-1')"),
        ("ap-northeast", "stack.region: 'ap-northeast' is not an AWS region name (for example 'ap-northeast-1')"),
    ],
)
def test_region_format(region, message):
    assert problems(f'[stack]\nregion = "{region}"\n' + JOB) == [message]


def test_region_formats_accepted():
    for region in ("us-east-1", "us-gov-west-1", "cn-north-1", "eu-central-2"):
        assert parse_config(f'[stack]\nregion = "{region}"\n' + JOB).stack.region == region


def test_stack_name():
    assert problems('[stack]\nname = "my_stack"\nregion = "us-east-1"\n' + JOB) == [
        "stack.name: 'my_stack' is not a valid stack name (allowed: 1-32 characters, letters, digits and '-', "
        "starting with a letter)"
    ]


@pytest.mark.parametrize(
    ("network", "message"),
    [
        (
            'availability_zones = ["ap-northeast-1a"]',
            "network.availability_zones: ['ap-northeast-1a'] names 1 zones but max_azs is 2 (allowed: exactly "
            "max_azs zone names)",
        ),
        (
            'availability_zones = ["ap-northeast-1a", "ap-northeast-1a"]',
            "network.availability_zones: ['ap-northeast-1a', 'ap-northeast-1a'] names a zone twice (allowed: "
            "distinct zone names)",
        ),
        (
            'availability_zones = ["ap-northeast-1a", "tokyo-a"]',
            "network.availability_zones: 'tokyo-a' is not an availability zone name (for example 'ap-northeast-1a')",
        ),
        (
            'availability_zones = ["ap-northeast-1a", "us-east-1a"]',
            "network.availability_zones: 'us-east-1a' is not in region 'ap-northeast-1' (allowed: ap-northeast-1a, "
            "ap-northeast-1b, ...)",
        ),
        ('cidr = "10.0.0.0/33"', "network.cidr: '10.0.0.0/33' is not an IPv4 CIDR block ('33' is not a valid netmask)"),
        (
            'cidr = "10.0.0.1/16"',
            "network.cidr: '10.0.0.1/16' is not an IPv4 CIDR block (10.0.0.1/16 has host bits set)",
        ),
        (
            'cidr = "10.0.0.0/8"',
            "network.cidr: '10.0.0.0/8' has prefix /8 (allowed: /16 to /24, so each AZ's subnets fit)",
        ),
        ("max_azs = 0", "network.max_azs: 0 is out of range (allowed: at least 1)"),
        ("max_azs = 7", "network.max_azs: 7 is out of range (allowed: at most 6)"),
        ("nat_gateways = -1", "network.nat_gateways: -1 is out of range (allowed: at least 0)"),
        (
            "max_azs = 2\nnat_gateways = 3",
            "network.nat_gateways: 3 is more than max_azs 2 (allowed: 0 to 2, at most one per AZ)",
        ),
    ],
)
def test_network_ranges(network, message):
    assert problems(STACK + f"[network]\n{network}\n" + JOB) == [message]


# --- jobs ------------------------------------------------------------------------------------------

NAME_RULE = "(allowed: 1-64 characters, letters, digits, '-' and '_', starting with a letter or digit)"


@pytest.mark.parametrize("name", ["run once", "-leading", "", "x" * 65, "jöb"])
def test_job_name(name):
    assert job_problems(name=f'"{name}"') == [f"jobs[0].name: {name!r} is not a valid job name {NAME_RULE}"]


def test_job_names_are_unique():
    text = STACK + JOB + JOB.replace('"report"', '"other"') + JOB
    assert problems(text) == [
        "jobs[2].name: 'report' is already the name of jobs[0] (allowed: a name no other job has)"
    ]


def test_duplicate_names_are_reported_with_other_problems():
    text = STACK + JOB + JOB.replace("cpu = 256", "cpu = 100")
    assert problems(text) == [
        "jobs[1] (report).cpu: 100 is not a Fargate cpu value (allowed: 256, 512, 1024, 2048, 4096, 8192, 16384)",
        "jobs[1].name: 'report' is already the name of jobs[0] (allowed: a name no other job has)",
    ]


@pytest.mark.parametrize(
    ("cpu", "memory", "allowed"),
    [
        (256, 4096, "512, 1024, 2048"),
        (512, 512, "1024-4096 in steps of 1024"),
        (1024, 2500, "2048-8192 in steps of 1024"),
        (8192, 20000, "16384-61440 in steps of 4096"),
        (16384, 32769, "32768-122880 in steps of 8192"),
    ],
)
def test_fargate_sizes(cpu, memory, allowed):
    assert job_problems(cpu=str(cpu), memory=str(memory)) == [
        f"jobs[0] (report).memory: {memory} is not valid with cpu {cpu} (allowed: {allowed})"
    ]


def test_valid_fargate_sizes_are_accepted():
    for cpu, memory in ((256, 2048), (4096, 30720), (16384, 122880)):
        job = parse_config(
            STACK + JOB.replace("cpu = 256", f"cpu = {cpu}").replace("memory = 512", f"memory = {memory}")
        )
        assert (job.jobs[0].cpu, job.jobs[0].memory) == (cpu, memory)


def test_empty_image_and_command():
    assert job_problems(image='"  "') == [
        "jobs[0] (report).image: '  ' is not an image reference (empty or surrounded by spaces)"
    ]
    assert job_problems(command="[]") == [
        "jobs[0] (report).command: [] is empty (allowed: a list whose first item is the program)"
    ]
    assert job_problems(command='[""]') == [
        "jobs[0] (report).command: [''] is empty (allowed: a list whose first item is the program)"
    ]


def test_environment_names():
    assert job_problems(environment='{ "1ST" = "x" }') == [
        "jobs[0] (report).environment: '1ST' is not an environment variable name (allowed: letters, digits, '_', "
        "not starting with a digit)"
    ]
    assert job_problems(environment="{ A = 1 }") == [
        'jobs[0] (report).environment.A: 1 is not text (allowed: text in quotes, for example "value")'
    ]


PARAMETER = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/report/db-password"
SECRET = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:report/db-AbC123"


def test_secrets_name_parameters_and_secrets_by_arn():
    job = parse_config(
        STACK + JOB + f'secrets = {{ DB_PASSWORD = "{PARAMETER}", DB_USER = "{SECRET}:username::" }}\n'
    ).jobs[0]
    assert job.secrets == {"DB_PASSWORD": PARAMETER, "DB_USER": f"{SECRET}:username::"}


def test_secret_rules():
    assert job_problems(secrets='{ DB = "/report/db-password" }') == [
        "jobs[0] (report).secrets: DB = '/report/db-password' is not the ARN of an SSM parameter or a Secrets Manager "
        "secret (allowed: 'arn:aws:ssm:<region>:<account>:parameter/<name>' or "
        "'arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>')"
    ]
    # A Secrets Manager ARN needs its 6-character suffix: IAM would otherwise name no secret.
    assert job_problems(secrets=f'{{ DB = "{SECRET[:-7]}" }}') == [
        f"jobs[0] (report).secrets: DB = '{SECRET[:-7]}' is not the ARN of an SSM parameter or a Secrets Manager "
        "secret (allowed: 'arn:aws:ssm:<region>:<account>:parameter/<name>' or "
        "'arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>')"
    ]
    assert job_problems(secrets=f'{{ "2DB" = "{PARAMETER}" }}') == [
        "jobs[0] (report).secrets: '2DB' is not an environment variable name (allowed: letters, digits, '_', "
        "not starting with a digit)"
    ]
    assert job_problems(environment='{ DB = "x" }', secrets=f'{{ DB = "{PARAMETER}" }}') == [
        "jobs[0] (report).secrets: 'DB' is also in environment (allowed: each name in one of them)"
    ]


def test_task_role_policies():
    job = parse_config(
        STACK
        + JOB
        + 'task_role_policy_arns = ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]\n'
        + '[[jobs.task_role_statements]]\nactions = ["s3:PutObject"]\nresources = ["arn:aws:s3:::reports/*"]\n'
    ).jobs[0]
    assert job.task_role_policy_arns == ("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",)
    assert [(grant.actions, grant.resources) for grant in job.task_role_statements] == [
        (("s3:PutObject",), ("arn:aws:s3:::reports/*",))
    ]


def test_task_role_policy_rules():
    assert job_problems(task_role_policy_arns='["ReadOnlyAccess"]') == [
        "jobs[0] (report).task_role_policy_arns: 'ReadOnlyAccess' is not a managed policy ARN (allowed: "
        "'arn:aws:iam::<account>:policy/<name>' or 'arn:aws:iam::aws:policy/<name>')"
    ]
    arn = '"arn:aws:iam::123456789012:policy/reports"'
    assert job_problems(task_role_policy_arns=f"[{arn}, {arn}]") == [
        "jobs[0] (report).task_role_policy_arns: ['arn:aws:iam::123456789012:policy/reports', "
        "'arn:aws:iam::123456789012:policy/reports'] names a policy twice (allowed: each once)"
    ]
    eleven = ", ".join(f'"arn:aws:iam::123456789012:policy/p{index}"' for index in range(11))
    assert job_problems(task_role_policy_arns=f"[{eleven}]") == [
        "jobs[0] (report).task_role_policy_arns: 11 policies (allowed: at most 10, IAM's default quota per role)"
    ]


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            'actions = ["*"]\nresources = ["*"]',
            "actions: '*' is not an IAM action of one service (allowed: 'service:Action', for example "
            "'s3:PutObject' or 's3:Get*'; a bare '*' is refused)",
        ),
        (
            'actions = []\nresources = ["*"]',
            "actions: [] names no action (allowed: one or more actions such as 's3:PutObject')",
        ),
        (
            'actions = ["s3:GetObject"]\nresources = ["reports"]',
            "resources: 'reports' is not a resource ARN (allowed: 'arn:aws:service:region:account:resource', "
            "or '*' for actions that take no resource)",
        ),
        (
            'actions = ["s3:GetObject"]\nresources = []',
            "resources: [] names no resource (allowed: ARNs, or '*' for actions that take none)",
        ),
        ('actions = ["s3:GetObject"]', "resources: required but missing"),
    ],
)
def test_task_role_statement_rules(statement, problem):
    assert problems(STACK + JOB + f"[[jobs.task_role_statements]]\n{statement}\n") == [
        f"jobs[0] (report).task_role_statements[0].{problem}"
    ]


def test_timeout_range():
    assert job_problems(timeout_seconds="30") == [
        "jobs[0] (report).timeout_seconds: 30 is out of range (allowed: at least 60)"
    ]
    assert job_problems(timeout_seconds="604801") == [
        "jobs[0] (report).timeout_seconds: 604801 is out of range (allowed: at most 604800)"
    ]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            "cron(0 * * * *)",
            "'cron(0 * * * *)' has 5 fields; EventBridge cron needs 6: minutes hours day-of-month month "
            "day-of-week year",
        ),
        (
            "cron(0 8 * * * *)",
            "'cron(0 8 * * * *)': exactly one of day-of-month ('*') and day-of-week ('*') must be '?'",
        ),
        (
            "cron(0 8 ? * ? *)",
            "'cron(0 8 ? * ? *)': exactly one of day-of-month ('?') and day-of-week ('?') must be '?'",
        ),
        ("cron(60 8 * * ? *)", "'cron(60 8 * * ? *)': minutes '60' is not valid (allowed: 0-59 with , - * /)"),
        ("cron(0 24 * * ? *)", "'cron(0 24 * * ? *)': hours '24' is not valid (allowed: 0-23 with , - * /)"),
        (
            "cron(0 8 32 * ? *)",
            "'cron(0 8 32 * ? *)': day-of-month '32' is not valid (allowed: 1-31 with , - * /, ?, L, LW, nW)",
        ),
        (
            "cron(0 8 * FOO ? *)",
            "'cron(0 8 * FOO ? *)': month 'FOO' is not valid (allowed: 1-12 or JAN-DEC with , - * /)",
        ),
        (
            "cron(0 8 ? * 8 *)",
            "'cron(0 8 ? * 8 *)': day-of-week '8' is not valid (allowed: 1-7 or SUN-SAT with , - *, ?, L, nL, n#k)",
        ),
        ("cron(0 8 * * ? 1969)", "'cron(0 8 * * ? 1969)': year '1969' is not valid (allowed: 1970-2199 with , - * /)"),
        ("cron(0 10-24 * * ? *)", "'cron(0 10-24 * * ? *)': hours '10-24' is not valid (allowed: 0-23 with , - * /)"),
        (
            "cron(0 8 * * ? 2030-2025)",  # years do not wrap around
            "'cron(0 8 * * ? 2030-2025)': year '2030-2025' is not valid (allowed: 1970-2199 with , - * /)",
        ),
        ("rate(0 minutes)", "'rate(0 minutes)': the rate must be at least 1"),
        ("rate(1 minutes)", "'rate(1 minutes)': a rate of 1 takes the singular unit 'minute'"),
        ("rate(5 minute)", "'rate(5 minute)': a rate above 1 takes the plural unit 'minutes'"),
        (
            "rate(5 weeks)",
            "'rate(5 weeks)' is not a rate expression (allowed: 'rate(N minutes|hours|days)', for example "
            "'rate(5 minutes)' or 'rate(1 hour)')",
        ),
        (
            "every day",
            "'every day' is not a schedule expression (allowed: 'cron(minutes hours day-of-month month "
            "day-of-week year)' or 'rate(N unit)')",
        ),
    ],
)
def test_schedule_syntax(schedule, message):
    assert job_problems(schedule=f'"{schedule}"') == [f"jobs[0] (report).schedule: {message}"]


# --- retry -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry", "message"),
    [
        ("max_attempts = -1", "jobs[0] (report).retry.max_attempts: -1 is out of range (allowed: at least 0)"),
        ("interval_seconds = 0", "jobs[0] (report).retry.interval_seconds: 0 is out of range (allowed: at least 1)"),
        ("backoff_rate = 0.5", "jobs[0] (report).retry.backoff_rate: 0.5 is out of range (allowed: at least 1.0)"),
        (
            "max_delay_seconds = 0",
            "jobs[0] (report).retry.max_delay_seconds: 0 is out of range (allowed: at least 1)",
        ),
        (
            'jitter = "SOME"',
            "jobs[0] (report).retry.jitter: \"SOME\" is not an allowed value (allowed: 'FULL' or 'NONE')",
        ),
        ("rerun_attempts = 11", "jobs[0] (report).retry.rerun_attempts: 11 is out of range (allowed: at most 10)"),
    ],
)
def test_retry_ranges(retry, message):
    assert problems(STACK + JOB + f"[jobs.retry]\n{retry}\n") == [message]


def test_retry_window_must_end_before_the_next_run():
    text = (
        STACK
        + JOB.replace("cron(0 8 * * ? *)", "rate(5 minutes)")
        + ("[jobs.retry]\nmax_attempts = 5\ninterval_seconds = 30\nbackoff_rate = 2.0\n")
    )
    # 30, 60, 120, then 120 and 120: the default policy's 2-minute cap, since max_delay_seconds is left out
    assert problems(text) == [
        "jobs[0] (report).retry: retries wait up to 7 min 30 s in all, which runs into the next scheduled run "
        "(rate(5 minutes) runs every 5 min); allowed: a total wait below 5 min (fewer max_attempts, a smaller "
        "interval_seconds or a max_delay_seconds)"
    ]


def test_retry_window_counts_reruns_too():
    text = (
        STACK
        + JOB.replace("cron(0 8 * * ? *)", "rate(1 minute)")
        + ("[jobs.retry]\nmax_attempts = 2\ninterval_seconds = 10\nbackoff_rate = 2.0\nrerun_attempts = 2\n")
    )
    # 10 + 20 for launches and 10 + 20 for re-runs: 60 s, not below the 60 s period
    assert problems(text) == [
        "jobs[0] (report).retry: retries wait up to 1 min in all, which runs into the next scheduled run "
        "(rate(1 minute) runs every 1 min); allowed: a total wait below 1 min (fewer max_attempts, a smaller "
        "interval_seconds or a max_delay_seconds)"
    ]


def test_retry_window_just_below_the_period_is_accepted():
    text = (
        STACK
        + JOB.replace("cron(0 8 * * ? *)", "rate(1 minute)")
        + ("[jobs.retry]\nmax_attempts = 3\ninterval_seconds = 10\nbackoff_rate = 2.0\nmax_delay_seconds = 20\n")
    )
    assert parse_config(text).jobs[0].retry.window_seconds == 50


# --- alert -----------------------------------------------------------------------------------------


def alert_problems(lines: str) -> list[str]:
    return problems(STACK + "[alert]\n" + lines + "\n" + JOB)


def test_alert_channels_default_to_none():
    alert = parse_config(STACK + JOB).alert
    assert (alert.webhook_ssm_parameter, alert.chatwork_room_id, alert.chatwork_token_ssm_parameter) == (None,) * 3
    assert (alert.emails, alert.chat_channels) == ((), ())


def test_every_alert_channel_together():
    alert = parse_config(
        STACK
        + "[alert]\n"
        + 'webhook_ssm_parameter = "/team/alerts/slack-webhook"\n'
        + "chatwork_room_id = 123456\n"  # a number is taken as the room's digits
        + 'chatwork_token_ssm_parameter = "/team/alerts/chatwork_token.v2"\n'
        + 'emails = ["ops@example.com", "On-Call+jobs@example.co.jp"]\n'
        + JOB
    ).alert
    assert alert.webhook_ssm_parameter == "/team/alerts/slack-webhook"
    assert (alert.chatwork_room_id, alert.chatwork_token_ssm_parameter) == ("123456", "/team/alerts/chatwork_token.v2")
    assert alert.emails == ("ops@example.com", "On-Call+jobs@example.co.jp")
    assert alert.chat_channels == ("slack", "chatwork")


def test_webhook_url_is_refused_with_what_replaced_it_and_without_its_value():
    secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
    (problem,) = alert_problems(f'webhook_url = "{secret}"')
    assert problem == (
        "alert.webhook_url: replaced by webhook_ssm_parameter; a webhook URL is a secret and would land in the "
        "Terraform plan and state, so this key is refused and its value is not shown (allowed: store it in an SSM "
        "SecureString parameter and name it with webhook_ssm_parameter, for example "
        'webhook_ssm_parameter = "/scheduled-jobs/slack-webhook")'
    )
    assert "XXXXSECRET" not in problem


PARAMETER_ALLOWED = (
    "(allowed: a leading '/', then letters, digits, '_', '.', '-', with '/' between levels, "
    "for example '/scheduled-jobs/chat-webhook')"
)


@pytest.mark.parametrize("name", ["slack-webhook", "/team//webhook", "/team/web hook", "/team/webhook/", "/tëam/x", ""])
@pytest.mark.parametrize("field", ["webhook_ssm_parameter", "chatwork_token_ssm_parameter"])
def test_ssm_parameter_name_characters(field, name):
    lines = f'{field} = "{name}"' + ('\nchatwork_room_id = "1"' if field.startswith("chatwork") else "")
    assert alert_problems(lines) == [f"alert.{field}: {name!r} is not an SSM parameter name {PARAMETER_ALLOWED}"]


@pytest.mark.parametrize("name", ["/aws/reference/x", "/SSM/x", "/awsome"])
def test_ssm_parameter_name_reserved_prefixes(name):
    assert alert_problems(f'webhook_ssm_parameter = "{name}"') == [
        f"alert.webhook_ssm_parameter: {name!r} starts with {name[1:4]!r} (allowed: a name not starting with "
        "'aws' or 'ssm')"
    ]


def test_ssm_parameter_name_length_and_depth():
    long_name = "/" + "a" * 1011
    assert alert_problems(f'webhook_ssm_parameter = "{long_name}"') == [
        f"alert.webhook_ssm_parameter: {long_name!r} has 1012 characters (allowed: at most 1011)"
    ]
    deep = "/a" * 16
    assert alert_problems(f'webhook_ssm_parameter = "{deep}"') == [
        f"alert.webhook_ssm_parameter: {deep!r} has 16 levels (allowed: at most 15)"
    ]
    assert parse_config(STACK + f'[alert]\nwebhook_ssm_parameter = "{"/a" * 15}"\n' + JOB).alert.webhook_ssm_parameter


@pytest.mark.parametrize("room", ['"abc"', '"0123"', '"12 34"', "0", "-5"])
def test_chatwork_room_id_is_digits(room):
    shown = room.strip('"') if room.startswith('"') else room
    assert alert_problems(f'chatwork_room_id = {room}\nchatwork_token_ssm_parameter = "/t"') == [
        f"alert.chatwork_room_id: {shown!r} is not a Chatwork room id (allowed: its digits, as in the room's URL "
        "#!rid123456)"
    ]


def test_chatwork_room_and_token_go_together():
    assert alert_problems('chatwork_room_id = "1"') == [
        "alert.chatwork_token_ssm_parameter: required with chatwork_room_id (allowed: the SSM SecureString "
        "parameter that holds the API token)"
    ]
    assert alert_problems('chatwork_token_ssm_parameter = "/t"') == [
        "alert.chatwork_room_id: required with chatwork_token_ssm_parameter (allowed: the room's id)"
    ]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("ops", "An email address must have an @-sign."),
        ("ops@example", "The part after the @-sign is not valid. It should have a period."),
        ("@example.com", "There must be something before the @-sign."),
        ("ops@@example.com", "The part after the @-sign contains invalid characters: '@'."),
    ],
)
def test_emails_are_addresses(address, reason):
    assert alert_problems(f'emails = ["ops@example.com", "{address}"]') == [
        f"alert.emails[1]: {address!r} is not an e-mail address ({reason})"
    ]


def test_emails_are_listed_once_whatever_the_case():
    assert alert_problems('emails = ["ops@example.com", "OPS@example.com"]') == [
        "alert.emails: 'OPS@example.com' is listed twice (allowed: each address once)"
    ]


def test_alert_log_retention():
    assert problems(STACK + "[alert]\nlog_retention_days = 2\n" + JOB) == [
        "alert.log_retention_days: 2 is not a CloudWatch Logs retention period (allowed: 1, 3, 5, 7, 14, 30, "
        "60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)"
    ]


def test_alert_grouping_window():
    assert parse_config(STACK + JOB).alert.group_seconds == 30
    assert parse_config(STACK + "[alert]\ngroup_seconds = 0\n" + JOB).alert.group_seconds == 0
    assert problems(STACK + "[alert]\ngroup_seconds = 301\n" + JOB) == [
        "alert.group_seconds: 301 is out of range (allowed: at most 300)"
    ]
    assert problems(STACK + "[alert]\ngroup_seconds = -1\n" + JOB) == [
        "alert.group_seconds: -1 is out of range (allowed: at least 0)"
    ]


def test_the_readme_configuration_reference_is_a_valid_config_with_every_key():
    readme = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    (block,) = [b for b in blocks if b.startswith("[stack]")]
    (existing,) = [b for b in blocks if b.startswith("[network]")]  # the existing-network variant
    config = parse_config(block, source="docs/configuration.md")
    assert config.alert.chat_channels == ("slack", "chatwork", "teams", "pagerduty")
    assert config.alert.emails == ("ops@example.com",)
    assert config.stack.backend is not None
    created = re.search(r"^\[network\].*?(?=^\[alert\])", block, re.S | re.M).group(0)
    assert parse_config(block.replace(created, existing + "\n"), source="docs/configuration.md").network.existing
    documented = set(re.findall(r"\b([a-z_]+) = ", block + existing))  # inline tables' keys too
    documented |= set(re.findall(r"^\[+jobs\.([a-z_]+)\]+", block, re.M))  # [jobs.retry], [[jobs.x]]
    models = [type(config.stack), type(config.network), type(config.alert), type(config.jobs[0])]
    models.append(type(config.jobs[0].task_role_statements[0]))
    models.append(type(config.stack.backend))
    models.append(type(config.jobs[0].volumes[0]))
    declared = {name for model in models for name in model.model_fields} | set(RetryPolicy.model_fields)
    assert declared - documented - {"stack", "network", "alert", "jobs"} == set()


def test_concurrency_defaults_to_forbid():
    assert parse_config(STACK + JOB).jobs[0].concurrency == "forbid"
    assert parse_config(STACK + JOB + 'concurrency = "allow"\n').jobs[0].concurrency == "allow"
    assert job_problems(concurrency='"replace"') == [
        "jobs[0] (report).concurrency: \"replace\" is not an allowed value (allowed: 'forbid' or 'allow')"
    ]


def test_longest_run_counts_every_wait_and_each_run_of_the_task():
    text = STACK + JOB + "timeout_seconds = 600\n[jobs.retry]\nmax_attempts = 2\ninterval_seconds = 10\n"
    assert parse_config(text).jobs[0].longest_run_seconds == 10 + 20 + 600
    rerun = text + "rerun_attempts = 1\n"
    assert parse_config(rerun).jobs[0].longest_run_seconds == 10 + 20 + 10 + 2 * 600


def test_retry_exit_codes():
    text = STACK + JOB + "[jobs.retry]\nretry_exit_codes = [75, 69]\n"
    assert parse_config(text).jobs[0].retry.retry_exit_codes == (75, 69)
    assert parse_config(STACK + JOB).jobs[0].retry_policy.retry_exit_codes == ()
    for codes, message in [
        ("[0]", "0 is not a failing exit code (allowed: 1 to 255; 0 means success)"),
        ("[256]", "256 is not a failing exit code (allowed: 1 to 255; 0 means success)"),
        ("[75, 75]", "[75, 75] lists a code twice (allowed: each code once)"),
    ]:
        assert problems(STACK + JOB + f"[jobs.retry]\nretry_exit_codes = {codes}\n") == [
            f"jobs[0] (report).retry.retry_exit_codes: {message}"
        ]
    assert problems(STACK + JOB + '[jobs.retry]\nretry_exit_codes = ["75"]\n') == [
        'jobs[0] (report).retry.retry_exit_codes[0]: "75" is not a whole number (allowed: a whole number '
        "without quotes, for example 256)"
    ]


def test_capacity_sources_in_order():
    assert parse_config(STACK + JOB).jobs[0].capacity == ("FARGATE",)
    two = parse_config(STACK + JOB + 'capacity = ["FARGATE_SPOT", "FARGATE"]\n').jobs[0]
    assert two.capacity == ("FARGATE_SPOT", "FARGATE")
    allowed = (
        "(allowed: each of FARGATE and FARGATE_SPOT at most once, at least one, for example "
        '["FARGATE", "FARGATE_SPOT"])'
    )
    assert job_problems(capacity="[]") == [
        f"jobs[0] (report).capacity: [] is not an order of capacity sources {allowed}"
    ]
    assert job_problems(capacity='["FARGATE", "FARGATE"]') == [
        f"jobs[0] (report).capacity: ['FARGATE', 'FARGATE'] is not an order of capacity sources {allowed}"
    ]
    assert job_problems(capacity='["EC2"]') == [
        "jobs[0] (report).capacity[0]: \"EC2\" is not an allowed value (allowed: 'FARGATE' or 'FARGATE_SPOT')"
    ]


def test_each_capacity_source_gets_the_retries_and_the_window_check_counts_them_all():
    hourly = JOB.replace("cron(0 8 * * ? *)", "rate(1 hour)")
    retry = "[jobs.retry]\nmax_attempts = 4\ninterval_seconds = 600\nbackoff_rate = 1.0\n"  # 40 min each
    one = parse_config(STACK + hourly + retry).jobs[0]
    assert one.retry_window_seconds == 2400
    assert problems(STACK + hourly + 'capacity = ["FARGATE", "FARGATE_SPOT"]\n' + retry) == [
        "jobs[0] (report).retry: retries wait up to 1 h 20 min in all (2 capacity sources, each with these "
        "retries), which "
        "runs into the next scheduled run (rate(1 hour) runs every 1 h); allowed: a total wait below 1 h "
        "(fewer max_attempts, a smaller interval_seconds or a max_delay_seconds)"
    ]
    # The default policy is scaled so that both sources' retries, and then one timeout, fit in the period.
    five = parse_config(
        STACK
        + JOB.replace("cron(0 8 * * ? *)", "rate(15 minutes)")
        + 'capacity = ["FARGATE", "FARGATE_SPOT"]\ntimeout_seconds = 300\n'
    )
    assert five.jobs[0].retry_policy.waits() == [10, 20, 40, 80, 120]  # 270 s each, 540 s of the 600 s left
    assert five.jobs[0].retry_window_seconds == 540


# --- time zones ------------------------------------------------------------------------------------


def test_timezone_and_flexible_window():
    job = parse_config(STACK + JOB + 'timezone = "Asia/Tokyo"\nflexible_window_minutes = 15\n').jobs[0]
    assert (job.timezone, job.flexible_window_minutes) == ("Asia/Tokyo", 15)
    assert parse_config(STACK + JOB).jobs[0].timezone is None


def test_timezone_must_be_an_iana_name_and_a_near_miss_is_named():
    assert job_problems(timezone='"Asia/Tokio"') == [
        "jobs[0] (report).timezone: 'Asia/Tokio' is not an IANA time zone name (did you mean 'Asia/Tokyo'? "
        "allowed: names such as 'Asia/Tokyo', 'Europe/Berlin', 'America/New_York' or 'UTC')"
    ]
    assert job_problems(timezone='"JST+9"') == [
        "jobs[0] (report).timezone: 'JST+9' is not an IANA time zone name (allowed: names such as 'Asia/Tokyo', "
        "'Europe/Berlin', 'America/New_York' or 'UTC')"
    ]


def test_names_that_are_no_place_are_refused():
    """ "localtime" is a name of the machine (a Debian symlink), "Factory" a zone with no time."""
    for name in ("localtime", "Factory", "posixrules"):
        (problem,) = job_problems(timezone=f'"{name}"')
        assert problem.startswith(f"jobs[0] (report).timezone: {name!r} is not an IANA time zone name (")
    assert parse_config(STACK + JOB + 'timezone = "US/Eastern"\n').jobs[0].timezone == "US/Eastern"


@pytest.mark.parametrize(
    ("written", "meant", "also_a_zone"),
    [
        ("JST", "Asia/Tokyo", False),
        ("jst", "Asia/Tokyo", False),
        ("KST", "Asia/Seoul", False),
        ("IST", "Asia/Kolkata", False),
        ("PST", "America/Los_Angeles", False),
        ("CET", "Europe/Berlin", True),
        ("EST", "America/New_York", True),
        ("MST", "America/Denver", True),
    ],
)
def test_an_abbreviation_names_the_zone_people_mean(written, meant, also_a_zone):
    other = ", and in the tz database it names a different zone" if also_a_zone else ""
    assert job_problems(timezone=f'"{written}"') == [
        f"jobs[0] (report).timezone: {written!r} is an abbreviation, not a time zone{other} (did you mean "
        f"{meant!r}? allowed: IANA names such as 'Asia/Tokyo', 'Europe/Berlin', 'America/New_York' or 'UTC', "
        "which follow daylight saving where the place does)"
    ]


def test_flexible_window_needs_a_timezone_and_fits_between_runs():
    assert job_problems(flexible_window_minutes="15") == [
        "jobs[0] (report).flexible_window_minutes: 15 needs timezone (a flexible window is an EventBridge Scheduler "
        'feature; allowed with a timezone, for example timezone = "UTC")'
    ]
    hourly = JOB.replace("cron(0 8 * * ? *)", "rate(1 hour)")
    assert problems(STACK + hourly + 'timezone = "UTC"\nflexible_window_minutes = 60\n') == [
        "jobs[0] (report).flexible_window_minutes: 60 minutes is not shorter than the time between runs of "
        "rate(1 hour) "
        "(1 h) (allowed: 1 to 59)"
    ]
    assert job_problems(flexible_window_minutes="0", timezone='"UTC"') == [
        "jobs[0] (report).flexible_window_minutes: 0 is out of range (allowed: at least 1)"
    ]


def test_daylight_saving_and_the_flexible_window_shorten_the_time_between_runs():
    daily = STACK + JOB  # cron(0 8 * * ? *)
    assert parse_config(daily).jobs[0].shortest_gap_seconds == 24 * 3600
    assert parse_config(daily + 'timezone = "Asia/Tokyo"\n').jobs[0].shortest_gap_seconds == 24 * 3600
    assert parse_config(daily + 'timezone = "Europe/Berlin"\n').jobs[0].shortest_gap_seconds == 23 * 3600
    assert parse_config(daily + 'timezone = "Australia/Lord_Howe"\n').jobs[0].shortest_gap_seconds == 23.5 * 3600
    flexible = daily + 'timezone = "Europe/Berlin"\nflexible_window_minutes = 60\n'
    assert parse_config(flexible).jobs[0].shortest_gap_seconds == 22 * 3600
    # A retry window that fits a UTC day need not fit the 23-hour day of spring forward.
    retry = "[jobs.retry]\nmax_attempts = 2\ninterval_seconds = 41400\nbackoff_rate = 1.0\n"  # 23 h in all
    assert parse_config(daily + retry).jobs[0].retry_window_seconds == 82800
    (problem,) = problems(daily + 'timezone = "Europe/Berlin"\n' + retry)
    assert problem.startswith(
        "jobs[0] (report).retry: retries wait up to 23 h in all, which runs into the next scheduled run"
    )


# --- existing networks and remote state ------------------------------------------------------------

EXISTING = '[network]\nvpc_id = "vpc-0123456789abcdef0"\nsubnet_ids = ["subnet-01234567", "subnet-89abcdef"]\n'


def test_an_existing_network():
    network = parse_config(STACK + EXISTING + JOB).network
    assert (network.existing, network.vpc_id, network.subnet_ids) == (
        True,
        "vpc-0123456789abcdef0",
        ("subnet-01234567", "subnet-89abcdef"),
    )
    assert (network.security_group_ids, network.assign_public_ip) == ((), False)
    assert parse_config(STACK + JOB).network.existing is False


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ('vpc_id = "vpc-123"', "network.vpc_id: 'vpc-123' is not a VPC id (allowed: vpc-..., with 8 or 17 hex digits)"),
        (
            'subnet_ids = ["subnet-XYZ01234"]',
            "network.subnet_ids: 'subnet-XYZ01234' is not a subnet id (allowed: subnet-..., with 8 or 17 hex digits)",
        ),
        (
            "subnet_ids = []",
            "network.subnet_ids: [] names no subnet (allowed: one or more subnet ids, in several zones if you can)",
        ),
        (
            'subnet_ids = ["subnet-01234567", "subnet-01234567"]',
            "network.subnet_ids: ['subnet-01234567', 'subnet-01234567'] names an id twice (allowed: each once)",
        ),
        (
            'security_group_ids = ["sg-1"]',
            "network.security_group_ids: 'sg-1' is not a security group id (allowed: sg-..., with 8 or 17 hex digits)",
        ),
    ],
)
def test_existing_network_ids(lines, problem):
    text = STACK + "[network]\n" + 'vpc_id = "vpc-0123456789abcdef0"\nsubnet_ids = ["subnet-01234567"]\n'
    key = lines.split(" = ")[0]
    text = "\n".join(line for line in text.splitlines() if not line.startswith(key)) + "\n" + lines + "\n"
    assert problems(text + JOB) == [problem]


@pytest.mark.parametrize("key", ["cidr", "max_azs", "nat_gateways", "availability_zones"])
def test_created_network_keys_are_not_mixed_with_an_existing_network(key):
    value = {
        "cidr": '"10.0.0.0/16"',
        "max_azs": "2",
        "nat_gateways": "1",
        "availability_zones": '["ap-northeast-1a", "ap-northeast-1c"]',
    }
    assert problems(STACK + EXISTING + f"{key} = {value[key]}\n" + JOB) == [
        f"network.{key}: is for a network the stack creates, and vpc_id / subnet_ids name an existing one "
        "(allowed with an existing network: vpc_id, subnet_ids, security_group_ids, assign_public_ip)"
    ]


def test_an_existing_network_needs_both_the_vpc_and_its_subnets():
    assert problems(STACK + '[network]\nvpc_id = "vpc-0123456789abcdef0"\n' + JOB) == [
        "network.subnet_ids: required with an existing network (allowed: give vpc_id and subnet_ids)"
    ]
    assert problems(STACK + "[network]\nassign_public_ip = true\n" + JOB) == [
        "network.assign_public_ip: is for an existing network (allowed with it: vpc_id and subnet_ids, which name it)"
    ]


def test_s3_backend():
    backend = '[stack]\nregion = "ap-northeast-1"\nbackend = {{ {} }}\n'
    good = 'type = "s3", bucket = "state.example-1", key = "jobs/terraform.tfstate", region = "ap-northeast-1"'
    spec = parse_config(backend.format(good) + JOB).stack.backend
    assert (spec.bucket, spec.key, spec.region, spec.use_lockfile) == (
        "state.example-1",
        "jobs/terraform.tfstate",
        "ap-northeast-1",
        True,
    )
    assert problems(backend.format('type = "gcs", bucket = "ab", key = "k/", region = "x"') + JOB) == [
        "stack.backend.type: \"gcs\" is not an allowed value (allowed: 's3')",
        "stack.backend.bucket: 'ab' is not an S3 bucket name (allowed: 3-63 lowercase letters, digits, '.' and '-', "
        "starting and ending with a letter or digit)",
        "stack.backend.key: 'k/' is not a state object key (allowed: a path such as "
        "'scheduled-jobs/terraform.tfstate', no leading or trailing '/')",
        "stack.backend.region: 'x' is not an AWS region name (for example 'ap-northeast-1')",
    ]
    assert problems(backend.format('type = "s3", bucket = "state-bucket"') + JOB) == [
        "stack.backend.key: required but missing",
        "stack.backend.region: required but missing",
    ]


KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_stack_switches_default_off_and_turn_on():
    stack = parse_config(STACK + JOB).stack
    assert (stack.tracing, stack.container_insights, stack.log_kms) == (False, False, False)
    text = f'[stack]\nregion = "ap-northeast-1"\ntracing = true\ncontainer_insights = true\nlog_kms = "{KEY}"\n'
    stack = parse_config(text + JOB).stack
    assert (stack.tracing, stack.container_insights, stack.log_kms) == (True, True, KEY)


def test_log_kms_rules():
    text = '[stack]\nregion = "ap-northeast-1"\nlog_kms = "alias/logs"\n' + JOB
    assert problems(text) == [
        "stack.log_kms: 'alias/logs' is not a KMS key ARN (allowed: true, false, or "
        "'arn:aws:kms:<region>:<account>:key/<key id>'; CloudWatch Logs takes no alias)"
    ]
    other = KEY.replace("ap-northeast-1", "us-east-1")
    text = f'[stack]\nregion = "ap-northeast-1"\nlog_kms = "{other}"\n' + JOB
    assert problems(text) == [
        f"stack.log_kms: '{other}' is a key in us-east-1 (allowed: a key in the stack's region ap-northeast-1, "
        "as CloudWatch Logs requires)"
    ]
    text = '[stack]\nregion = "ap-northeast-1"\ntracing = "yes"\n' + JOB
    assert problems(text) == ['stack.tracing: "yes" is not true or false (allowed: true or false, without quotes)']


def test_flow_logs_rules():
    network = parse_config(STACK + "[network]\nflow_logs = true\n" + JOB).network
    assert (network.flow_logs, network.flow_logs_retention_days) == (True, 30)
    assert problems(STACK + "[network]\nflow_logs = true\nflow_logs_retention_days = 10\n" + JOB) == [
        "network.flow_logs_retention_days: 10 is not a CloudWatch Logs retention period (allowed: 1, 3, 5, 7, 14, "
        "30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)"
    ]
    existing = '[network]\nvpc_id = "vpc-0a1b2c3d"\nsubnet_ids = ["subnet-0a1b2c3d"]\nflow_logs = true\n'
    assert problems(STACK + existing + JOB) == [
        "network.flow_logs: is for a network the stack creates, and vpc_id / subnet_ids name an existing one "
        "(allowed with an existing network: vpc_id, subnet_ids, security_group_ids, assign_public_ip)"
    ]


def test_execution_log_level():
    assert parse_config(STACK + JOB).stack.execution_log_level == "ERROR"
    text = '[stack]\nregion = "ap-northeast-1"\nexecution_log_level = "DEBUG"\n' + JOB
    assert problems(text) == [
        "stack.execution_log_level: \"DEBUG\" is not an allowed value (allowed: 'OFF', 'ERROR' or 'ALL')"
    ]


def test_a_config_error_names_its_source_and_joins_its_problems():
    with pytest.raises(ConfigError) as caught:
        parse_config("[stack]\n", source="team.toml")
    assert caught.value.source == "team.toml"
    assert caught.value.problems == ["stack.region: required but missing", "jobs: required but missing"]
    assert str(caught.value) == "team.toml: stack.region: required but missing; jobs: required but missing"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "{path}: file not found"),
        ("directory", "{path}: cannot be read ("),
        ("# caf\xe9\n".encode("latin-1"), "{path}: cannot be read ('utf-8' codec can't decode"),
        (b"[stack\n", "{path}: not valid TOML: "),
        (b"[stack]\n", "stack.region: required but missing"),
    ],
)
def test_each_problem_of_a_file_names_the_file(tmp_path, content, problem):
    path = tmp_path / "jobs.toml"
    if content == "directory":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.source == str(path)
    assert caught.value.problems[0].startswith(problem.format(path=path))
    assert str(caught.value).startswith(f"{path}: ")


def test_a_utf8_config_reads_the_same_everywhere(tmp_path):
    path = tmp_path / "jobs.toml"
    path.write_text(STACK + JOB.replace('"hi"', '"こんにちは"'), encoding="utf-8")
    assert load_config(path).jobs[0].command == ("echo", "こんにちは")


def test_values_are_shown_as_written():
    assert job_problems(cpu='"二百五十六"') == [
        'jobs[0] (report).cpu: "二百五十六" is not a whole number (allowed: a whole number without quotes, '
        "for example 256)"
    ]
    assert job_problems(cpu="1979-05-27") == [
        "jobs[0] (report).cpu: 1979-05-27 is not a whole number (allowed: a whole number without quotes, for "
        "example 256)"
    ]


def test_jobs_that_are_not_tables_are_reported_not_crashed_on():
    assert problems("jobs = [1]\n" + STACK) == [
        'jobs[0]: 1 is not a table (allowed: a table: a [section], or inline as { key = "value" })'
    ]


def test_a_parameter_name_of_the_longest_allowed_length():
    name = "/" + "a" * 1010
    text = STACK + f'[alert]\nwebhook_ssm_parameter = "{name}"\n' + JOB
    assert parse_config(text).alert.webhook_ssm_parameter == name
    assert problems(STACK + f'[alert]\nwebhook_ssm_parameter = "{name}a"\n' + JOB) == [
        f"alert.webhook_ssm_parameter: '{name}a' has 1012 characters (allowed: at most 1011)"
    ]


def test_secret_sources_name_each_parameter_and_secret_once_as_iam_names_them():
    from constructs_lib.model.config import secret_sources

    assert secret_sources([f"{SECRET}:password::", PARAMETER, f"{SECRET}:username::", SECRET, PARAMETER]) == (
        [PARAMETER],
        [SECRET],
    )
    assert secret_sources([]) == ([], [])


# --- messages in the words of the file, naming the job --------------------------------------------


def test_a_problem_names_the_job_by_its_index_and_its_name():
    text = STACK + JOB + JOB.replace('"report"', '"daily-report"').replace("cron(0 8 * * ? *)", "cron(0 8 * *)")
    (problem,) = problems(text)
    assert problem.startswith("jobs[1] (daily-report).schedule: ")


def test_type_errors_say_what_the_file_should_hold_not_the_python_type():
    assert problems(STACK + '[alert]\nemails = "ops@example.com"\n' + JOB) == [
        'alert.emails: "ops@example.com" is not a list (allowed: a list of e-mail addresses, for example '
        '["ops@example.com"])'
    ]
    assert job_problems(capacity='"FARGATE"') == [
        'jobs[0] (report).capacity: "FARGATE" is not a list (allowed: a list of capacity sources, for example '
        '["FARGATE", "FARGATE_SPOT"])'
    ]
    assert job_problems(environment='["A"]') == [
        'jobs[0] (report).environment: ["A"] is not a table (allowed: a table: a [section], or inline as '
        '{ key = "value" })'
    ]
    assert job_problems(timeout_seconds="600.5") == [
        "jobs[0] (report).timeout_seconds: 600.5 is not a whole number (allowed: a whole number without quotes, "
        "for example 256)"
    ]
    assert problems(STACK + JOB + '[jobs.retry]\nbackoff_rate = "2"\n') == [
        'jobs[0] (report).retry.backoff_rate: "2" is not a number (allowed: a number without quotes, for example 2.0)'
    ]
    # No message anywhere names a Python type.
    for text in (STACK + '[alert]\nemails = "x"\n' + JOB, STACK + JOB + "retry = 3\n", "stack = 3\n" + JOB):
        for problem in problems(text):
            assert not any(word in problem for word in ("tuple", "dictionary", "instance of", "valid "))


# --- schedules the outside oracles caught ----------------------------------------------------------


def test_an_expression_whose_years_are_all_past_is_refused():
    (problem,) = job_problems(schedule='"cron(0 0 1 1 ? 2020)"')
    assert re.fullmatch(
        r"jobs\[0\] \(report\)\.schedule: 'cron\(0 0 1 1 \? 2020\)' has no run after \d{4}-\d\d-\d\d \d\d:\d\d UTC: "
        r"its years are past \(allowed: a year field that reaches \d{4} or later, or \*\)",
        problem,
    )
    assert parse_config(STACK + JOB.replace("cron(0 8 * * ? *)", "cron(0 0 1 1 ? 2020-2199)"))  # years to come


def test_the_flexible_window_must_be_shorter_than_the_shortest_gap_across_daylight_saving():
    """A daily 08:00 in New York is 23 h after the previous run on the day clocks spring forward."""
    zone = 'timezone = "America/New_York"\n'
    assert problems(STACK + JOB + zone + "flexible_window_minutes = 1400\n") == [
        "jobs[0] (report).flexible_window_minutes: 1400 minutes is not shorter than the time between runs of "
        "cron(0 8 * * ? *) in America/New_York, daylight saving counted (23 h) (allowed: 1 to 1379)"
    ]
    assert parse_config(STACK + JOB + zone + "flexible_window_minutes = 1379\n").jobs[0].flexible_window_minutes == 1379
    # Tokyo has no daylight saving: the whole day.
    tokyo = parse_config(STACK + JOB + 'timezone = "Asia/Tokyo"\nflexible_window_minutes = 1430\n')
    assert tokyo.jobs[0].flexible_window_minutes == 1430


def test_a_nul_character_in_a_command_or_an_environment_value_is_refused():
    assert job_problems(command='["sh", "-c", "echo a\\u0000b"]') == [
        "jobs[0] (report).command: item 2 holds a NUL character (allowed: text without NUL, which no program gets)"
    ]
    assert job_problems(environment='{ A = "x\\u0000" }') == [
        "jobs[0] (report).environment: A holds a NUL character (allowed: text without NUL, which no program gets)"
    ]


def test_toml_nested_too_deeply_is_a_message_not_a_traceback():
    deep = "x = " + "[" * 3000 + "]" * 3000 + "\n"
    assert problems(deep) == ["jobs.toml: not valid here: arrays or tables nested too deeply"]


def test_a_config_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "jobs.toml"
    path.write_bytes(b"# " + b"x" * (1024 * 1024))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [f"{path}: 1,048,578 bytes (allowed: at most 1,048,576; a jobs.toml is a few KiB)"]


# --- the watchdog's grace ------------------------------------------------------------------------


def job_with(**fields: str):
    lines = [line for line in JOB.strip().splitlines() if line.split(" = ")[0] not in fields]
    lines += [f"{key} = {value}" for key, value in fields.items()]
    return parse_config(STACK + "\n".join(lines) + "\n").jobs[0]


@pytest.mark.parametrize(
    ("fields", "seconds"),
    [
        ({}, 600),  # a daily job: 10 minutes
        ({"timezone": '"Asia/Tokyo"', "flexible_window_minutes": "15"}, 25 * 60),  # 10 past the window
        ({"schedule": '"rate(5 minutes)"'}, 120),  # half the 5 minutes between runs, in whole minutes
        ({"schedule": '"rate(1 minute)"'}, 60),  # at least a minute
        ({"grace_minutes": "45"}, 45 * 60),
    ],
)
def test_the_grace_before_a_run_is_reported_missed(fields, seconds):
    assert job_with(**fields).grace_seconds == seconds


def test_grace_minutes_out_of_range_or_too_long_is_refused():
    assert job_problems(grace_minutes="0") == [
        "jobs[0] (report).grace_minutes: 0 is out of range (allowed: at least 1)"
    ]
    assert job_problems(schedule='"rate(1 hour)"', grace_minutes="60") == [
        "jobs[0] (report).grace_minutes: 60 minutes is not shorter than the time between runs of rate(1 hour) (1 h) "
        "(allowed: 1 to 59)"
    ]
    assert job_problems(timezone='"Asia/Tokyo"', flexible_window_minutes="15", grace_minutes="15") == [
        "jobs[0] (report).grace_minutes: 15 minutes is not longer than flexible_window_minutes 15: a run may start "
        "that late and still be on time (allowed: 16 or more)"
    ]
    assert job_problems(grace_minutes='"soon"') == [
        'jobs[0] (report).grace_minutes: "soon" is not a whole number (allowed: a whole number without quotes, '
        "for example 256)"
    ]


def test_warn_after_seconds_must_come_before_the_timeout():
    assert job_with(warn_after_seconds="1800").warn_after_seconds == 1800
    assert job_with().warn_after_seconds is None
    assert job_problems(warn_after_seconds="3600") == [
        "jobs[0] (report).warn_after_seconds: 3600 is not shorter than timeout_seconds 3600: the timeout stops the "
        "run first (allowed: 300 to 3599)"
    ]
    assert job_problems(warn_after_seconds="60") == [
        "jobs[0] (report).warn_after_seconds: 60 is out of range (allowed: at least 300)"
    ]
