"""The alert Lambda that all jobs' state machines call when a run gives up."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from constructs import Construct

from constructs_lib.aws_environment import AwsEnvironment
from constructs_lib.iam import render_statements
from constructs_lib.naming import aws_name
from constructs_lib.service_role import ServiceRole
from lambda_src.alert import WEBHOOK_URL_VARIABLE

__all__ = ["LAMBDA_SOURCE", "AlertFunction"]

LAMBDA_SOURCE = Path(__file__).resolve().parent.parent / "lambda_src"
# Supported Python runtimes: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
RUNTIME = "python3.13"


def _staged_source(source: Path) -> str:
    """A copy of the ``.py`` files of ``source``, so caches and editor files stay out of the zip
    (and out of the asset hash, which keeps synth deterministic)."""
    staging = Path(tempfile.mkdtemp(prefix="alert-lambda-"))
    atexit.register(shutil.rmtree, staging, ignore_errors=True)  # synth has copied it by then
    for path in sorted(source.glob("*.py")):
        shutil.copy2(path, staging / path.name)
    return str(staging)


class AlertFunction(Construct):
    """A Python Lambda (``lambda_src/alert.py``) packaged with ``TerraformAsset``; it logs each
    alert and, given a ``webhook_url``, posts it there.

    It logs to its own log group with a retention period; its role may write to that group and
    nothing else. Exposes ``arn`` and ``invoke_statements()`` for the roles that call it.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        aws: AwsEnvironment,
        log_retention_days: int = 30,
        webhook_url: str | None = None,
        source: Path = LAMBDA_SOURCE,
    ) -> None:
        super().__init__(scope, id_)
        function_name = aws_name(name, kind="lambda_function")
        self.log_group = CloudwatchLogGroup(
            self, "logs", name=f"/aws/lambda/{function_name}", retention_in_days=log_retention_days
        )
        self.role = ServiceRole(
            self,
            "role",
            name=aws_name(name, kind="iam_role"),
            service="lambda.amazonaws.com",
            description="The scheduled jobs' alert Lambda: writes its own logs",
            statements=render_statements("logs:write", log_streams=f"{self.log_group.arn}:*"),
        )
        asset = TerraformAsset(self, "code", path=_staged_source(source), type=AssetType.ARCHIVE)
        self.function = LambdaFunction(
            self,
            "function",
            function_name=function_name,
            description="Alerts when a scheduled job's run gives up",
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=["arm64"],
            handler="alert.handler",
            filename=asset.path,
            source_code_hash=asset.asset_hash,
            memory_size=128,
            timeout=30,  # the webhook call gives up after 10 s
            environment={"variables": {WEBHOOK_URL_VARIABLE: webhook_url}} if webhook_url else None,
            depends_on=[self.log_group, self.role.policy] if self.role.policy else [self.log_group],
        )
        self.arn: str = self.function.arn

    def invoke_statements(self) -> list[dict[str, Any]]:
        """What a role needs to invoke this function (and its versions and aliases, ``:*``)."""
        return render_statements("lambda:invoke", function=[self.arn, f"{self.arn}:*"])
