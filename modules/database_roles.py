"""Secrets Manager secrets of the database roles that the components use instead of the RDS master user.

Terraform creates each secret (name, KMS key, recovery window) *without a value*; the runbook step
``cutover roles`` creates the PostgreSQL role, generates its password and writes the secret
(``{"engine", "host", "port", "dbname", "username", "password"}``). So no database credential is ever in
Terraform configuration or state, and the master user stays with RDS for administration. The DMS endpoint secrets
(``modules.dms``) follow the same pattern for the two DMS roles.

Follows: https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/secretsmanager_secret and
https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html (database
secret structure).

Example:
    secrets = DatabaseRoleSecrets(stack, "db-roles", DatabaseRoleSecretsProps(
        secrets={"app": "paymig-dev/db/app"}, kms_key_arn=key.arn))
    secrets.arn("app")  # token of the secret's ARN
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from constructs import Construct


@dataclass(frozen=True)
class DatabaseRoleSecretsProps:
    """Props of ``DatabaseRoleSecrets``.

    Attributes:
        secrets: key (e.g. ``app``, ``validation-source``) -> secret name.
        kms_key_arn: key that encrypts the secrets; None uses the AWS-managed ``aws/secretsmanager`` key.
        recovery_window_days: days a deleted secret can be restored (0: delete at once). Default 7.

    Raises:
        ValueError: no secret, or a recovery window outside 0 and 7-30 days (Secrets Manager's rule).
    """

    secrets: dict[str, str] = field(default_factory=dict)
    kms_key_arn: str | None = None
    recovery_window_days: int = 7

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError("secrets = {}: name at least one database role secret")
        if self.recovery_window_days != 0 and not 7 <= self.recovery_window_days <= 30:
            raise ValueError(f"recovery_window_days = {self.recovery_window_days}: must be 0 or 7-30")


class DatabaseRoleSecrets(Construct):
    """One value-less, KMS-encrypted secret per database role. Attribute: ``secrets`` (key -> SecretsmanagerSecret).
    """

    def __init__(self, scope: Construct, id_: str, props: DatabaseRoleSecretsProps):
        super().__init__(scope, id_)
        self.secrets = {key: SecretsmanagerSecret(
            self, key, name=name, kms_key_id=props.kms_key_arn, recovery_window_in_days=props.recovery_window_days,
            description=f"Database role credentials ({key}); value written by `cutover roles`, never by Terraform")
            for key, name in sorted(props.secrets.items())}

    def arn(self, key: str) -> str:
        """Token of the ARN of the secret ``key``.

        Raises:
            KeyError: no secret of that key.
        """
        return self.secrets[key].arn
