"""main.py as users run it: a subprocess, its exit code, its messages, and what it leaves on disk."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import DEFAULT_CONFIG

from constructs_lib.reporting import summary as summary_module
from constructs_lib.reporting import warnings as warnings_module

ROOT = Path(__file__).resolve().parent.parent
NOW_EPOCH = 1795852800  # Sat 2026-11-28 08:00 UTC
BAD_CONFIG = """\
[stack]
region = "tokyo"

[[jobs]]
name = "nightly"
schedule = "cron(0 8 * * *)"
image = "alpine"
command = ["true"]
cpu = 256
memory = 4096
"""


def run_main(env_overrides: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "SOURCE_DATE_EPOCH": str(NOW_EPOCH),  # the next-run preview counts from here
        **env_overrides,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py")], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def snapshot_tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def previous_output(tmp_path: Path) -> Path:
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "old").mkdir(parents=True)
    (outdir / "stacks" / "old" / "cdk.tf.json").write_text('{"previous": true}')
    (outdir / "manifest.json").write_text("{}")
    return outdir


def test_bad_config_exits_2_names_each_problem_and_writes_nothing(tmp_path, previous_output):
    config = tmp_path / "jobs.toml"
    config.write_text(BAD_CONFIG)
    before = snapshot_tree(previous_output)
    result = run_main({"JOBS_CONFIG": str(config), "CDKTF_OUTDIR": str(previous_output)}, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {config} has 3 problems; nothing was written:",
        "  stack.region: 'tokyo' is not an AWS region name (for example 'ap-northeast-1')",
        "  jobs[0] (nightly).schedule: 'cron(0 8 * * *)' has 5 fields; EventBridge cron needs 6: minutes hours "
        "day-of-month month day-of-week year",
        "  jobs[0] (nightly).memory: 4096 is not valid with cpu 256 (allowed: 512, 1024, 2048)",
    ]
    assert "Traceback" not in result.stderr
    assert snapshot_tree(previous_output) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out", "jobs.toml"]
    # That it is reported before the AWS provider loads is test_config_errors_do_not_import_the_provider;
    # how fast, `make bench`.


def test_missing_config_file(tmp_path, previous_output):
    result = run_main({"JOBS_CONFIG": str(tmp_path / "absent.toml"), "CDKTF_OUTDIR": str(previous_output)}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'absent.toml'} has 1 problem; nothing was written:",
        f"  {tmp_path / 'absent.toml'}: file not found",
    ]


def test_config_errors_do_not_import_the_provider():
    code = (
        "import sys; from constructs_lib.model.config import parse_config, ConfigError\n"
        "try:\n    parse_config('')\nexcept ConfigError:\n    pass\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('cdktf', 'jsii') or m.startswith('cdktf_cdktf_provider_aws.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_good_config_replaces_the_output_and_prints_a_summary(tmp_path, previous_output):
    stale = tmp_path / ".cdktf.out.k1lled"  # the staging folder of a run killed mid-synth
    (stale / "stacks").mkdir(parents=True)
    result = run_main({"JOBS_CONFIG": str(DEFAULT_CONFIG), "CDKTF_OUTDIR": str(previous_output)}, tmp_path)
    assert not stale.exists()  # removed by the next run
    assert result.returncode == 0, result.stderr
    stack_dir = previous_output / "stacks" / "scheduled-jobs"
    assert result.stdout.splitlines() == [
        f"Synthesized stack 'scheduled-jobs' (ap-northeast-1) into {stack_dir}",
        "  74 resources, 1 job(s):",
        "",
        "  job              schedule           zone  size               timeout  launches, waiting at most  runs",
        "  run-once-a-hour  cron(0 * * * ? *)  UTC   256 cpu / 512 MiB  1 h      4, 7 s                     "
        "one at a time",
        "",
        "  run-once-a-hour next:",
        "    Sat 2026-11-28 09:00 UTC",
        "    Sat 2026-11-28 10:00 UTC",
        "    Sat 2026-11-28 11:00 UTC",
        "  run-once-a-hour launch retries: 3 retries, waiting 1 s, 2 s, 4 s (7 s) ([jobs.retry] sets "
        "backoff_rate, interval_seconds, max_attempts; the rest is the default policy)",
        "  run-once-a-hour watched: a run not started 10 min after its time is reported within 15 min; recovery "
        "notices on",
        "  alerts: log, SNS topic scheduled-jobs-alerts; all but the log through queue scheduled-jobs-alert-queue "
        "(grouped over 30 s)",
        f"Review: cd {stack_dir} && terraform init && terraform plan   (or: cdktf diff / cdktf deploy)",
        f"Review page: {previous_output / 'review.md'}",
    ]
    assert (previous_output / "review.md").read_text().startswith("# Review: stack `scheduled-jobs` (ap-northeast-1)")
    # The shipped example reaches nobody, and its hourly job may outlast its hour: said, not refused.
    assert result.stderr.splitlines() == [
        "warning: no alert reaches a person: a failed run is only logged, and its alarms notify a topic nobody is "
        "subscribed to. Set [alert] emails, webhook_ssm_parameter, chatwork_room_id, teams_webhook_ssm_parameter or "
        "pagerduty_routing_key_ssm_parameter (docs/alerts.md).",
        "warning: jobs[0] (run-once-a-hour): a run can last 1 h 7 s (retry waits, and timeout_seconds 1 h per run "
        "of the task), longer than the 1 h between runs of cron(0 * * * ? *): a run due while the previous one "
        'still runs launches nothing and alerts (concurrency = "forbid"). Shorten timeout_seconds, or set '
        'concurrency = "allow" if runs may overlap.',
    ]
    assert not (previous_output / "stacks" / "old").exists()
    synthesized = json.loads((stack_dir / "cdk.tf.json").read_text())
    assert "aws_sfn_state_machine" in synthesized["resource"]
    # The local state: at the project's root, outside the output every synth replaces, and written
    # relative to the stack's folder, so that a clone elsewhere finds its own.
    state = synthesized["terraform"]["backend"]["local"]["path"]
    assert not Path(state).is_absolute()
    assert (stack_dir / state).resolve() == ROOT / "terraform.scheduled-jobs.tfstate"
    patterns = (ROOT / ".gitignore").read_text().splitlines()
    for name in ("terraform.scheduled-jobs.tfstate", "terraform.scheduled-jobs.tfstate.backup"):
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), f"{name} is not in .gitignore"
    functions = {body["function_name"]: body for body in synthesized["resource"]["aws_lambda_function"].values()}
    assert sorted(functions) == ["scheduled-jobs-alert", "scheduled-jobs-watchdog"]
    archive = stack_dir / functions["scheduled-jobs-alert"]["filename"]
    assert archive.is_file()
    assert_the_package_runs_with_the_standard_library_alone(archive, tmp_path.parent / f"{tmp_path.name}-unzipped")
    assert_the_watchdog_knows_the_job(stack_dir / functions["scheduled-jobs-watchdog"]["filename"], tmp_path.parent)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]  # no staging folders left


def assert_the_package_runs_with_the_standard_library_alone(archive: Path, where: Path) -> None:
    """The zip holds the lambda_src package, the schedule model it shares with the config, and the
    pinned tz data of UTC (the shipped job has no zone), and nothing else; its handler imports and
    logs an alert with no site-packages at all (the Lambda runtime adds only boto3, for SSM and SNS)."""
    with zipfile.ZipFile(archive) as zipped:
        assert sorted(zipped.namelist()) == [
            "constructs_lib/",
            "constructs_lib/__init__.py",
            "constructs_lib/model/",
            "constructs_lib/model/__init__.py",
            "constructs_lib/model/durations.py",
            "constructs_lib/model/schedule_expression.py",
            "constructs_lib/model/time_zone.py",
            "lambda_src/",
            "lambda_src/__init__.py",
            "lambda_src/alert.py",
            "lambda_src/channels.py",
            "lambda_src/chatwork.py",
            "lambda_src/contract.py",
            "lambda_src/delivery.py",
            "lambda_src/digest.py",
            "lambda_src/mail.py",
            "lambda_src/message.py",
            "lambda_src/pagerduty.py",
            "lambda_src/payload.py",
            "lambda_src/slack.py",
            "lambda_src/task_log.py",
            "lambda_src/teams.py",
            "lambda_src/transport.py",
            "lambda_src/undelivered.py",
            "lambda_src/watchdog.py",
            "tzdata/",
            "tzdata/__init__.py",
            "tzdata/zoneinfo/",
            "tzdata/zoneinfo/UTC",
            "tzdata/zoneinfo/__init__.py",
            "tzdata/zones",
        ]
        zipped.extractall(where)
    code = (
        "import json, lambda_src.alert as a\n"
        "print(json.dumps(a.handler({'channel': 'log', 'job': 'x', 'error': 'E'}, None)))"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=where, capture_output=True, text=True, check=True)
    record, returned = (json.loads(line) for line in result.stdout.splitlines())
    assert record["message"] == "scheduled job x failed: E"
    assert returned == {"alert_id": None, "delivered": {"log": "written"}}
    # The shared schedule model runs from the package alone: the next run the alert names.
    code = (
        "import datetime as dt\nfrom constructs_lib.model.schedule_expression import parse_schedule\n"
        "print(parse_schedule('cron(0 * * * ? *)').describe_next_runs(dt.datetime(2026, 11, 30, tzinfo=dt.UTC), "
        "zone='UTC', count=1))"
    )
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=where, capture_output=True, text=True, check=True)
    assert result.stdout == "Mon 2026-11-30 01:00 UTC = Mon 2026-11-30 01:00 UTC\n"


def assert_the_watchdog_knows_the_job(archive: Path, where: Path) -> None:
    """The watchdog's package is the same code with the list of the jobs it watches: names, no ARN;
    its missed-run check runs from the package alone."""
    with zipfile.ZipFile(archive) as zipped:
        watched = json.loads(zipped.read("lambda_src/watched_jobs.json"))
        zipped.extractall(where / "watchdog-unzipped")
    assert watched == [
        {
            "grace_seconds": 600,
            "job": "run-once-a-hour",
            "rule": "scheduled-jobs-run-once-a-hour",
            "schedule": "cron(0 * * * ? *)",
            "state_machine": "scheduled-jobs-run-once-a-hour",
            "timezone": None,
        }
    ]
    code = (
        "import datetime as dt\nfrom pathlib import Path\nfrom lambda_src.watchdog import load_watched, missed_runs\n"
        "(job,) = load_watched(Path('lambda_src/watched_jobs.json'))\n"
        "t = lambda h, m: dt.datetime(2026, 12, 1, h, m, tzinfo=dt.UTC)\n"
        "print(missed_runs(job, starts=[t(1, 0)], since=t(0, 15), until=t(2, 15)))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=where / "watchdog-unzipped", capture_output=True, text=True, check=True
    )
    assert result.stdout == "[datetime.datetime(2026, 12, 1, 2, 0, tzinfo=datetime.timezone.utc)]\n"


def test_failed_synthesis_keeps_the_previous_output(tmp_path, previous_output, monkeypatch, default_config):
    from constructs_lib import stack, synthesis

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(stack, "ScheduledJobsStack", broken)
    before = snapshot_tree(previous_output)
    with pytest.raises(RuntimeError, match="boom"):
        synthesis.synthesize(default_config, previous_output)
    assert snapshot_tree(previous_output) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cdktf.out"]


def test_the_summary_names_every_alert_route_and_warns_only_without_one(multi_config, default_config):

    assert summary_module.alert_routes(multi_config) == (
        "log, SNS topic batch-alerts (e-mail to ops@example.com, oncall+batch@example.org; each confirms AWS's "
        "subscription mail first), Slack (webhook URL in SSM /batch/alerts/slack-webhook), Chatwork room 123456 "
        "(token in SSM /batch/alerts/chatwork-token); all but the log through queue batch-alert-queue (grouped "
        "over 20 s)"
    )
    # every-5-minutes's default policy fits between its runs with its 2-minute timeout; the sync job
    # allows overlaps; the report has a day.
    assert warnings_module.warnings(multi_config) == []
    assert len(warnings_module.warnings(default_config)) == 2
    chat_only = multi_config.model_copy(
        update={"alert": multi_config.alert.model_copy(update={"emails": (), "chatwork_room_id": None})}
    )
    assert [w for w in warnings_module.warnings(chat_only) if w.startswith("no alert")] == []


# --- make test-alert: tools/test-alert with stand-ins for the aws and terraform commands ------------

DEPLOYED = {"alert_function_name": {"value": "scheduled-jobs-alert"}, "region": {"value": "ap-northeast-1"}}
FAKE_TERRAFORM = """#!/bin/sh
case "$*" in
  *"output -json") cat "$OUTPUTS_FILE" ;;
  *) exit 1 ;;
