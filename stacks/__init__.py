"""TerraformStacks, split by lifecycle, each composing modules: network, data, storage, service, traffic,
observability (plus ``backend.bootstrap``). ``stacks.app.build_app`` puts them together."""

import cdktf_runtime  # noqa: F401  (prepares the environment before cdktf is imported)
