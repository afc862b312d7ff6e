"""The one place where this project adapts cdktf, jsii and Terraform to its runtime.

Importing this package prepares the process environment (Terraform CLI configuration with the offline
provider mirror, telemetry off) before anything imports ``cdktf``; every package of the project imports it first.

cdktf 0.21 and its prebuilt providers are archived upstream; every work-around for them lives here:

- ``environment``: environment variables of cdktf and jsii (caches inside the project, no telemetry), on top of
  Terraform's own from ``terraform_driver.environment`` (CLI configuration with the offline mirror).
- ``provider_loader``: loads the AWS provider bindings lazily in Python and node (assembly at once, resource
  namespaces on first use); ``PAYMIG_PLAIN_PROVIDER_IMPORT=1`` switches it off.
- ``hcl_output``: ``cdktf synth --hcl`` writes JSON policies holding references as invalid HCL; an aspect turns
  them into ``jsonencode(...)`` for HCL output only.

One test-only trap is handled in ``tests/conftest.py``: ``Testing.to_be_valid_terraform`` runs a plain
``terraform init`` in jsii's node process, which copied the environment at start-up, so ``TF_CLI_ARGS_init``
is set just before ``import cdktf`` there.
"""

from cdktf_runtime import provider_loader
from cdktf_runtime.environment import PROJECT_ROOT, prepare_environment

prepare_environment()
provider_loader.install()

__all__ = ["PROJECT_ROOT", "prepare_environment"]
