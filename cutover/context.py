"""Everything a ``cutover`` command acts on, built from the environment's stack outputs and the operator's options.

What comes from where:

- AWS resources (writer zone and name, weighted records, health checks, journal table, DMS tasks): the data and
  traffic stacks' outputs (:func:`cutover.environment.stack_outputs`, through the one Terraform driver), or the JSON
  file ``$PAYMIG_CUTOVER_OUTPUTS`` names (``{"<stack>": {"<output>": value}}``: CI, tests); AWS credentials the
  usual boto3 way in the environment's primary region, or for ``local`` the emulated AWS at
  ``$PAYMIG_AWS_ENDPOINT_URL`` or else the one ``make deploy-local`` runs.
- Database connections: ``--source-dsn`` / ``--target-dsn`` (or ``$PAYMIG_SOURCE_DSN`` / ``$PAYMIG_TARGET_DSN``),
  libpq strings of an administrative role (never printed or journalled); for ``local``, else the two local servers
  ``make databases-local`` started (:data:`LOCAL_DATABASES`; :func:`default_dsns`, which ``roles``, ``validate``,
  ``preflight``, ``schema copy`` and ``sequences sync`` use as well).
- Legacy applications: ``--legacy-role`` (or ``$PAYMIG_LEGACY_ROLES``, comma-separated) names the roles of
  applications that write to the source with their own role; the source's freeze covers them with the
  application role (:class:`cutover.database.Database`).
- Which replication: ``--replication dms`` (the data stack's tasks) or ``native`` (PostgreSQL logical replication
  between the two databases; the rehearsal and the emulated AWS, where DMS moves no data); not given, the
  environment's (:func:`cutover.environment.default_replication`: ``dms`` for dev and prod, ``native`` for local).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cutover.database import Database
from cutover.environment import ROOT as PROJECT_ROOT
from cutover.errors import UsageError
from cutover.journal import Journal
from cutover.roles import APP_ROLE, IDENTIFIER_RULE, ROLE_NAMES, is_identifier

if TYPE_CHECKING:  # imported where used: a command loads only the modules it needs
    from cutover.replication import Replication
    from cutover.switchover import Migration
    from cutover.traffic import Gates, WeightedRecords
    from cutover.writer import WriterRecord

REPLICATIONS = ("native", "dms")
OUTPUTS_FILE_VARIABLE = "PAYMIG_CUTOVER_OUTPUTS"


def stack_outputs(environment: str, stack: str) -> dict[str, Any]:
    """Output name -> value of a deployed stack: from ``$PAYMIG_CUTOVER_OUTPUTS`` when set, else Terraform."""
    import json

    path = os.environ.get(OUTPUTS_FILE_VARIABLE)
    if path:
        return dict(json.loads(Path(path).read_text(encoding="utf-8")).get(stack, {}))
    from cutover.environment import stack_outputs as deployed_outputs

    return deployed_outputs(environment, stack)


@dataclass
class Options:
    """The operator's options (see the module docstring).

    Attributes:
        environment: ``local``, ``dev``, ``prod``, ...
        source_dsn / target_dsn: administrative libpq connection strings.
        replication: ``native`` or ``dms``; None: the environment's
            (:func:`cutover.environment.default_replication`).
        app_role: the application's database role (the one frozen); default ``cutover.roles.APP_ROLE``.
        state_dir: local journal folder; default ``.state/<environment>/cutover``.
        freeze_limit_seconds: the switch's freeze bound, seconds; default 30.
        legacy_roles: legacy applications' own roles, frozen on the source with ``app_role``; default none.

    Raises:
        UsageError: ``replication`` unknown; ``app_role`` or a legacy role not a PostgreSQL identifier; a legacy
            role that is one of the migration's replication or validation roles.
    """

    environment: str
    source_dsn: str | None = None
    target_dsn: str | None = None
    replication: str | None = None
    app_role: str = APP_ROLE
    state_dir: Path | None = None
    freeze_limit_seconds: float = 30.0
    legacy_roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.replication is None:
            from cutover.environment import default_replication

            self.replication = default_replication(self.environment)
        if self.replication not in REPLICATIONS:
            raise UsageError("--replication", self.replication, f"must be one of {', '.join(REPLICATIONS)}")
        if not is_identifier(self.app_role):
            raise UsageError("--app-role", self.app_role, IDENTIFIER_RULE)
        others = {name for key, name in ROLE_NAMES.items() if key != "app"}
        for role in self.legacy_roles:
            if not is_identifier(role):
                raise UsageError("--legacy-role", role, IDENTIFIER_RULE)
            if role in others:
                raise UsageError("--legacy-role", role, f"must be an application's role, not one of the migration's "
                                 f"({', '.join(sorted(others))}): freezing it would stop replication or validation")
        self.legacy_roles = tuple(dict.fromkeys(r for r in self.legacy_roles if r != self.app_role))
        self.source_dsn, self.target_dsn = default_dsns(self.environment, self.source_dsn, self.target_dsn)


LOCAL_DATABASES = PROJECT_ROOT / ".state" / "local" / "databases.json"
"""The local PostgreSQL servers ``make databases-local`` started (``rehearsal/databases.py``): the ``local``
environment's databases when no DSN is given."""


