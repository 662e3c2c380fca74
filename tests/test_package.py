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
