"""The package surface: what constructs_lib exports, and the lean provider import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import constructs_lib

ROOT = Path(__file__).resolve().parent.parent


def test_all_lists_every_export_and_each_resolves():
    assert constructs_lib.__all__ == sorted(constructs_lib._EXPORTS)
    for name in constructs_lib.__all__:
        assert getattr(constructs_lib, name).__name__ == name


def test_lean_provider_import_loads_only_what_is_used():
    code = (
        "import sys, constructs_lib.network\n"
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('cdktf_cdktf_provider_aws.')}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    # What network.py imports, and the assembly loader: 11 of the package's ~1,500 modules.
    assert result.stdout.strip() == str(
        [
            "_jsii",
            "data_aws_availability_zones",
            "default_security_group",
            "eip",
            "internet_gateway",
            "nat_gateway",
            "route",
            "route_table",
            "route_table_association",
            "subnet",
            "vpc",
        ]
    )


def test_the_moto_harness_refuses_a_moto_it_was_not_written_for():
    code = "import moto; moto.__version__ = '9.9.9'; import sfn_harness"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "tests", capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: tests/sfn_harness.py patches moto 5.2.5's internals, and moto 9.9.9 is installed: "
        "check each hook against the new version, then change MOTO_VERSION (and the Pipfile pin)"
    )
