"""The examples in examples/: each synthesizes, and each shows what it is there to show."""

from __future__ import annotations

import json

from conftest import EXAMPLES
from stack_helpers import definition, job_resource, resources

NETWORK_RESOURCES = (
    "aws_vpc",
    "aws_subnet",
    "aws_nat_gateway",
    "aws_internet_gateway",
    "aws_eip",
    "aws_route",
    "aws_route_table",
    "aws_route_table_association",
    "aws_default_security_group",
)


def test_every_example_synthesizes(example_stacks):
    assert sorted(example_stacks) == [
        "existing-vpc-remote-state", "graviton-efs-tagged", "no-nat-cheapest", "tokyo-daily-report"
    ]  # fmt: skip
    assert [path.stem for path in EXAMPLES] == sorted(example_stacks)
    machines = {stem: sorted(body["name"] for body in resources(stack, "aws_sfn_state_machine").values())
                for stem, stack in example_stacks.items()}  # fmt: skip
    assert machines == {
        "existing-vpc-remote-state": ["team-jobs-nightly-import"],
        "graviton-efs-tagged": ["media-transcode"],
        "no-nat-cheapest": ["cheap-jobs-hourly-sync"],
        "tokyo-daily-report": ["daily-report-send-report"],
    }


def test_existing_vpc_creates_no_network_and_runs_in_the_given_subnets(example_stacks):
    stack = example_stacks["existing-vpc-remote-state"]
    assert {kind for kind in NETWORK_RESOURCES if kind in stack["resource"]} == set()
    assert "aws_availability_zones" not in stack.get("data", {})
    run_task = definition(stack, "nightly-import")["States"]["RunJob"]["Branches"][0]["States"]["RunTask"]
    network = run_task["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["Subnets"] == ["subnet-0a1b2c3d4e5f60719", "subnet-0a1b2c3d4e5f6071a"]
    assert network["AssignPublicIp"] == "DISABLED"
    (task_group,) = resources(stack, "aws_security_group")
    assert network["SecurityGroups"] == [f"${{aws_security_group.{task_group}.id}}", "sg-0a1b2c3d4e5f6071b"]
    _, group = job_resource(stack, "aws_security_group", "nightly-import", "task_security-group")
    assert group["vpc_id"] == "vpc-0a1b2c3d4e5f60718"
    assert stack["output"]["vpc_id"]["value"] == "vpc-0a1b2c3d4e5f60718"
    assert stack["output"]["subnet_ids"]["value"] == ["subnet-0a1b2c3d4e5f60719", "subnet-0a1b2c3d4e5f6071a"]


def test_remote_state_in_s3_with_a_lock_file(example_stacks, default_stack):
    assert example_stacks["existing-vpc-remote-state"]["terraform"]["backend"] == {
        "s3": {
            "bucket": "example-terraform-state",
            "key": "team-jobs/terraform.tfstate",
            "region": "eu-central-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }
    assert "backend" not in default_stack["terraform"]  # local state without [stack] backend


def test_the_cheapest_setup_has_no_nat_and_tries_spot_first(example_stacks):
    stack = example_stacks["no-nat-cheapest"]
    assert "aws_nat_gateway" not in stack["resource"]
    states = definition(stack, "hourly-sync")["States"]
    first = states["RunJob"]["Branches"][0]["States"]["RunTask"]["Parameters"]
    assert first["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    assert first["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    then = states["RunJobOnFargate"]["Branches"][0]["States"]["RunTaskOnFargate"]["Parameters"]
    assert then["LaunchType"] == "FARGATE"


def test_the_tokyo_report_runs_at_eight_in_tokyo_and_mails_the_team(example_stacks):
    stack = example_stacks["tokyo-daily-report"]
    _, schedule = job_resource(stack, "aws_scheduler_schedule", "send-report", "schedule")
    assert (schedule["schedule_expression"], schedule["schedule_expression_timezone"]) == (
        "cron(0 8 * * ? *)",
        "Asia/Tokyo",
    )
    (subscription,) = resources(stack, "aws_sns_topic_subscription").values()
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "ops@example.com")


def test_outputs_name_each_job_and_how_to_start_it_now(default_stack):
    outputs = default_stack["output"]
    assert sorted(outputs) == [
        "alert_function_name",
        "alert_topic_arn",
        "cluster_name",
        "dead_letter_queue_url",
        "jobs",
        "region",
        "subnet_ids",
        "vpc_id",
    ]
    (name,) = resources(default_stack, "aws_sfn_state_machine")
    machine = f"${{aws_sfn_state_machine.{name}.arn}}"
    (group,) = [
        n for n in resources(default_stack, "aws_cloudwatch_log_group") if n.startswith("job-run-once-a-hour_task_")
    ]
    region = outputs["region"]["value"]
    assert outputs["jobs"]["value"] == {
        "run-once-a-hour": {
            "state_machine_arn": machine,
            "schedule_name": "scheduled-jobs-run-once-a-hour",
            "log_group": f"${{aws_cloudwatch_log_group.{group}.name}}",
            "missed_run_grace_seconds": 600,  # the watchdog's grace: 10 minutes for an hourly job
            "start_execution": f"aws stepfunctions start-execution --region {region} --state-machine-arn {machine} "
            f"--input '{json.dumps({'job': 'run-once-a-hour', 'startedBy': 'hand'})}'",
        }
    }
