"""Constructs, one AWS capability each, every one configured by a typed, frozen props dataclass.

- ``network``: VPC, subnets in three tiers, routing and the security groups of every tier.
- ``postgres``: an RDS for PostgreSQL instance with its parameter group (logical replication).
- ``dms``: AWS DMS roles, subnet group, replication instance, endpoints and the full-load-and-CDC task.
- ``replicated_bucket``: a versioned, encrypted S3 bucket replicated to a bucket in another region.
- ``fargate_service``: ECS Fargate service behind an Application Load Balancer, with autoscaling.
- ``weighted_dns``: Route 53 zone, health checks and weighted records (legacy and new).
- ``observability``: CloudWatch dashboard and alarms with an SNS topic.
"""

import cdktf_runtime  # noqa: F401  (prepares the environment before cdktf is imported)
