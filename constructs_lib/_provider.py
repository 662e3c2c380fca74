"""The one module that names the CDK framework and its AWS provider bindings: the flavour.

Two flavours build the same stack from the same code:

- ``cdktf`` (the default): HashiCorp's CDK for Terraform, ``cdktf`` 0.21 and the prebuilt
  ``cdktf-cdktf-provider-aws`` 21.x (``hashicorp/aws`` 6.25). Archived on 2025-12-10.
- ``cdktn``: CDK Terrain, the community fork, ``cdktn`` 0.24 and ``cdktn-provider-aws`` 25.x
  (``hashicorp/aws`` 6.69).

``CDK_FLAVOR`` chooses; every other module imports the framework as ``constructs_lib.cdk`` and a
provider module as ``constructs_lib.aws.<module>`` (``from constructs_lib.aws.vpc import Vpc``),
which this module resolves to the flavour's own packages. The alias is the real module, not a
copy, so jsii sees each class once.

The lean import: ``cdktf_cdktf_provider_aws/__init__.py`` imports every one of its ~1,500
submodules, which takes about 20 s per process on a 2-core machine, though each submodule needs
only the package's ``_jsii`` module (which loads the provider's jsii assembly, about 5 s).
Registering the package in ``sys.modules`` without running its ``__init__`` lets
``constructs_lib.aws.vpc`` load just ``vpc`` and ``_jsii``. ``cdktn_provider_aws``'s own
``__init__`` already loads its submodules on first use, so it is imported as it is. Set
``CDKTF_PROVIDER_FULL_IMPORT=1`` to import the whole cdktf provider package.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
import types
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FLAVORS",
    "FLAVOR_VARIABLE",
    "Flavor",
    "FlavorError",
    "flavor",
    "install_aliases",
    "use_lean_provider_import",
]


@dataclass(frozen=True)
class Flavor:
    name: str
    framework: str  # the Python package of the framework
    provider: str  # the Python package of the AWS provider bindings
    distribution: str  # its distribution, as pip names it
    cli: str  # the command of its CLI (package.json)
    folder: str  # where its Pipfile and package.json live, and its environment is built (the Makefile)
    #: The provider versions whose package layout (submodules that need only ``_jsii``) the lean
    #: import was checked against; empty: the package loads its submodules lazily itself.
    lean_versions: tuple[str, ...] = ()


FLAVOR_VARIABLE = "CDK_FLAVOR"
FLAVORS: dict[str, Flavor] = {
    "cdktf": Flavor(
        "cdktf", "cdktf", "cdktf_cdktf_provider_aws", "cdktf-cdktf-provider-aws", "cdktf", ".", ("21.22.1",)
    ),
    "cdktn": Flavor("cdktn", "cdktn", "cdktn_provider_aws", "cdktn-provider-aws", "cdktn", "flavors/cdktn"),
}
DEFAULT_FLAVOR = "cdktf"
FRAMEWORK_ALIAS = "constructs_lib.cdk"
PROVIDER_ALIAS = "constructs_lib.aws"


def environment_python(chosen: Flavor) -> str:
    """The flavour's Python, relative to the project: ``.venv/bin/python`` for the default."""
    return f"{chosen.folder}/.venv/bin/python".removeprefix("./")


class FlavorError(ValueError):
    """``CDK_FLAVOR`` names no flavour."""


def flavor() -> Flavor:
    """The flavour ``CDK_FLAVOR`` chooses (``cdktf`` when unset or empty)."""
    name = os.environ.get(FLAVOR_VARIABLE) or DEFAULT_FLAVOR
    if name not in FLAVORS:
        raise FlavorError(f"{FLAVOR_VARIABLE}={name!r} is not a flavour (allowed: {', '.join(FLAVORS)})")
    return FLAVORS[name]


def _real_name(alias: str) -> str:
    chosen = flavor()
    if alias == FRAMEWORK_ALIAS:
        return chosen.framework
    return chosen.provider + alias[len(PROVIDER_ALIAS) :]


class _Aliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``constructs_lib.cdk`` and ``constructs_lib.aws[.<module>]`` to the flavour's own
    modules: the same module objects, under a second name."""

    def __init__(self) -> None:
        self._specs: dict[str, Any] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname in (FRAMEWORK_ALIAS, PROVIDER_ALIAS) or fullname.startswith(PROVIDER_ALIAS + "."):
            return importlib.util.spec_from_loader(fullname, self, is_package=fullname == PROVIDER_ALIAS)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(_real_name(spec.name))
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system set the alias's spec on the real module: give it back its own.
        module.__spec__ = self._specs.pop(module.__spec__.name)  # type: ignore[union-attr]


_ALIASES = _Aliases()


def install_aliases() -> None:
    """Make ``constructs_lib.cdk`` and ``constructs_lib.aws`` importable (nothing loads until used)."""
    if _ALIASES not in sys.meta_path:
        sys.meta_path.insert(0, _ALIASES)


def use_lean_provider_import() -> bool:
    """Register the cdktf provider package without running its ``__init__``; ``True`` if it did."""
    install_aliases()
    chosen = flavor()
    if not chosen.lean_versions or chosen.provider in sys.modules or os.environ.get("CDKTF_PROVIDER_FULL_IMPORT"):
        return False
    try:
        version = importlib.metadata.version(chosen.distribution)
    except importlib.metadata.PackageNotFoundError:
        return False  # not installed: the real import reports it
    if version not in chosen.lean_versions:
        print(
            f"note: {chosen.distribution} {version} is not a version the lean import was tested with "
            f"({', '.join(chosen.lean_versions)}); importing the whole package (slower)",
            file=sys.stderr,
        )
        return False
    spec = importlib.util.find_spec(chosen.provider)  # finds the package without executing it
    if spec is None or spec.submodule_search_locations is None:
        return False
    package = types.ModuleType(chosen.provider, f"{chosen.distribution}, loaded submodule by submodule")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    package.__package__ = chosen.provider
    package.__loader__ = spec.loader
    sys.modules[chosen.provider] = package
    return True