esac
"""
FAKE_AWS = """#!/bin/sh
printf '%s\\n' "$@" > "$CALLS"
for last in "$@"; do :; done
printf '%s' '{"alert_id": null, "delivered": {"log": "written"}}' > "$last"  # as Lambda: no newline
echo "$ANSWER"
"""


def fake_bin(tmp_path: Path, *, aws: bool = True) -> Path:
    """A PATH holding what the script runs: stand-ins for terraform and aws, and real coreutils."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("mktemp", "cat", "rm", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "python3").symlink_to(os.path.realpath(sys.executable))  # the interpreter, not a shim
    scripts = {"terraform": FAKE_TERRAFORM, **({"aws": FAKE_AWS} if aws else {})}
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return bin_dir


def run_test_alert(
    tmp_path: Path, bin_dir: Path, answer: str, outputs: str | None = None
) -> subprocess.CompletedProcess[str]:
    stack_dir = tmp_path / "stacks" / "scheduled-jobs"
    stack_dir.mkdir(parents=True)
    (stack_dir / "cdk.tf.json").write_text("{}")
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(DEPLOYED) if outputs is None else outputs)
    env = {"PATH": str(bin_dir), "CALLS": str(tmp_path / "calls"), "ANSWER": answer, "OUTPUTS_FILE": str(outputs_file)}
    return subprocess.run(
        [shutil.which("bash"), str(ROOT / "tools" / "test-alert"), str(stack_dir), "scheduled-jobs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_test_alert_invokes_the_deployed_function_with_a_test_payload(tmp_path):
    result = run_test_alert(tmp_path, fake_bin(tmp_path), "None")
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[:-1] == [
        "lambda",
        "invoke",
        "--region",
        "ap-northeast-1",
        "--function-name",
        "scheduled-jobs-alert",
        "--cli-binary-format",
        "raw-in-base64-out",
        "--payload",
        '{"test": true, "stack": "scheduled-jobs"}',
        "--query",
        "FunctionError",
        "--output",
        "text",
    ]
    assert result.stdout.splitlines() == [
        '{"alert_id": null, "delivered": {"log": "written"}}',
        'Sent. Check each channel for "[scheduled-jobs] test alert".',
    ]


def test_test_alert_fails_when_the_function_does(tmp_path):
    result = run_test_alert(tmp_path, fake_bin(tmp_path), "Unhandled")
    assert result.returncode == 1
    assert result.stderr == (
        "make test-alert: the function failed (Unhandled): a channel is down or refused; "
        "see its log group /aws/lambda/scheduled-jobs-alert\n"
    )


def test_test_alert_on_a_stack_never_deployed_says_deploy_first(tmp_path):
    """`terraform output -json` of a stack with no state is {} (and -raw would have printed
    Terraform's warning on stdout, exit 0, which the script took for the function's name)."""
    result = run_test_alert(tmp_path, fake_bin(tmp_path), "None", outputs="{}")
    assert result.returncode == 2
    assert result.stderr == (
        f"make test-alert: no output 'alert_function_name' in {tmp_path / 'stacks' / 'scheduled-jobs'}: the "
        "stack is not deployed from here; deploy it first (make deploy)\n"
    )
    assert not (tmp_path / "calls").exists()  # aws was never called


def test_test_alert_says_what_is_missing(tmp_path):
    result = run_test_alert(tmp_path, fake_bin(tmp_path, aws=False), "None")
    assert result.returncode == 2
    assert result.stderr == (
        "make test-alert: needs the AWS CLI (v2): "
        "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html\n"
    )


def test_stack_folder_is_printed_for_the_tools(tmp_path):
    flagged = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--stack-folder"],
        cwd=tmp_path,
        env={**os.environ, "JOBS_CONFIG": str(ROOT / "tests" / "configs" / "multi.toml"), "CDKTF_OUTDIR": "out"},
        capture_output=True,
        text=True,
    )
    assert (flagged.returncode, flagged.stdout) == (0, "out/stacks/batch\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing synthesized
    wrong = subprocess.run([sys.executable, str(ROOT / "main.py"), "--stack"], capture_output=True, text=True)
    assert (wrong.returncode, wrong.stderr) == (2, "usage: main.py [--stack-folder]\n")


def test_the_preview_shows_local_and_utc_times_across_a_change_of_daylight_saving():
    from constructs_lib.model.config import JobSpec

    job = JobSpec(
        name="report",
        schedule="cron(30 8 ? * SAT *)",
        timezone="Europe/Berlin",
        image="alpine",
        command=("true",),
        cpu=256,
        memory=512,
    )
    # Berlin leaves summer time on Sunday 2026-10-25: 08:30 is 06:30 UTC before, 07:30 UTC after.
    after = datetime(2026, 10, 15, tzinfo=UTC)
    assert summary_module.next_runs(job, after) == (
        "Sat 2026-10-17 08:30 CEST = Sat 2026-10-17 06:30 UTC; "
        "Sat 2026-10-24 08:30 CEST = Sat 2026-10-24 06:30 UTC; "
        "Sat 2026-10-31 08:30 CET = Sat 2026-10-31 07:30 UTC"
    )
    rate = job.model_copy(update={"schedule": "rate(2 hours)", "timezone": None})
    assert summary_module.next_runs(rate, after) == "every 2 h, counted from when the schedule is created"


def test_compile_bytecode_writes_the_bytecode_make_synth_runs_even_where_python_writes_none():
    package = importlib.util.find_spec("cdktf_cdktf_provider_aws")
    source = Path(package.submodule_search_locations[0]) / "sfn_state_machine" / "__init__.py"
    compiled = Path(importlib.util.cache_from_source(str(source), optimization=1))
    compiled.unlink(missing_ok=True)
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    script = str(ROOT / "tools" / "compile-bytecode")
    refused = subprocess.run([sys.executable, script], env=environment, capture_output=True, text=True)
    assert (refused.returncode, refused.stderr) == (1, "tools/compile-bytecode: run it with python -O\n")
    assert not compiled.exists()
    subprocess.run([sys.executable, "-O", script], env=environment, capture_output=True, check=True, timeout=120)
    assert compiled.exists()


def test_more_rules_than_the_default_bus_quota_is_a_warning():

    def stack(rules: int) -> dict:
        return {"resource": {"aws_cloudwatch_event_rule": {f"r{index}": {} for index in range(rules)}}}

    assert warnings_module.stack_warnings(stack(300)) == []
    assert warnings_module.stack_warnings(None) == []  # an HCL synth
    assert warnings_module.stack_warnings({}) == []
    assert warnings_module.stack_warnings(stack(301)) == [
        "the stack puts 301 rules on the default event bus (a schedule without a timezone is one, and each job's "
        "ended-early alert is one), more than EventBridge's default quota of 300 rules per bus, which the "
        "account's other rules share: the deploy fails with LimitExceededException unless the quota is raised "
        '(Service Quotas, Amazon EventBridge, "Rules"). A job with a timezone is scheduled by EventBridge '
        "Scheduler, which makes no rule."
    ]


def test_the_rules_warning_counts_the_synthesized_stacks_rules(tmp_path, monkeypatch, capsys):
    import main

    # The shipped job makes 2 (schedule, ended-early), the watchdog 2 (its tick, recoveries).
    monkeypatch.setattr(warnings_module, "DEFAULT_BUS_RULES_QUOTA", 1)
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "cdktf.out"))
    monkeypatch.setenv("JOBS_CONFIG", str(DEFAULT_CONFIG))
    assert main.main([]) == 0
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if "rules on the default event bus" in line]
    assert warning.startswith("warning: the stack puts 4 rules on the default event bus ")
    assert "default quota of 1 rules per bus" in warning


