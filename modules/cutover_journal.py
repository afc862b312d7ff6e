"""The migration tool's journal and operator lock: one encrypted DynamoDB table.

``cutover`` writes every step to this table before it acts (``pk = "journal#<run>"``, ``sk`` = zero-padded step
number) and holds its operator lock there (``pk = "lock"``, written with a conditional put, so a second operator
is refused). A local JSON-lines copy lives under ``.state/<env>/cutover/``.

Example::

    journal = CutoverJournal(stack, "cutover-journal", CutoverJournalProps(
        table_name="paymig-dev-cutover-journal", kms_key_arn=key.arn))
    journal.table.name

Follows: https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/dynamodb_table and
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)
from constructs import Construct

PARTITION_KEY = "pk"
SORT_KEY = "sk"


@dataclass(frozen=True)
class CutoverJournalProps:
    """Props of ``CutoverJournal``.

    Attributes:
        table_name: DynamoDB table name (3-255 characters).
        kms_key_arn: customer-managed key for server-side encryption.
        deletion_protection: refuse to delete the table (the journal is the migration's audit trail); default on.
    """

    table_name: str
    kms_key_arn: str
    deletion_protection: bool = True


class CutoverJournal(Construct):
    """On-demand DynamoDB table (``pk``/``sk`` strings), KMS-encrypted, point-in-time recovery on.

    Attribute: ``table`` (DynamodbTable).
    """

    table: DynamodbTable

    def __init__(self, scope: Construct, id_: str, props: CutoverJournalProps):
        super().__init__(scope, id_)
        self.table = DynamodbTable(
            self, "table", name=props.table_name, billing_mode="PAY_PER_REQUEST", hash_key=PARTITION_KEY,
            range_key=SORT_KEY,
            attribute=[DynamodbTableAttribute(name=PARTITION_KEY, type="S"),
                       DynamodbTableAttribute(name=SORT_KEY, type="S")],
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=props.kms_key_arn),
            deletion_protection_enabled=props.deletion_protection,
        )
