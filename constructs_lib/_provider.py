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

import importlib.util
import os
import sys
import types

PACKAGE = "cdktf_cdktf_provider_aws"


def register_lean_package() -> None:
    if PACKAGE in sys.modules or os.environ.get("CDKTF_PROVIDER_FULL_IMPORT"):
        return
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without executing it
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the real import reports it
    package = types.ModuleType(PACKAGE, "cdktf-cdktf-provider-aws, loaded submodule by submodule")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    sys.modules[PACKAGE] = package
