"""Import the AWS provider bindings one submodule at a time.

``cdktf_cdktf_provider_aws/__init__.py`` imports every one of its ~1,500 submodules, which takes
about 20 s per process on a 2-core machine, though each submodule needs only the package's
``_jsii`` module (which loads the provider's jsii assembly, about 5 s). Registering the package
in ``sys.modules`` without running its ``__init__`` lets
``from cdktf_cdktf_provider_aws.vpc import Vpc`` load just ``vpc`` and ``_jsii``.

The cost: ``import cdktf_cdktf_provider_aws as aws; aws.s3_bucket`` works only once
``cdktf_cdktf_provider_aws.s3_bucket`` has been imported; ``from cdktf_cdktf_provider_aws.s3_bucket
import S3Bucket`` always works. Set ``CDKTF_PROVIDER_FULL_IMPORT=1`` to import the whole package.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
import types

PACKAGE = "cdktf_cdktf_provider_aws"
DISTRIBUTION = "cdktf-cdktf-provider-aws"
# The versions whose package layout (submodules that need only ``_jsii``) this was checked against.
TESTED_VERSIONS = ("21.22.1",)


def use_lean_provider_import() -> bool:
    """Register the provider package without running its ``__init__``; ``True`` if it did."""
    if PACKAGE in sys.modules or os.environ.get("CDKTF_PROVIDER_FULL_IMPORT"):
        return False
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return False  # not installed: the real import reports it
    if version not in TESTED_VERSIONS:
        print(
            f"note: {DISTRIBUTION} {version} is not a version the lean import was tested with "
            f"({', '.join(TESTED_VERSIONS)}); importing the whole package (slower)",
            file=sys.stderr,
        )
        return False
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without executing it
    if spec is None or spec.submodule_search_locations is None:
        return False
    package = types.ModuleType(PACKAGE, "cdktf-cdktf-provider-aws, loaded submodule by submodule")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    sys.modules[PACKAGE] = package
    return True
