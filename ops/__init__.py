"""Synthesis and deploys: the operator CLI (``python -m ops --help``, ``ops.cli``) and what it runs: deploying
synthesized stacks in dependency order (``ops.deploy``, ``ops.local``), plan summaries (``ops.diff``,
``ops.plan_summary``), the architecture diagram (``ops.diagram``) and the security scan (``ops.security_scan``).

Terraform runs through ``terraform_driver``; the emulated AWS's lifecycle is ``emulator``'s. Nothing here imports
cdktf unless a command needs it, so reading synthesized output stays fast.
"""