def local_databases() -> dict[str, str]:
    """The administrative DSNs (``source_admin``, ``target_admin``) of :data:`LOCAL_DATABASES`; ``{}`` when absent."""
    import json

    try:
        return dict(json.loads(LOCAL_DATABASES.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def default_dsns(environment: str | None, source: str | None, target: str | None) -> tuple[str | None, str | None]:
    """Each side's DSN: the one given, else ``$PAYMIG_<SIDE>_DSN``, else for ``local`` the administrative DSN of the
    local server ``make databases-local`` recorded (:data:`LOCAL_DATABASES`); None when there is none of these."""
    dsns = {"source": source or os.environ.get("PAYMIG_SOURCE_DSN"),
            "target": target or os.environ.get("PAYMIG_TARGET_DSN")}
    if environment == "local" and not all(dsns.values()):
        local = local_databases()
        dsns = {side: dsn or local.get(f"{side}_admin") for side, dsn in dsns.items()}
    return dsns["source"], dsns["target"]


class Context:
    """Lazily built clients and objects of one environment (nothing is contacted until used)."""

    def __init__(self, options: Options) -> None:
        self.options = options

    def client(self, service: str) -> Any:
        """A boto3 client (:func:`cutover.environment.aws_client`: the emulated AWS for ``local``)."""
        from cutover.environment import aws_client

        return aws_client(self.options.environment, service)

    @cached_property
    def data_outputs(self) -> dict[str, Any]:
        return stack_outputs(self.options.environment, "data")

    @cached_property
    def traffic_outputs(self) -> dict[str, Any]:
        return stack_outputs(self.options.environment, "traffic")

    @cached_property
    def journal(self) -> Journal:
        directory = self.options.state_dir or PROJECT_ROOT / ".state" / self.options.environment / "cutover"
        table = self.data_outputs.get("cutover_journal_table")
        return Journal(directory, dynamodb=self.client("dynamodb") if table else None, table=table)

    def database(self, name: str) -> Database:
        dsn = self.options.source_dsn if name == "source" else self.options.target_dsn
        if not dsn:
            raise UsageError(f"--{name}-dsn", "", f"the {name} database's connection is needed "
                             f"(or ${'PAYMIG_' + name.upper() + '_DSN'}; for -e local, `make databases-local`)")
        # legacy applications write to the source only: the target's freeze covers the application role
        legacy = self.options.legacy_roles if name == "source" else ()
        return Database(name, dsn, str(self.data_outputs[f"{name}_address"]), self.options.app_role, legacy)

    @cached_property
    def writer(self) -> WriterRecord:
        from cutover.writer import Route53WriterRecord

        outputs = self.data_outputs
        return Route53WriterRecord(self.client("route53"), outputs["private_zone_id"], outputs["writer_fqdn"])

    @cached_property
    def records(self) -> WeightedRecords:
        from cutover.traffic import WeightedRecords

        return WeightedRecords(self.client("route53"), self.traffic_outputs["zone_id"],
                               self.traffic_outputs["record_fqdn"])

    def replication(self, name: str) -> Replication:
        """``forward`` (source -> target) or ``reverse`` (target -> source)."""
        source, target = self.database("source"), self.database("target")
        publisher, subscriber = (source, target) if name == "forward" else (target, source)
        if self.options.replication == "native":
            from cutover.replication.native import NativeReplication

            return NativeReplication(name, publisher, subscriber)
        from cutover.replication.dms import DmsReplication

        outputs = self.data_outputs
        arn = outputs["dms_replication_task_arn" if name == "forward" else "dms_reverse_replication_task_arn"]
        return DmsReplication(name, self.client("dms"), self.client("cloudwatch"), arn, publisher=publisher,
                              subscriber=subscriber)

    def migration(self, progress: Callable[[str], None] | None = None) -> Migration:
        from cutover.switchover import Migration, Policy

        return Migration(self.database("source"), self.database("target"), self.replication("forward"),
                         self.replication("reverse"), self.writer, self.journal,
                         Policy(freeze_limit_seconds=self.options.freeze_limit_seconds),
                         progress=progress or (lambda line: None))

    def gates(self) -> Gates:
        from cutover.traffic import Gates

        return Gates(route53=self.client("route53"), new_health_check_id=self.traffic_outputs.get("new_health_check_id"),
                     cloudwatch=self.client("cloudwatch"), alarm_prefix=self.alarm_prefix(),
                     replication=self.replication("forward"))

    def alarm_prefix(self) -> str:
        """``<project>-<environment>``: the prefix of the environment's alarm names (from the journal table's name)."""
        table = str(self.data_outputs.get("cutover_journal_table", ""))
        return table.removesuffix("-cutover-journal")
