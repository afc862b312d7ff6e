"""One Terraform driver for every caller: deploys, diffs, state inspection, validation, the cutover tool.

Public API::

    from terraform_driver import Terraform, TerraformError, read_stacks

    stacks = read_stacks(Path("cdktf.out"))          # manifest + cdk.tf.json, in dependency order
    tf = Terraform(stacks["network"].directory)      # env: optional extra variables
    tf.init()                                        # or init(backend_config={"path": ...})
    tf.plan(out=Path("plan"))                        # PlanResult: has_changes, counts, changes
    tf.apply(Path("plan"))                           # ApplyResult: counts, seconds, slowest resources
    tf.output()                                      # {"vpc_id": "vpc-..."}
    tf.show_json(Path("plan")); tf.state_list(); tf.state_show(address); tf.state_pull(); tf.validate()
    tf.destroy(refresh=False)

- ``terraform_driver.terraform``: ``Terraform``, ``TerraformError`` (stack, command, diagnostics), results;
- ``terraform_driver.synthesized``: reading ``cdktf.out`` (``read_stacks``, ``state_stack``, ``prerequisites``);
- ``terraform_driver.environment``: the process environment of every Terraform command (CLI configuration with
  the offline provider mirror, ``GOGC``, no checkpoint, provider cache).

Nothing here imports cdktf, jsii or the provider bindings: reading and driving synthesized output is cheap.
"""

from terraform_driver.environment import PROJECT_ROOT, terraform_environment
from terraform_driver.synthesized import (
    DEFAULT_OUTDIR,
    SynthesizedStack,
    UnknownStack,
    prerequisites,
    read_stacks,
    stack_named,
    state_stack,
)
from terraform_driver.terraform import (
    LOCK_TIMEOUT,
    ApplyResult,
    Diagnostic,
    PlanResult,
    Terraform,
    TerraformError,
)

__all__ = [
    "DEFAULT_OUTDIR", "LOCK_TIMEOUT", "PROJECT_ROOT", "ApplyResult", "Diagnostic", "PlanResult", "SynthesizedStack",
    "Terraform", "TerraformError", "UnknownStack", "prerequisites", "read_stacks", "stack_named", "state_stack",
    "terraform_environment",
]