# --- the retry policy in effect: [jobs.retry] over the default, and the default's own sizing -------

FIFTEEN_MINUTES = """
[stack]
region = "ap-northeast-1"

[[jobs]]
name = "sync"
schedule = "rate(15 minutes)"
image = "alpine:3.20"
command = ["true"]
cpu = 256
memory = 512
"""


def test_keys_left_out_of_jobs_retry_take_the_default_policy(tmp_path):
    """The trap: retry_exit_codes alone used to replace the 12 default retries with 3 over 7 s."""
    from constructs_lib.model.config import parse_config

    daily = FIFTEEN_MINUTES.replace("rate(15 minutes)", "cron(0 8 ? * MON-FRI *)")
    config = parse_config(daily + "[jobs.retry]\nretry_exit_codes = [75]\n")
    (job,) = config.jobs
    assert job.retry_policy.waits() == [10, 20, 40, 80] + [120] * 8
    assert job.retry_policy.retry_exit_codes == (75,)
    assert summary_module.retry_source(job) == "[jobs.retry] sets retry_exit_codes; the rest is the default policy"
    assert job.retry_policy.describe() == (
        "12 retries, waiting 10 s, 20 s, 40 s, 1 min 20 s, 2 min x8 (18 min 30 s); exit code 75 relaunched"
    )
    # A longer interval than the default's 2-minute cap is not cut down to it.
    longer = parse_config(daily + "[jobs.retry]\nmax_attempts = 2\ninterval_seconds = 300\n").jobs[0]
    assert longer.retry_policy.waits() == [300, 600]
    capped = parse_config(daily + "[jobs.retry]\nmax_attempts = 3\ninterval_seconds = 100\n").jobs[0]
    assert capped.retry_policy.waits() == [100, 120, 120]
    assert summary_module.retry_source(parse_config(daily).jobs[0]) == "the default policy"


