"""The package surface: what constructs_lib exports, and the lean provider import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import constructs_lib

ROOT = Path(__file__).resolve().parent.parent
# The packages of either flavour (constructs_lib._provider) and what they run on.
FRAMEWORK_PACKAGES = ("cdktf", "cdktn", "constructs", "cdktf_cdktf_provider_aws", "cdktn_provider_aws", "jsii")


def test_all_lists_every_export_and_each_resolves():
    assert constructs_lib.__all__ == sorted(constructs_lib._EXPORTS)
    for name in constructs_lib.__all__:
        assert getattr(constructs_lib, name).__name__ == name


def test_the_moto_harness_refuses_a_moto_it_was_not_written_for():
    code = "import moto; moto.__version__ = '9.9.9'; import sfn_harness"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "tests", capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ImportError: tests/sfn_harness.py patches moto 5.2.5's internals, and moto 9.9.9 is installed: "
        "check each hook against the new version, then change MOTO_VERSION (and the Pipfile pin)"
    )


def test_importing_the_package_changes_no_module_registry():
    code = "import sys, constructs_lib; print('cdktf_cdktf_provider_aws' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_an_untested_provider_version_gets_the_normal_import_and_a_note():
    code = (
        "import importlib.metadata, sys\n"
        "importlib.metadata.version = lambda name: '99.0.0'\n"
        "from constructs_lib._provider import use_lean_provider_import\n"
        "print(use_lean_provider_import(), 'cdktf_cdktf_provider_aws' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"
    assert result.stderr.strip() == (
        "note: cdktf-cdktf-provider-aws 99.0.0 is not a version the lean import was tested with (21.22.1); "
        "importing the whole package (slower)"
    )


def test_a_struct_jsii_builds_and_returns_resolves_under_the_lean_import():
    """An object Python never constructed (the provider's default tags, built in the jsii
    runtime from a plain dict and returned) comes back as its generated class."""
    code = (
        "import sys, constructs_lib\n"
        "assert constructs_lib.use_lean_provider_import()\n"
        "from cdktf import App, TerraformStack\n"
        "from cdktf_cdktf_provider_aws.provider import AwsProvider\n"
        "stack = TerraformStack(App(), 's')\n"
        "provider = AwsProvider(stack, 'aws', region='us-east-1', default_tags=[{'tags': {'a': 'b'}}])\n"
        "tags = provider.default_tags\n"
        "print(type(tags[0]).__module__, tags[0].tags)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "cdktf_cdktf_provider_aws.provider {'a': 'b'}"


def _imports(path: Path) -> set[str]:
    """The modules a source file imports (``from x import y`` and ``import x``), by AST."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_layers_import_one_way():
    """model imports nothing of the project but itself; documents, only the model and itself;
    reporting, those two and itself; none imports cdktf, constructs or the provider. Both may use the alert Lambda's two
    standard-library module that the Lambda shares with them (its contract)."""
    shared = ("lambda_src.contract",)
    allowed = {
        "model": ("constructs_lib.model", *shared),
        "documents": ("constructs_lib.model", "constructs_lib.documents", *shared),
        "reporting": ("constructs_lib.model", "constructs_lib.documents", "constructs_lib.reporting", *shared),
    }
    # At least the modules each layer has today, so that a moved folder cannot pass unread.
    least = {"model": 9, "documents": 6, "reporting": 6}
    for layer, prefixes in allowed.items():
        modules = sorted((ROOT / "constructs_lib" / layer).glob("*.py"))
        assert len(modules) >= least[layer], layer
        for module in modules:
            for imported in _imports(module):
                if imported.split(".")[0] in ("constructs_lib", "lambda_src"):
                    assert imported.startswith(prefixes), f"{module.name} imports {imported}"
                assert imported.split(".")[0] not in FRAMEWORK_PACKAGES
                assert not imported.startswith(("constructs_lib.cdk", "constructs_lib.aws"))


def test_pure_layers_load_without_jsii():
    code = (
        "import sys, importlib, pkgutil, constructs_lib.model, constructs_lib.documents, constructs_lib.reporting\n"
        "for package in (constructs_lib.model, constructs_lib.documents, constructs_lib.reporting):\n"
        "    for info in pkgutil.iter_modules(package.__path__):\n"
        "        importlib.import_module(f'{package.__name__}.{info.name}')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsii', 'cdktf', 'constructs')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def _source_files() -> list[Path]:
    """The project's own source: the app, its constructs and the Lambda's code, and the tools."""
    found = [ROOT / "main.py", *(ROOT / "tools").iterdir()]
    for package in ("constructs_lib", "lambda_src"):
        found += (ROOT / package).rglob("*.py")
    return sorted(path for path in found if path.is_file() and "__pycache__" not in path.parts)


def test_each_alert_channel_lives_in_its_two_modules_and_the_lambdas_table():
    """A channel is its settings in the config's channel table, its Lambda module, and one line of
    the Lambda's table; no other source file names it (docstrings included)."""
    from constructs_lib.model.alert_channels import CHANNELS as CONFIG_CHANNELS
    from lambda_src.channels import CHANNELS as LAMBDA_CHANNELS

    assert LAMBDA_CHANNELS == CONFIG_CHANNELS == ("log", "email", "slack", "chatwork", "teams", "pagerduty")
    sources = _source_files()
    for name in ("slack", "chatwork", "teams", "pagerduty"):
        naming = {str(path.relative_to(ROOT)) for path in sources if name in path.read_text().lower()}
        assert naming == {"constructs_lib/model/alert_channels.py", "lambda_src/channels.py", f"lambda_src/{name}.py"}


def test_a_capacity_source_is_named_in_one_file():
    literals = {}
    for path in _source_files():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in ("FARGATE", "FARGATE_SPOT"):
                literals.setdefault(node.value, set()).add(str(path.relative_to(ROOT)))
    assert literals == {
        "FARGATE": {"constructs_lib/model/capacity.py"},
        "FARGATE_SPOT": {"constructs_lib/model/capacity.py"},
    }


def test_no_module_is_over_450_lines_and_main_is_the_command_line_only():
    lengths = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in _source_files()}
    assert {path: length for path, length in lengths.items() if length > 450} == {}
    assert lengths["main.py"] <= 150


def test_only_the_flavour_module_names_the_framework_or_the_provider():
    """Every other module imports them as constructs_lib.cdk and constructs_lib.aws.<module>."""
    naming = {}
    for path in _source_files():
        if path.suffix != ".py" or path.name == "_provider.py":
            continue
        imported = {name.split(".")[0] for name in _imports(path)} & set(FRAMEWORK_PACKAGES) - {"constructs", "jsii"}
        if imported:
            naming[str(path.relative_to(ROOT))] = imported
    assert naming == {}
