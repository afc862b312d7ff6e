"""Moved to ``terraform_driver.synthesized`` (reading ``cdktf.out`` is the driver's job); kept so that
``from ops.synthesized import ...`` still works."""

from terraform_driver.synthesized import (  # noqa: F401
    DEFAULT_OUTDIR,
    SynthesizedStack,
    prerequisites,
    read_stacks,
    state_stack,
)