def test_the_default_policy_leaves_a_timeout_of_room_so_an_ordinary_job_does_not_warn():
    from constructs_lib.model.config import parse_config

    ordinary = parse_config(FIFTEEN_MINUTES + "timeout_seconds = 600\n")
    (job,) = ordinary.jobs
    # 5 of the 15 minutes are left after the timeout: the waits that fit in them.
    assert job.retry_policy.waits() == [10, 20, 40, 80, 120]
    assert job.longest_run_seconds == 870
    assert [w for w in warnings_module.warnings(ordinary) if "jobs[0]" in w] == []
    # Runs that may overlap keep the whole period for retries.
    overlapping = parse_config(FIFTEEN_MINUTES + 'timeout_seconds = 600\nconcurrency = "allow"\n').jobs[0]
    assert overlapping.retry_policy.waits() == [10, 20, 40, 80, 120, 120, 120, 120, 120, 120]


def test_a_timeout_that_leaves_no_room_for_retries_says_what_to_change():
    from constructs_lib.model.config import parse_config

    config = parse_config(FIFTEEN_MINUTES)  # timeout_seconds: the default hour
    assert config.jobs[0].retry_policy.max_attempts == 0
    assert [w for w in warnings_module.warnings(config) if "jobs[0]" in w] == [
        "jobs[0] (sync): timeout_seconds 1 h leaves no time for launch retries before the next run of "
        "rate(15 minutes) (15 min later): the default policy keeps a run inside its slot, so it launches once, "
        "and a capacity shortage alerts at once. Shorten timeout_seconds to the longest the job should take, or "
        'set concurrency = "allow" (the default policy would then make 10 retries, waiting 10 s, 20 s, 40 s, '
        "1 min 20 s, 2 min x6 (14 min 30 s))."
    ]


