"""TerraformStacks, split by lifecycle, each composing modules: bootstrap (state bucket and lock table), network,
data, storage, service, traffic, observability. ``stacks.app.build_app`` puts them together; their backends come
from ``backend``."""

import cdktf_runtime  # noqa: F401  (prepares the environment before cdktf is imported)
