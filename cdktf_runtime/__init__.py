"""The one place where this project adapts cdktf, jsii and Terraform to its runtime.

Importing this package prepares the process environment (Terraform CLI configuration with the offline
provider mirror, telemetry off) before anything imports ``cdktf``; every package of the project imports it first.

- ``environment``: environment variables and the Terraform CLI configuration.
- ``workarounds``: documented work-arounds for bugs of the archived cdktf 0.21 / provider bindings.
- ``provider_loader``: loads the AWS provider bindings lazily in Python and node (assembly at once, resource
  namespaces on first use); ``PAYMIG_PLAIN_PROVIDER_IMPORT=1`` switches it off.
"""

from cdktf_runtime import provider_loader
from cdktf_runtime.environment import PROJECT_ROOT, prepare_environment

prepare_environment()
provider_loader.install()

__all__ = ["PROJECT_ROOT", "prepare_environment"]