# --- schedules people misread -----------------------------------------------------------------------


def test_weekday_numbers_warn_with_the_days_they_mean_and_a_daily_preview_shows_a_week():
    """Unix cron's 1-5 is MON-FRI; EventBridge's is SUN-THU. The warning says both, and the
    preview shows seven runs, so the Sunday run and the missing Friday are in plain sight."""
    from constructs_lib.model.config import parse_config

    weekdays = FIFTEEN_MINUTES.replace("rate(15 minutes)", "cron(0 8 ? * 1-5 *)")
    config = parse_config(weekdays)
    assert [w for w in warnings_module.warnings(config) if "day-of-week" in w] == [
        "jobs[0] (sync): day-of-week 1-5 in cron(0 8 ? * 1-5 *) counts from Sunday in EventBridge (1 = SUN, "
        "7 = SAT), so 1-5 = SUN-THU; in Unix cron the same numbers mean MON-FRI. Write the days by name "
        "(MON-FRI or SUN-THU, as you mean), which reads the same everywhere."
    ]
    after = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # a Friday
    assert summary_module.next_run_lines(config.jobs[0], after) == [
        "  sync next:",
        "    Sun 2026-11-29 08:00 UTC",
        "    Mon 2026-11-30 08:00 UTC",
        "    Tue 2026-12-01 08:00 UTC",
        "    Wed 2026-12-02 08:00 UTC",
        "    Thu 2026-12-03 08:00 UTC",
        "    Sun 2026-12-06 08:00 UTC",
        "    Mon 2026-12-07 08:00 UTC",
    ]
    named = parse_config(weekdays.replace("1-5", "MON-FRI"))
    assert [w for w in warnings_module.warnings(named) if "day-of-week" in w] == []
    # The count after "#" is not a weekday: 6#3 is the third FRI.
    third = parse_config(weekdays.replace("1-5", "6#3")).jobs[0]
    assert third.parsed_schedule.weekday_numbers() == ("6#3", "FRI#3", "SAT#3")


