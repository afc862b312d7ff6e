"""Operator commands around cdktf and Terraform (``python -m ops --help``); the Makefile calls them.

Nothing here imports cdktf unless a command needs it, so reading synthesized output stays fast.
"""
