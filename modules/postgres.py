"""An RDS for PostgreSQL instance with its own parameter group.

The parameter group family follows the engine's major version (``postgres15`` for 15.7). For a CDC source it
sets ``rds.logical_replication=1``, ``max_replication_slots`` and ``max_wal_senders`` (static parameters, applied
``pending-reboot``), ``wal_sender_timeout``, ``wal_receiver_status_interval`` and ``max_slot_wal_keep_size``
(dynamic). ``rds.force_ssl=1`` is set on every instance. The
master password is generated and kept by RDS in Secrets Manager (``manage_master_user_password``): it never
appears in Terraform configuration or state.

Versions stay deployable: ``engine_version`` is either the major version only with ``auto_minor_version_upgrade``
(the provider accepts any minor of that major, so RDS's own upgrades never make the next apply fail) or a pinned
minor without it (``config.models.PostgresInstance`` enforces one of the two). A major upgrade needs
``allow_major_version_upgrade``; the parameter group's name carries the family and it is created before the old
one is destroyed, so the instance moves to the new family's group in the same apply. Maintenance and backup
windows are per instance (UTC).

An imported instance (``PostgresProps.imported``) keeps its network placement, port and endpoint (the props carry
its own subnet group, security groups and port), never has a change applied outside its maintenance window
(``apply_immediately`` off) and never gets its engine version changed by Terraform (``ignore_changes``: the
import reads the exact minor version, which a major-only ``engine_version`` would otherwise "change"), so the
import does not interrupt the legacy application.

Example::

    from modules.postgres import LogicalReplication, PostgresDatabase, PostgresProps

    source = PostgresDatabase(stack, "source", PostgresProps(
        identifier="paymig-dev-source", parameter_group_name="paymig-dev-source-postgres15", engine_version="15.7",
        instance_class="db.t4g.medium", allocated_storage_gib=50, max_allocated_storage_gib=200, multi_az=False,
        backup_retention_days=7, database_name="payments", master_username="paymig_admin",
        subnet_group_name="paymig-dev-db", security_group_ids=("sg-db",), protected=False,
        logical_replication=LogicalReplication(), address="source"))
    secret_arn = source.secret_arn  # RDS-managed master secret of aws_db_instance.source

Follows: https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/db_instance,
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.PostgreSQL.html,
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html (RDS source prerequisites) and
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from modules.addressing import with_address
from modules.iam import assume_role_policy

ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


@dataclass(frozen=True)
class LogicalReplication:
    """Settings of a database that is a source of change data capture (AWS DMS or PostgreSQL logical replication),
    and, for native logical replication, the subscriber of the other direction.

    Attributes:
        max_replication_slots: replication slots (one per DMS task, plus headroom); default 10.
        max_wal_senders: concurrent WAL sender processes; default 10.
        wal_sender_timeout_ms: milliseconds before an idle replication connection is ended; 0 disables; default 0.
        wal_receiver_status_interval_seconds: how often, at most, a logical replication apply worker on this
            database reports its position to the publisher, in seconds; default 1 (PostgreSQL's default is 10).
            A switchover's drain waits until the publisher's slot shows the freeze LSN confirmed, so with native
            replication this bounds how long the write freeze waits for that report. DMS does not read it.
            Follows https://www.postgresql.org/docs/15/runtime-config-replication.html#GUC-WAL-RECEIVER-STATUS-INTERVAL
            ("logical replication workers are also affected").
        max_slot_wal_keep_size_mb: the most WAL a replication slot may keep in ``pg_wal``, MB (RDS parameter
            ``max_slot_wal_keep_size``, dynamic); default 10240 (10 GiB). A slot that falls further behind (a
            stopped direction, a DMS task that failed) is invalidated (``wal_status = lost``) instead of filling the
            disk: that direction then starts again from a new slot (``cutover replication drop-slot``, then
            ``start``), and the next switch compares everything. Must stay below the allocated storage
            (``PostgresProps.allocated_storage_gib``). PostgreSQL's default -1 (unlimited) lets one forgotten slot
            stop the database. Follows
            https://www.postgresql.org/docs/15/runtime-config-replication.html#GUC-MAX-SLOT-WAL-KEEP-SIZE and
            https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html (the slot of a stopped
            task keeps WAL: storage full).
    """

    max_replication_slots: int = 10
    max_wal_senders: int = 10
    wal_sender_timeout_ms: int = 0
    wal_receiver_status_interval_seconds: int = 1
    max_slot_wal_keep_size_mb: int = 10240


@dataclass(frozen=True)
class PostgresProps:
    """Props of ``PostgresDatabase``.

    Attributes:
        identifier: DB instance identifier (1-63 characters).
        parameter_group_name: name of the instance's parameter group.
        engine_version: PostgreSQL MAJOR.MINOR, e.g. ``15.7``.
        instance_class: e.g. ``db.t4g.medium``.
        allocated_storage_gib / max_allocated_storage_gib: gp3 storage and storage-autoscaling ceiling, GiB.
        multi_az: standby in a second AZ.
        backup_retention_days: automated backups kept, days (1-35).
        database_name / master_username: initial database and master user.
        subnet_group_name: DB subnet group (database tier).
        security_group_ids: VPC security groups of the instance.
        protected: deletion protection on and a final snapshot on delete.
        logical_replication: settings for a CDC source; None for a target.
        kms_key_arn: customer-managed key for storage, Performance Insights and the master user secret; None uses
            the AWS-managed keys.
        monitoring_role_arn: IAM role for Enhanced Monitoring (``enhanced_monitoring_role``); None turns it off.
        monitoring_interval_seconds: Enhanced Monitoring granularity, seconds (1, 5, 10, 15, 30 or 60).
        auto_minor_version_upgrade: RDS upgrades the minor version in the maintenance window (with a major-only
            ``engine_version``). Default on.
        allow_major_version_upgrade: allow a change of ``engine_version``'s major version. Default off.
        maintenance_window: weekly, UTC, ``ddd:hh24:mi-ddd:hh24:mi``; backup_window: daily, UTC, ``hh24:mi-hh24:mi``.
        port: PostgreSQL port. Default 5432.
        imported: the instance exists and is imported: changes wait for its maintenance window.
        address: fixed Terraform name of both the ``aws_db_instance`` and its ``aws_db_parameter_group`` (``modules.addressing``); None: cdktf's path-derived name.
    """

    identifier: str
    parameter_group_name: str
    engine_version: str
    instance_class: str
    allocated_storage_gib: int
    max_allocated_storage_gib: int
    multi_az: bool
    backup_retention_days: int
    database_name: str
    master_username: str
    subnet_group_name: str
    security_group_ids: tuple[str, ...]
    protected: bool
    logical_replication: LogicalReplication | None = None
    kms_key_arn: str | None = None
    monitoring_role_arn: str | None = None
    monitoring_interval_seconds: int = 60
    auto_minor_version_upgrade: bool = True
    allow_major_version_upgrade: bool = False
    maintenance_window: str = "sun:04:30-sun:05:30"
    backup_window: str = "03:00-04:00"
    port: int = 5432
    imported: bool = False
    address: str | None = None

    @property
    def parameter_group_family(self) -> str:
        """``postgres<major>`` for the engine version."""
        return f"postgres{self.engine_version.split('.')[0]}"

    def parameters(self) -> list[tuple[str, str, str]]:
        """Parameters of the group as (name, value, apply_method), sorted by name.

        Raises:
            ValueError: ``logical_replication.max_slot_wal_keep_size_mb`` not positive or not below the allocated
                storage (a slot could still fill the disk).
        """
        keep = self.logical_replication.max_slot_wal_keep_size_mb if self.logical_replication else None
        if keep is not None and not 0 < keep < self.allocated_storage_gib * 1024:
            raise ValueError(f"logical_replication.max_slot_wal_keep_size_mb = {keep}: must be positive and below "
                             f"the allocated storage ({self.allocated_storage_gib} GiB = "
                             f"{self.allocated_storage_gib * 1024} MB), or a slot can still fill the disk")
        values = [("rds.force_ssl", "1", "pending-reboot")]
        if self.logical_replication:
            settings = self.logical_replication
            values += [
                ("rds.logical_replication", "1", "pending-reboot"),
                ("max_replication_slots", str(settings.max_replication_slots), "pending-reboot"),
                ("max_wal_senders", str(settings.max_wal_senders), "pending-reboot"),
                ("wal_sender_timeout", str(settings.wal_sender_timeout_ms), "immediate"),
                ("wal_receiver_status_interval", str(settings.wal_receiver_status_interval_seconds), "immediate"),
                ("max_slot_wal_keep_size", str(settings.max_slot_wal_keep_size_mb), "immediate"),
            ]
        return sorted(values)


def enhanced_monitoring_role(scope: Construct, id_: str, role_name: str, *, region: str, account_id: str,
                             db_instance_identifiers: tuple[str, ...]) -> IamRole:
    """The IAM role RDS Enhanced Monitoring assumes to publish OS metrics (AmazonRDSEnhancedMonitoringRole).

    Args:
        region: region of the DB instances.
        account_id: account ID (token, from ``aws_caller_identity``) the instances belong to.
        db_instance_identifiers: the only instances whose monitoring may assume the role (``aws:SourceArn``
            ``arn:aws:rds:<region>:<account>:db:<identifier>``; identifiers, not ARNs, so no dependency cycle).

    Follows: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html
    ("Protecting against the confused deputy problem": ``aws:SourceAccount`` and ``aws:SourceArn``).
    """
    trust = json.loads(assume_role_policy("monitoring.rds.amazonaws.com", source_account=account_id))
    trust["Statement"][0]["Condition"]["ArnLike"] = {"aws:SourceArn": [
        f"arn:aws:rds:{region}:{account_id}:db:{identifier}" for identifier in db_instance_identifiers]}
    role = IamRole(scope, id_, name=role_name, assume_role_policy=json.dumps(trust, sort_keys=True))
    IamRolePolicyAttachment(scope, f"{id_}-policy", role=role.name, policy_arn=ENHANCED_MONITORING_POLICY)
    return role


class PostgresDatabase(Construct):
    """RDS for PostgreSQL instance and parameter group (see module docstring).

    Attributes: ``instance`` (DbInstance), ``parameter_group``, ``secret_arn`` (token: ARN of the RDS-managed
    master user secret), ``address`` and ``port`` (tokens).
    """

    props: PostgresProps
    """The props it was built from."""
    parameter_group: DbParameterGroup
    """The instance's ``aws_db_parameter_group`` (``rds.force_ssl``, CDC settings)."""
    instance: DbInstance
    """The ``aws_db_instance``."""
    secret_arn: str
    """Token of the ARN of the RDS-managed master user secret (Secrets Manager)."""
    address: str
    """Token of the instance's DNS name."""
    port: float
    """Token of the instance's port (5432)."""

    def __init__(self, scope: Construct, id_: str, props: PostgresProps):
        super().__init__(scope, id_)
        self.props = props
        self.parameter_group = with_address(DbParameterGroup(
            self, "parameters", name=props.parameter_group_name, family=props.parameter_group_family,
            description=f"{props.identifier}: PostgreSQL {props.engine_version.split('.')[0]}"
            + (" with logical replication" if props.logical_replication else ""),
            parameter=[DbParameterGroupParameter(name=n, value=v, apply_method=m) for n, v, m in props.parameters()],
            # the name carries the family: a new major's group is created before the old one goes. A changed
            # description would force a replacement under the same name, which RDS refuses: ignore it.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True, ignore_changes=["description"]),
        ), props.address)
        self.instance = with_address(DbInstance(
            self, "instance",
            identifier=props.identifier,
            engine="postgres",
            engine_version=props.engine_version,
            instance_class=props.instance_class,
            allocated_storage=props.allocated_storage_gib,
            max_allocated_storage=props.max_allocated_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=props.kms_key_arn,
            db_name=props.database_name,
            username=props.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=props.kms_key_arn,
            parameter_group_name=self.parameter_group.name,
            db_subnet_group_name=props.subnet_group_name,
            vpc_security_group_ids=list(props.security_group_ids),
            port=props.port,
            publicly_accessible=False,
            multi_az=props.multi_az,
            backup_retention_period=props.backup_retention_days,
            backup_window=props.backup_window,
            maintenance_window=props.maintenance_window,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=props.auto_minor_version_upgrade,
            allow_major_version_upgrade=props.allow_major_version_upgrade,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=props.kms_key_arn,
            performance_insights_retention_period=7,
            monitoring_interval=props.monitoring_interval_seconds if props.monitoring_role_arn else 0,
            monitoring_role_arn=props.monitoring_role_arn,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            iam_database_authentication_enabled=True,
            deletion_protection=props.protected,
            skip_final_snapshot=not props.protected,
            final_snapshot_identifier=f"{props.identifier}-final" if props.protected else None,
            apply_immediately=not (props.protected or props.imported),
            # import reads the exact version (15.7) into state; a major-only engine_version would then modify the
            # legacy engine. The legacy source's version stays its owner's: Terraform never changes it.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["engine_version"]) if props.imported else None,
        ), props.address)
        self.secret_arn = self.instance.master_user_secret.get(0).secret_arn
        self.address = self.instance.address
        self.port = self.instance.port
