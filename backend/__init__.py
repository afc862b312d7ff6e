"""Terraform state: the bootstrap stack (state bucket + lock table, local state) and the S3 backend of the others."""

import cdktf_runtime  # noqa: F401  (prepares the environment before cdktf is imported)
