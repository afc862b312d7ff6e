#!/usr/bin/env python
"""cdktf entry point: synthesize every stack of the selected environment into cdktf.out.

The environment is the cdktf context value ``environment``, else ``$PAYMIG_ENVIRONMENT``, else ``dev``.
"""

import cdktf_runtime  # noqa: F401  (must come first: environment for jsii/Terraform)

import sys

from cdktf import App

from config import ConfigError, load_config, selected_environment
from cdktf_runtime.hcl_output import prepare_for_hcl
from stacks.app import build_stacks


def main() -> int:
    app = App()
    try:
        config = load_config(selected_environment(app.node.try_get_context("environment")))
        build_stacks(app, config)  # an emulator environment also reads $PAYMIG_AWS_ENDPOINT_URL here
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    prepare_for_hcl(app.node.children)  # `cdktf synth --hcl` only: see cdktf_runtime/hcl_output.py
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