def test_a_secret_pasted_where_its_parameter_name_belongs_is_never_printed(tmp_path):
    """The user's path: the webhook URL or the Chatwork token itself in the field that names its SSM
    parameter. `make synth` refuses it, says how to store it, and never repeats it (CI logs)."""
    url = "https://hooks.slack.com/services/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"
    token = "0123456789abcdef0123456789abcdef"
    config = tmp_path / "jobs.toml"
    config.write_text(
        FIFTEEN_MINUTES.replace(
            "[[jobs]]",
            f'[alert]\nwebhook_ssm_parameter = "{url}"\nchatwork_room_id = "123"\n'
            f'chatwork_token_ssm_parameter = "{token}\\n"\n\n[[jobs]]',
        )
    )
    result = run_main({"JOBS_CONFIG": str(config), "CDKTF_OUTDIR": str(tmp_path / "out")}, tmp_path)
    assert result.returncode == 2
    assert url not in result.stderr + result.stdout and "s3cr3t" not in result.stderr
    assert token not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert lines[1].startswith("  alert.webhook_ssm_parameter: this looks like a URL itself, not the name of ")
    assert lines[2].startswith("  alert.chatwork_token_ssm_parameter: this looks like a token itself, not the ")
    assert "aws ssm put-parameter --name /scheduled-jobs/chat-webhook --type SecureString" in lines[1]
    assert not (tmp_path / "out").exists()


