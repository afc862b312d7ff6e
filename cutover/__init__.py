"""The migration tool: proves the databases equal, checks readiness, shifts traffic, switches the writer.

Run as ``python -m cutover --help``. It acts on live payment data, so it stays apart from ``ops/`` (synthesis
and deploys): it never imports cdktf, jsii, the provider bindings or ``cdktf_runtime``, and it reads a deployed
environment through the stacks' outputs and Secrets Manager only. No output of it carries a row value, a
password or a secret: keys, counts and hashes only.
"""
