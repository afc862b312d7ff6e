"""Every pydantic model of the configuration: one class per TOML section, ``MigrationConfig`` for the whole file.

All fields are typed, with units in their names (``_gib``, ``_seconds``, ``_percent``, ``_mib``, ``_ms``) and
defaults that suit ``dev``. Field validators raise ``ValueError(rule)``; validators of rules across fields raise
``config.errors.ConfigProblem(field, value, rule)`` (field relative to the model). Loading, environment selection
and the checks of derived AWS names are in ``config.loading`` and ``config.naming``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from config.errors import ConfigProblem
from config.parallel_load import MAX_FULL_LOAD_SUB_TASKS, parallel_load_problems

EMULATOR_ENVIRONMENT = "local"
"""The one environment that may deploy onto the embedded emulated AWS (``emulator = true``)."""
DISPOSABLE_ENVIRONMENTS = ("dev", "local")
"""Environments whose buckets Terraform may empty on destroy and that may carry a per-change suffix."""

# Regions with the full service set this design needs (RDS, DMS, ECS Fargate, S3 replication time control).
AWS_REGIONS = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1",
        "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "sa-east-1",
    }
)
# PostgreSQL major versions that RDS and DMS 3.5 both support as source and target.
POSTGRES_MAJOR_VERSIONS = frozenset({13, 14, 15, 16})
DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Region = Annotated[str, Field(description="AWS region code, e.g. us-east-1")]
PositiveGiB = Annotated[int, Field(ge=20, le=65536, description="storage in GiB")]

PROJECT_TAG_KEYS = ("Project", "Environment", "ManagedBy", "Stack", "MigrationPhase", "CostCenter")
"""Default tags the project sets on every resource itself (``stacks.base.aws_provider``); ``[tags]`` may not."""
MAX_EXTRA_TAGS = 40
"""``[tags]`` entries at most: AWS allows 50 user tags per resource, the project sets 6, resources add a few."""


def _tag_text(value: str, limit: int) -> str:
    """AWS tag rules (Tagging AWS resources, "Tag naming limits and requirements"): at most ``limit`` characters
    of Unicode letters, digits, spaces and ``_ . : / = + - @``; the ``aws:`` prefix is reserved for AWS."""
    if len(value) > limit or not all(c.isalnum() or c == " " or c in "_.:/=+-@" for c in value):
        raise ValueError(f"must be at most {limit} letters, digits, spaces or _ . : / = + - @ (AWS tag rules)")
    if value.lower().startswith("aws:"):
        raise ValueError("must not start with 'aws:' (reserved for AWS)")
    return value


def _tag_key(value: str) -> str:
    if not value:
        raise ValueError("must not be empty (AWS tag keys are 1-128 characters)")
    if value.lower() in {key.lower() for key in PROJECT_TAG_KEYS}:
        raise ValueError(f"is set by the project on every resource ({', '.join(PROJECT_TAG_KEYS)}); "
                         "use migration_phase / cost_center")
    return _tag_text(value, 128)


TagKey = Annotated[str, AfterValidator(_tag_key)]
TagValue = Annotated[str, AfterValidator(lambda value: _tag_text(value, 256))]


class Regions(_Model):
    """Primary region (everything) and replica region (transaction-log bucket replica)."""

    primary: Region = "us-east-1"
    replica: Region = "us-west-2"

    @field_validator("primary", "replica")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in AWS_REGIONS:
            raise ValueError(f"must be one of the supported AWS regions ({', '.join(sorted(AWS_REGIONS))})")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Regions:
        if self.primary == self.replica:
            raise ConfigProblem("replica", self.replica, f"must differ from primary ({self.primary!r})")
        return self


class Network(_Model):
    """VPC address space, availability zones (one public, private and database subnet each), and the legacy
    application networks (VPN or peering) that keep writing to the source database until cutover."""

    vpc_cidr: str = "10.20.0.0/16"
    az_count: int = Field(default=2, ge=2, le=3)
    legacy_cidrs: tuple[str, ...] = Field(default=(), max_length=10)

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        network = _private_network(value)
        if not 16 <= network.prefixlen <= 20:
            raise ValueError("prefix length must be between /16 and /20 (room for 3 tiers x az_count /24+ subnets)")
        return value

    @field_validator("legacy_cidrs")
    @classmethod
    def _legacy(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if _private_network(value).prefixlen > 28:
                raise ValueError(f"prefix length of {value} must be /28 or shorter")
        return values

    @model_validator(mode="after")
    def _no_overlap(self) -> Network:
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        for value in self.legacy_cidrs:
            if ipaddress.IPv4Network(value).overlaps(vpc):
                raise ConfigProblem("legacy_cidrs", value, f"must not overlap vpc_cidr ({self.vpc_cidr}); "
                                    "overlapping ranges cannot be routed over the VPN/peering")
        return self


def _matching(value: str, pattern: str, rule: str) -> str:
    """``value`` if the whole of it matches the regular expression ``pattern``.

    Raises:
        ValueError: ``rule`` (the message a config problem shows as ``field = value: rule``).
    """
    if not re.fullmatch(pattern, value):
        raise ValueError(rule)
    return value


def _optional_arn(value: str | None, service: str, resource: str, rule: str) -> str | None:
    """``value`` if it is unset or an ARN of ``service`` in some region and account whose resource part matches
    the regular expression ``resource``.

    Raises:
        ValueError: ``rule``, when ``value`` is set and is not such an ARN.
    """
    if value is not None and not re.fullmatch(rf"arn:aws[a-z-]*:{service}:[a-z0-9-]+:\d{{12}}:{resource}", value):
        raise ValueError(rule)
    return value


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK_MINUTES = 7 * 24 * 60


def _minute(day: str | None, clock: str) -> int:
    """Minute of the week (``day`` given) or of the day of ``hh:mm``; raises ValueError."""
    hours, minutes = (int(part) for part in clock.split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(clock)
    return (_DAYS.index(day) * 24 * 60 if day else 0) + hours * 60 + minutes


def window_minutes(value: str) -> tuple[int, int]:
    """(start, length) in minutes of an RDS window: weekly ``ddd:hh24:mi-ddd:hh24:mi`` (start counted from
    Monday 00:00 UTC) or daily ``hh24:mi-hh24:mi``.

    Raises:
        ValueError: not such a window, or shorter than 30 minutes (the RDS minimum) or longer than a day.
    """
    weekly = re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun):(\d\d:\d\d)-(mon|tue|wed|thu|fri|sat|sun):(\d\d:\d\d)", value)
    daily = re.fullmatch(r"(\d\d:\d\d)-(\d\d:\d\d)", value)
    try:
        if weekly:
            start, end, period = _minute(weekly[1], weekly[2]), _minute(weekly[3], weekly[4]), WEEK_MINUTES
        elif daily:
            start, end, period = _minute(None, daily[1]), _minute(None, daily[2]), 24 * 60
        else:
            raise ValueError(value)
    except ValueError:
        raise ValueError("must be an RDS window in UTC: ddd:hh24:mi-ddd:hh24:mi (maintenance) or hh24:mi-hh24:mi "
                         "(backup)") from None
    length = (end - start) % period
    if not 30 <= length <= 24 * 60:
        raise ValueError(f"lasts {length} minutes: RDS windows last at least 30 minutes (here at most 24 hours)")
    return start, length


def windows_overlap(first: str, second: str) -> bool:
    """Whether two RDS windows (see ``window_minutes``) share a minute in any week; a daily window recurs
    every day."""
    def spans(value: str) -> list[tuple[int, int]]:
        start, length = window_minutes(value)
        days = range(7) if value[0].isdigit() else range(1)
        return [((start + day * 24 * 60) % WEEK_MINUTES, length) for day in days]

    return any((b_start - a_start) % WEEK_MINUTES < a_len or (a_start - b_start) % WEEK_MINUTES < b_len
               for a_start, a_len in spans(first) for b_start, b_len in spans(second))


def _private_network(value: str) -> ipaddress.IPv4Network:
    """Parse a private IPv4 CIDR block; raises ValueError naming the rule."""
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 network in CIDR notation with no host bits set ({exc})") from None
    if not network.is_private:
        raise ValueError("must be a private (RFC 1918) range")
    return network


class PostgresInstance(_Model):
    """One RDS for PostgreSQL instance: engine, size, storage, backups, version policy and windows.

    Version policy (one of two, checked): ``engine_version`` the major version only (``"15"``) with
    ``auto_minor_version_upgrade = true``: RDS picks and upgrades the minor version in the maintenance window
    and Terraform accepts any 15.x (the AWS provider compares the prefix), so an upgrade done by AWS never makes
    the next apply fail; or a pinned ``MAJOR.MINOR`` with ``auto_minor_version_upgrade = false``. Raising the
    major version needs ``allow_major_version_upgrade = true`` in the same change; the parameter group of the new
    family (its name carries the family) is created before the instance moves to it.
    """

    engine_version: str = "15"
    auto_minor_version_upgrade: bool = True
    allow_major_version_upgrade: bool = Field(
        default=False, description="set true in the change that raises engine_version's major version")
    maintenance_window: str = Field(default="sun:04:30-sun:05:30", description="weekly, UTC, ddd:hh24:mi-ddd:hh24:mi")
    backup_window: str = Field(default="03:00-04:00", description="daily, UTC, hh24:mi-hh24:mi")
    instance_class: str = "db.t4g.medium"
    allocated_storage_gib: PositiveGiB = 50
    max_allocated_storage_gib: int = Field(default=200, ge=20, le=65536)
    multi_az: bool = False
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    database_name: str = "payments"
    master_username: str = "paymig_admin"

    @field_validator("engine_version")
    @classmethod
    def _engine(cls, value: str) -> str:
        match = re.fullmatch(r"(\d+)(\.\d+)?", value)
        if not match or int(match.group(1)) not in POSTGRES_MAJOR_VERSIONS:
            majors = ", ".join(str(v) for v in sorted(POSTGRES_MAJOR_VERSIONS))
            raise ValueError(f"must be MAJOR or MAJOR.MINOR with a PostgreSQL major version supported by RDS and "
                             f"DMS ({majors})")
        return value

    @field_validator("maintenance_window", "backup_window")
    @classmethod
    def _window(cls, value: str, info: Any) -> str:
        window_minutes(value)
        if (info.field_name == "backup_window") != value[0].isdigit():
            raise ValueError("must be " + ("hh24:mi-hh24:mi (daily)" if info.field_name == "backup_window"
                                            else "ddd:hh24:mi-ddd:hh24:mi (weekly)"))
        return value

    @field_validator("instance_class")
    @classmethod
    def _class(cls, value: str) -> str:
        return _matching(value, r"db\.[a-z0-9]+\.[a-z0-9]+", "must be an RDS instance class such as db.t4g.medium")

    @field_validator("database_name", "master_username")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", value) or value in {"postgres", "rdsadmin", "admin"}:
            raise ValueError("must be a lowercase PostgreSQL identifier (letter, then letters, digits, _; max 63), not reserved")
        return value

    @model_validator(mode="after")
    def _autoscaling_storage(self) -> PostgresInstance:
        if self.max_allocated_storage_gib < self.allocated_storage_gib:
            raise ConfigProblem("max_allocated_storage_gib", self.max_allocated_storage_gib,
                                f"must be >= allocated_storage_gib ({self.allocated_storage_gib})")
        pinned = "." in self.engine_version
        if pinned == self.auto_minor_version_upgrade:
            raise ConfigProblem(
                "auto_minor_version_upgrade", self.auto_minor_version_upgrade, f"engine_version "
                f"{self.engine_version!r} needs it {not pinned}: either the major version only with automatic minor "
                "upgrades (AWS's upgrade then never makes the next apply fail) or a pinned MAJOR.MINOR without them"
            )
        if windows_overlap(self.maintenance_window, self.backup_window):
            raise ConfigProblem("maintenance_window", self.maintenance_window, f"must not overlap backup_window "
                                f"({self.backup_window!r}); RDS rejects overlapping windows")
        return self

    @property
    def parameter_group_family(self) -> str:
        """RDS parameter group family of the engine version, e.g. ``postgres15`` for 15 or 15.7."""
        return f"postgres{self.engine_version.split('.')[0]}"


class SourceDatabase(PostgresInstance):
    """The source database, created here or imported, with the settings logical replication (CDC) needs."""

    existing_instance_identifier: str | None = Field(
        default=None, description="identifier of an existing RDS instance to import instead of creating one"
    )
    existing_kms_key_arn: str | None = Field(
        default=None,
        description="ARN of the KMS key the existing instance's storage is encrypted with (required with "
        "existing_instance_identifier: RDS cannot re-key an instance, a different key would replace it)",
    )
    existing_instance_imported: bool = Field(
        default=False,
        description="set once the import of existing_instance_identifier has been applied: the instance is in state "
        "and the data stack stops declaring the import (keep the identifier: it names the instance)",
    )
    existing_db_subnet_group_name: str | None = Field(
        default=None, description="DB subnet group the existing instance lives in (kept: moving it would move the "
        "instance); required with existing_instance_identifier")
    existing_security_group_ids: tuple[str, ...] = Field(
        default=(), max_length=5, description="VPC security groups of the existing instance (kept); required with it")
    existing_port: int = Field(default=5432, ge=1150, le=65535, description="port of the existing instance (kept)")
    existing_network_cidrs: tuple[str, ...] = Field(
        default=(), max_length=10, description="legacy network(s) of the existing instance that DMS must reach "
        "(egress rule of the DMS security group on existing_port); required with existing_instance_identifier")
    logical_replication: bool = True
    max_replication_slots: int = Field(default=10, ge=0, le=100)
    max_wal_senders: int = Field(default=10, ge=0, le=100)
    wal_sender_timeout_ms: int = Field(default=0, ge=0, le=3_600_000)

    @field_validator("existing_security_group_ids")
    @classmethod
    def _security_groups(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        bad = [value for value in values if not re.fullmatch(r"sg-[0-9a-f]{8,17}", value)]
        if bad:
            raise ValueError(f"{bad[0]!r}: must be a VPC security group ID (sg- and 8 or 17 hex digits)")
        return values

    @field_validator("existing_network_cidrs")
    @classmethod
    def _legacy_networks(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            _private_network(value)
        return values

    @field_validator("existing_kms_key_arn")
    @classmethod
    def _kms_key(cls, value: str | None) -> str | None:
        return _optional_arn(value, "kms", r"key/[A-Za-z0-9-]+",
                             "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias")

    @model_validator(mode="after")
    def _import_keeps_key(self) -> SourceDatabase:
        if (self.existing_instance_identifier is None) != (self.existing_kms_key_arn is None):
            raise ConfigProblem(
                "existing_kms_key_arn", self.existing_kms_key_arn, "must be set exactly when "
                f"existing_instance_identifier is ({self.existing_instance_identifier!r}): an imported instance keeps "
                "the key its storage is encrypted with (a different key would replace it, an unencrypted instance "
                "must be encrypted by a snapshot copy and restore first)"
            )
        placement = {"existing_db_subnet_group_name": self.existing_db_subnet_group_name,
                     "existing_security_group_ids": self.existing_security_group_ids,
                     "existing_network_cidrs": self.existing_network_cidrs}
        for name, value in placement.items():
            if bool(value) != (self.existing_instance_identifier is not None):
                raise ConfigProblem(
                    name, value, "must be set exactly when existing_instance_identifier is "
                    f"({self.existing_instance_identifier!r}): an imported instance keeps its network placement "
                    "(a change of subnet group or security groups would move it away from the legacy application)")
        if self.existing_instance_imported and self.existing_instance_identifier is None:
            raise ConfigProblem("existing_instance_imported", True,
                                "needs existing_instance_identifier (the instance that was imported)")
        return self


class TargetDatabase(PostgresInstance):
    """The target database on AWS that DMS loads and keeps in sync."""

    maintenance_window: str = Field(default="sun:06:00-sun:07:00", description="weekly, UTC; not the source's")


DmsLogComponent = Literal[
    "TRANSFORMATION", "SOURCE_UNLOAD", "IO", "TARGET_LOAD", "PERFORMANCE", "SOURCE_CAPTURE", "SORTER", "REST_SERVER",
    "VALIDATOR_EXT", "TARGET_APPLY", "TASK_MANAGER", "TABLES_MANAGER", "METADATA_MANAGER", "FILE_FACTORY", "COMMON",
    "ADDONS", "DATA_STRUCTURE", "COMMUNICATION", "FILE_TRANSFER"]
DmsLogSeverity = Literal["LOGGER_SEVERITY_ERROR", "LOGGER_SEVERITY_WARNING", "LOGGER_SEVERITY_INFO",
                         "LOGGER_SEVERITY_DEFAULT", "LOGGER_SEVERITY_DEBUG"]
"""DMS log severities (task settings ``Logging.LogComponents[].Severity``) but ``LOGGER_SEVERITY_DETAILED_DEBUG``,
which writes row-level detail, i.e. payment data, to CloudWatch Logs."""
DMS_LOG_SEVERITY_DEFAULTS: dict[str, str] = {component: "LOGGER_SEVERITY_DEFAULT" for component in (
    "SOURCE_UNLOAD", "TARGET_LOAD", "SOURCE_CAPTURE", "TARGET_APPLY", "TASK_MANAGER")}
"""The components the seed logs (full load read/write, CDC read/apply, task manager), at the default severity."""
MIGRATION_TIMESTAMP_COLUMN = "migration_timestamp"
"""Target column that ``Dms.add_migration_timestamp`` adds to every replicated table."""


class ParallelLoad(_Model):
    """``[dms.parallel_load.<table>]``: the full load of one large table split into segments loaded at once (a DMS
    ``table-settings`` rule with ``parallel-load``; the rules are ``config.parallel_load``'s).

    ``type = "ranges"`` with ``columns`` (1-10, most significant first; NOT NULL columns, ideally the primary key:
    DMS does not replicate rows whose range column is NULL) and ``boundaries`` (each the upper bound of one segment,
    one value per column, ascending; rows above the last make one more segment). ``type = "partitions-auto"`` is
    read only to be refused with its reason: DMS supports ``ranges`` alone for a PostgreSQL source.
    """

    type: Literal["ranges", "partitions-auto"]
    columns: tuple[str, ...] = ()
    boundaries: tuple[tuple[str | int, ...], ...] = ()


class Dms(_Model):
    """AWS DMS replication instance and task.

    Full load: ``max_full_load_sub_tasks`` tables or table segments load at once (``FullLoadSettings.
    MaxFullLoadSubTasks``, 1-49); ``parallel_load`` splits large tables into segments (``ParallelLoad``). CDC
    apply stays **transactional** (``BatchApplyEnabled`` false, not configurable: batch apply groups changes into
    net-change batches and does not keep the source's transactional order, and DMS does not support it for a
    target table with both a primary key and a unique constraint, which ``payments`` has); it is tuned with
    ``cdc_min_transaction_size`` / ``cdc_commit_timeout_seconds`` (whole source transactions grouped into one target
    commit, in commit order) and ``cdc_statement_cache_size`` (``modules.dms.default_task_settings``).
    """

    instance_class: str = "dms.t3.medium"
    engine_version: str = "3.5.4"
    allocated_storage_gib: int = Field(default=50, ge=5, le=6144)
    multi_az: bool = False
    migration_type: Literal["full-load", "cdc", "full-load-and-cdc"] = "full-load-and-cdc"
    create_account_roles: bool = Field(
        default=True, description="create dms-vpc-role and dms-cloudwatch-logs-role (false if the account has them)"
    )
    schema_name: str = "public"
    log_severity: dict[DmsLogComponent, DmsLogSeverity] = Field(
        default=DMS_LOG_SEVERITY_DEFAULTS, description="[dms.log_severity] component = severity, merged over "
        "DMS_LOG_SEVERITY_DEFAULTS (DMS user guide, Logging task settings)")
    max_full_load_sub_tasks: int = Field(default=8, ge=1, le=MAX_FULL_LOAD_SUB_TASKS, description=(
        "FullLoadSettings.MaxFullLoadSubTasks: tables or table segments loaded at once (DMS: default 8, max 49)"))
    parallel_load: dict[str, ParallelLoad] = Field(default={}, description=(
        "[dms.parallel_load.<table>]: the table's full load split into segments (table-settings parallel-load)"))
    cdc_min_transaction_size: int = Field(default=1000, ge=1, le=100000, description=(
        "ChangeProcessingTuning.MinTransactionSize: changes grouped into one target commit in transactional apply "
        "(whole source transactions, in commit order; DMS default 1000)"))
    cdc_commit_timeout_seconds: int = Field(default=1, ge=1, le=60, description=(
        "ChangeProcessingTuning.CommitTimeout: longest wait collecting transactions before a commit (DMS default 1)"))
    cdc_statement_cache_size: int = Field(default=50, ge=1, le=200, description=(
        "ChangeProcessingTuning.StatementCacheSize: prepared statements kept on the target (DMS: default 50, "
        "max 200)"))
    add_migration_timestamp: bool = Field(default=False, description=(
        "add MIGRATION_TIMESTAMP_COLUMN (source commit time, $AR_H_COMMIT_TIMESTAMP) to every target table. Off by "
        "default: it changes the target's schema (the pre-created target tables need the column, DMS does not add "
        "it with TargetTablePrepMode DO_NOTHING), so source and target no longer have equal rows and every "
        "comparison (DMS validation, cutover checks) must exclude the column"))

    @field_validator("log_severity", mode="before")
    @classmethod
    def _no_detailed_debug(cls, value: Any) -> Any:
        for component, severity in (value.items() if isinstance(value, dict) else ()):
            if severity == "LOGGER_SEVERITY_DETAILED_DEBUG":
                raise ConfigProblem(component, severity, "not allowed: it writes row-level detail (payment "
                                    "data) to CloudWatch Logs; LOGGER_SEVERITY_DEBUG at most")
        return value

    @field_validator("log_severity")
    @classmethod
    def _log_defaults(cls, value: dict[str, str]) -> dict[str, str]:
        return {**DMS_LOG_SEVERITY_DEFAULTS, **value}

    @model_validator(mode="after")
    def _parallel_load(self) -> Dms:
        for table, settings in self.parallel_load.items():
            problems = parallel_load_problems(table, settings.model_dump())
            if problems:
                field, value, rule = problems[0]
                raise ConfigProblem(f"parallel_load.{table}" + ("" if field == "table" else f".{field}"), value, rule)
        return self

    @property
    def migration_timestamp_column(self) -> str | None:
        """The column the task adds to every target table, or None (``add_migration_timestamp`` off)."""
        return MIGRATION_TIMESTAMP_COLUMN if self.add_migration_timestamp else None

    @field_validator("instance_class", "engine_version")
    @classmethod
    def _pattern(cls, value: str, info: Any) -> str:
        return _matching(value, *{
            "instance_class": (r"dms\.[a-z0-9]+\.[a-z0-9]+", "must be a DMS replication instance class such as "
                                                            "dms.t3.medium"),
            "engine_version": (r"3\.[45]\.\d+", "must be a DMS engine version 3.4.x or 3.5.x"),
        }[info.field_name])


class Service(_Model):
    """ECS Fargate service behind the Application Load Balancer. CPU in ECS units (1024 = 1 vCPU), memory MiB."""

    container_image: str = "public.ecr.aws/nginx/nginx-unprivileged:1.27"
    container_port: int = Field(default=8080, ge=1024, le=65535, description="unprivileged port the image listens on")
    container_user: str = Field(default="101", description="non-root uid[:gid] the container runs as")
    cpu: Literal[256, 512, 1024, 2048, 4096] = 512
    memory_mib: int = Field(default=1024, ge=512, le=30720)
    desired_count: int = Field(default=2, ge=0, le=100)
    min_count: int = Field(default=2, ge=0, le=100)
    max_count: int = Field(default=6, ge=1, le=100)
    health_check_path: str = Field(default="/", description="path the image answers with 2xx/3xx (target group, "
                                   "Route 53 health check of the new side)")
    cpu_target_percent: int = Field(default=60, ge=10, le=90)
    memory_target_percent: int = Field(default=70, ge=10, le=90)
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653] = 365
    certificate_arn: str | None = None

    @field_validator("container_image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9./_:@-]+", value) or value.endswith(":latest"):
            raise ValueError("must be a container image reference with a fixed tag or digest (not :latest)")
        return value

    @field_validator("health_check_path", "container_user")
    @classmethod
    def _pattern(cls, value: str, info: Any) -> str:
        pattern, rule = {
            "health_check_path": (r"/[A-Za-z0-9/._-]*", "must be an absolute URL path such as /health"),
            "container_user": (r"[1-9]\d{0,9}(:\d{1,10})?",
                               "must be a numeric non-root uid or uid:gid (not 0/root): the container runs unprivileged"),
        }[info.field_name]
        return _matching(value, pattern, rule)

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        return _optional_arn(value, "acm", r"certificate/[0-9a-f-]+", "must be an ACM certificate ARN")

    @model_validator(mode="after")
    def _counts(self) -> Service:
        if not self.min_count <= self.desired_count <= self.max_count:
            raise ConfigProblem("desired_count", self.desired_count,
                                f"must lie between min_count ({self.min_count}) and max_count ({self.max_count})")
        # Fargate task sizes: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
        allowed = {256: (512, 2048), 512: (1024, 4096), 1024: (2048, 8192), 2048: (4096, 16384), 4096: (8192, 30720)}
        low, high = allowed[self.cpu]
        if not low <= self.memory_mib <= high or (self.memory_mib % 1024 and self.memory_mib != 512):
            raise ConfigProblem("memory_mib", self.memory_mib,
                                f"Fargate cpu {self.cpu} needs {low}-{high} MiB in steps of 1024")
        return self


class Dns(_Model):
    """Route 53 zone and the weighted record that moves traffic from the legacy endpoint to the new ALB."""

    zone_name: str = "payments.example.com"
    record_name: str = "api"
    legacy_dns_name: str = "legacy-payments-123456789.us-east-1.elb.amazonaws.com"
    legacy_zone_id: str = "Z35SXDOTRQ7X7K"
    legacy_weight: int = Field(default=100, ge=0, le=255)
    new_weight: int = Field(default=0, ge=0, le=255)
    health_check_path: str = Field(default="/health", description="path the Route 53 health check requests on the "
                                   "legacy endpoint (the new side's check uses service.health_check_path)")

    @field_validator("zone_name", "legacy_dns_name")
    @classmethod
    def _domain(cls, value: str) -> str:
        labels = value.rstrip(".").split(".")
        if len(value) > 253 or len(labels) < 2 or not all(DNS_LABEL.match(label) for label in labels):
            raise ValueError("must be a lowercase DNS name with at least two labels, each 1-63 of a-z 0-9 -")
        return value.rstrip(".")

    @field_validator("record_name")
    @classmethod
    def _label(cls, value: str) -> str:
        if not DNS_LABEL.match(value):
            raise ValueError("must be one DNS label (1-63 of a-z 0-9 -, not starting or ending with -)")
        return value

    @field_validator("legacy_zone_id")
    @classmethod
    def _zone_id(cls, value: str) -> str:
        return _matching(value, r"Z[A-Z0-9]{4,31}", "must be a Route 53 hosted zone ID such as Z35SXDOTRQ7X7K")

    @model_validator(mode="after")
    def _weights(self) -> Dns:
        if self.legacy_weight == 0 and self.new_weight == 0:
            raise ConfigProblem("legacy_weight", 0, "at least one weight must be positive (new_weight = 0 too)")
        return self

    @property
    def fqdn(self) -> str:
        """Fully qualified name of the weighted record, e.g. ``api.payments.example.com``."""
        return f"{self.record_name}.{self.zone_name}"


class Alarms(_Model):
    """CloudWatch alarm thresholds and the SNS e-mail subscriber."""

    email: str = "payments-oncall@example.com"
    replication_lag_seconds: int = Field(default=60, ge=1, le=86400)
    db_cpu_percent: int = Field(default=80, ge=1, le=100)
    db_free_storage_gib: int = Field(default=10, ge=1, le=65536)
    alb_5xx_count: int = Field(default=10, ge=1)
    ecs_cpu_percent: int = Field(default=85, ge=1, le=100)
    period_seconds: Literal[60, 300] = 60
    wal_retained_gib: int = Field(default=5, ge=1, le=65536, description="source's OldestReplicationSlotLag and "
                                  "TransactionLogsDiskUsage threshold, GiB")
    migration_running: bool = Field(default=True, description="DMS CDC latency alarms treat missing data as "
                                    "breaching (a stopped task publishes none); false before the start and after cutover")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _matching(value, r"[^@\s]+@[^@\s]+\.[a-z]{2,}", "must be an e-mail address")


class Storage(_Model):
    """Transaction-log buckets: lifecycle in days."""

    glacier_transition_days: int = Field(default=90, ge=30, le=3650)
    expiration_days: int = Field(default=2555, ge=1, le=36500)

    @model_validator(mode="after")
    def _order(self) -> Storage:
        if self.expiration_days <= self.glacier_transition_days:
            raise ConfigProblem("expiration_days", self.expiration_days,
                                f"must be greater than glacier_transition_days ({self.glacier_transition_days})")
        return self


class State(_Model):
    """Terraform state: S3 bucket, key prefix and DynamoDB lock table (created by the bootstrap stack).

    Stacks lock with S3 native locking (``use_lockfile``, Terraform 1.10+). ``dynamodb_locking`` also takes the
    DynamoDB lock, for a transition in which someone still runs Terraform < 1.10 (Terraform 1.11 then warns that
    ``dynamodb_table`` is deprecated).
    """

    bucket: str
    key_prefix: str
    lock_table: str
    dynamodb_locking: bool = False

    @field_validator("key_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9/_.-]{0,200}[A-Za-z0-9]", value) or "//" in value:
            raise ValueError("must be an S3 key prefix of letters, digits, / _ . - without leading/trailing /")
        return value


class MigrationConfig(_Model):
    """The whole configuration of one environment (see the module docstring)."""

    environment: str
    project: str = "paymig"
    deletion_protection: bool | None = Field(
        default=None, description="deletion protection and final snapshots; default: on except in dev and local"
    )
    emulator: bool = Field(
        default=False,
        description="deploy onto the embedded emulated AWS on 127.0.0.1 (endpoint overrides, test credentials); "
        f"only the {EMULATOR_ENVIRONMENT!r} environment may set it",
    )
    suffix: str | None = Field(default=None, description=(
        "per-change environment ($PAYMIG_SUFFIX, `make ... SUFFIX=pr123`): appended to every name, to the state "
        "bucket, lock table and state key prefix; 1-8 lowercase letters and digits, dev and local only"))
    migration_phase: Literal["preparation", "replication", "cutover", "completed"] = Field(
        default="preparation", description="MigrationPhase tag on every resource")
    cost_center: TagValue = Field(default="payments", description="CostCenter tag on every resource")
    tags: dict[TagKey, TagValue] = Field(default={}, description="[tags]: further default tags on every resource")
    regions: Regions = Regions()
    network: Network = Network()
    source_database: SourceDatabase = SourceDatabase()
    target_database: TargetDatabase = TargetDatabase()
    dms: Dms = Dms()
    service: Service = Service()
    dns: Dns = Dns()
    alarms: Alarms = Alarms()
    storage: Storage = Storage()
    state: State

    @field_validator("environment", "project")
    @classmethod
    def _name(cls, value: str, info: Any) -> str:
        low, high = (2, 12) if info.field_name == "environment" else (3, 10)
        return _matching(value, rf"[a-z][a-z0-9]{{{low - 1},{high - 1}}}", f"must be {low}-{high} characters: a "
                         "lowercase letter, then lowercase letters or digits")

    @model_validator(mode="before")
    @classmethod
    def _suffix_state(cls, data: Any) -> Any:
        """A suffixed environment keeps its state apart: ``-<suffix>`` on the state bucket and lock table (its
        own bootstrap stack creates them), ``/<suffix>`` on the key prefix."""
        suffix = data.get("suffix") if isinstance(data, dict) else None
        if isinstance(suffix, str) and re.fullmatch(r"[a-z0-9]{1,8}", suffix) and isinstance(data.get("state"), dict):
            state = data["state"]
            data = {**data, "state": {**state, **{key: f"{state[key]}{sep}{suffix}" for key, sep in (
                ("bucket", "-"), ("lock_table", "-"), ("key_prefix", "/")) if isinstance(state.get(key), str)}}}
        return data

    @field_validator("suffix")
    @classmethod
    def _suffix(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9]{1,8}", value):
            raise ValueError("must be 1-8 lowercase letters or digits (it is part of every AWS name)")
        return value or None

    @model_validator(mode="after")
    def _suffix_disposable_and_tag_count(self) -> MigrationConfig:
        if len(self.tags) > MAX_EXTRA_TAGS:
            raise ConfigProblem("tags", len(self.tags), f"at most {MAX_EXTRA_TAGS} (AWS allows 50 tags per "
                                f"resource, the project sets {len(PROJECT_TAG_KEYS)}, resources add a few)",
                                shown=f"{len(self.tags)} entries")
        if self.suffix and not self.disposable:
            raise ConfigProblem("suffix", self.suffix, "per-change environments are disposable: only "
                                f"{' and '.join(DISPOSABLE_ENVIRONMENTS)} without deletion protection "
                                f"(environment is {self.environment!r})")
        return self

    @model_validator(mode="after")
    def _emulator_only_locally(self) -> MigrationConfig:
        if self.emulator and self.environment != EMULATOR_ENVIRONMENT:
            raise ConfigProblem(
                "emulator", True, f"only the {EMULATOR_ENVIRONMENT!r} environment may deploy onto the emulated AWS "
                f"(environment is {self.environment!r}); no other environment may carry emulator endpoints"
            )
        return self

    @model_validator(mode="after")
    def _cross_field(self) -> MigrationConfig:
        if self.dms.migration_type != "full-load":
            source = self.source_database
            if not source.logical_replication:
                raise ConfigProblem(
                    "source_database.logical_replication", False, f"migration_type {self.dms.migration_type!r} "
                    "reads changes through logical replication (rds.logical_replication=1) and needs it on")
            for setting in ("max_replication_slots", "max_wal_senders"):
                if getattr(source, setting) < 1:
                    raise ConfigProblem(f"source_database.{setting}", getattr(source, setting),
                                        "CDC needs at least one replication slot and one WAL sender")
        src, tgt = self.source_database, self.target_database
        if windows_overlap(src.maintenance_window, tgt.maintenance_window):
            raise ConfigProblem(
                "target_database.maintenance_window", tgt.maintenance_window, "must not overlap "
                f"source_database.maintenance_window ({src.maintenance_window!r}): both databases down at once "
                "stops the migration and leaves no database to fall back to")
        vpc = ipaddress.IPv4Network(self.network.vpc_cidr)
        for cidr in src.existing_network_cidrs:
            if ipaddress.IPv4Network(cidr).overlaps(vpc):
                raise ConfigProblem("source_database.existing_network_cidrs", cidr, "must not overlap "
                                    f"network.vpc_cidr ({self.network.vpc_cidr}): DMS could not route to it")
        if int(tgt.engine_version.split(".")[0]) < int(src.engine_version.split(".")[0]):
            raise ConfigProblem("target_database.engine_version", tgt.engine_version,
                                f"must not be an older major version than the source ({src.engine_version!r})")
        return self

    @property
    def protected(self) -> bool:
        """Whether deletion protection and final snapshots are on (explicit setting, else not dev/local)."""
        if self.deletion_protection is not None:
            return self.deletion_protection
        return self.environment not in ("dev", "local")

    @property
    def disposable(self) -> bool:
        """Whether destroy may take data with it (buckets emptied by Terraform: ``force_destroy``): dev and local
        only, and only without deletion protection; never prod."""
        return self.environment in DISPOSABLE_ENVIRONMENTS and not self.protected

    @property
    def name_prefix(self) -> str:
        """``<project>-<environment>[-<suffix>]``: the start of every derived AWS name (``config.naming``)."""
        return "-".join(part for part in (self.project, self.environment, self.suffix) if part)

    @property
    def default_tags(self) -> dict[str, str]:
        """Tags every resource gets through the providers' ``default_tags`` (``[tags]`` first, then the project's,
        which ``[tags]`` may not set), without ``Stack``, which each stack adds."""
        return {**self.tags, "Project": self.project, "Environment": self.environment, "ManagedBy": "cdktf",
                "MigrationPhase": self.migration_phase, "CostCenter": self.cost_center}

    @property
    def importing_source(self) -> bool:
        """Whether the data stack declares the import of an existing source instance (named, not yet marked
        ``existing_instance_imported``) instead of creating one."""
        source = self.source_database
        return source.existing_instance_identifier is not None and not source.existing_instance_imported