# --- make bench: a failed step is one line ---------------------------------------------------------


def load_bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "tools" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_bench_reports_a_failed_step_in_one_line(monkeypatch, capsys):
    bench = load_bench()
    with pytest.raises(bench.StepFailed) as failed:
        bench.run(["sh", "-c", "echo working; echo 'tests: 3 failed' >&2; exit 1"])
    assert (
        str(failed.value)
        == "sh -c 'echo working; echo '\"'\"'tests: 3 failed'\"'\"' >&2; exit 1' exited 1: tests: 3 failed"
    )

    def fail(*, quick):
        raise bench.StepFailed("make --no-print-directory test exited 2: make: *** [Makefile:33: test] Error 1")

    monkeypatch.setattr(bench, "measure_all", fail)
    monkeypatch.setattr(sys, "argv", ["bench.py", "--quick"])
    assert bench.main() == 2
    assert capsys.readouterr().err == (
        "make bench: a measured step failed, so there are no figures: make --no-print-directory test exited 2: "
        "make: *** [Makefile:33: test] Error 1\n"
    )


def test_bench_shows_each_time_as_it_is_taken(capsys):
    bench = load_bench()
    times = iter([1.0, 2.0, 3.0, 4.0])
    medians = bench.alternate(2, {"a": lambda: next(times), "b": lambda: next(times)})
    assert medians == {"a": 2.0, "b": 3.0}
    assert capsys.readouterr().err.splitlines() == [
        "  round 1/2: a ... 1.00 s",
        "  round 1/2: b ... 2.00 s",
        "  round 2/2: a ... 3.00 s",
        "  round 2/2: b ... 4.00 s",
    ]


