"""Where each stack keeps its Terraform state: the S3 backend with DynamoDB locking (``backend.remote``) and the
bootstrap stack's local state file (``backend.local``). The bootstrap stack itself is ``stacks.bootstrap``."""

import cdktf_runtime  # noqa: F401  (prepares the environment before cdktf is imported)