def test_grants_that_hand_the_container_the_account_are_warned_about():
    from constructs_lib.model.config import parse_config

    broad = FIFTEEN_MINUTES.replace(
        "memory = 512\n",
        "memory = 512\ntimeout_seconds = 300\n"
        'task_role_policy_arns = ["arn:aws:iam::aws:policy/AdministratorAccess"]\n'
        '[[jobs.task_role_statements]]\nactions = ["iam:PassRole", "s3:GetObject"]\nresources = ["*"]\n'
        '[[jobs.task_role_statements]]\nactions = ["iam:*"]\nresources = ["arn:aws:iam::123456789012:role/x"]\n'
        '[[jobs.task_role_statements]]\nactions = ["iam:PassRole"]\nresources = ["arn:aws:iam::123456789012:role/x"]\n',
    )
    assert [w for w in warnings_module.warnings(parse_config(broad))[1:] if "parliament" not in w] == [
        "jobs[0] (sync): task_role_policy_arns attaches arn:aws:iam::aws:policy/AdministratorAccess: the container "
        "may do anything that policy allows, to the whole account. Grant only what the job uses "
        "(task_role_statements).",
        "jobs[0] (sync): task_role_statements[0] grants iam:PassRole on *: the container may then give itself any "
        "permission (privilege escalation). Name the roles it may pass or assume, and the IAM actions it needs.",
        "jobs[0] (sync): task_role_statements[1] grants iam:* on arn:aws:iam::123456789012:role/x: the container may "
        "then give itself any permission (privilege escalation). Name the roles it may pass or assume, and the IAM "
        "actions it needs.",
    ]  # a PassRole on one named role is what it should be: no warning


def test_the_users_own_grants_are_linted_with_parliament():
    from constructs_lib.model.config import parse_config

    typo = FIFTEEN_MINUTES.replace(
        "memory = 512\n",
        "memory = 512\ntimeout_seconds = 300\n"
        '[[jobs.task_role_statements]]\nactions = ["s3:GetObjectt"]\nresources = ["arn:aws:s3:::reports/*"]\n',
    )
    assert [w for w in warnings_module.warnings(parse_config(typo)) if "parliament" in w] == [
        "jobs[0] (sync): task_role_statements, parliament UNKNOWN_ACTION: Unknown action s3:GetObjectt"
    ]
    fine = typo.replace("s3:GetObjectt", "s3:GetObject")
    assert [w for w in warnings_module.warnings(parse_config(fine)) if "parliament" in w] == []


def test_the_summary_says_how_each_job_is_watched(multi_config):

    jobs = {job.name: job for job in multi_config.jobs}
    assert summary_module.watched(jobs["nightly-report"], recoveries=True) == (
        "watched: a run not started 25 min after its time is reported within 30 min; recovery notices on; a run "
        "still going after 20 min is announced"
    )
    assert summary_module.watched(jobs["thumbnails"], recoveries=False).endswith("; recovery notices off")
    assert summary_module.watched(jobs["every-5-minutes"], recoveries=True) == "not watched (enabled = false)"
