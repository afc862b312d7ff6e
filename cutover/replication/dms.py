"""An AWS DMS replication task as a :class:`cutover.replication.Replication` (boto3).

- ``start(initial_copy=True)``: ``StartReplicationTask`` type ``start-replication`` (the forward full load and CDC).
- ``start(initial_copy=False)``: changes from now on only, from a native CDC start point (DMS user guide,
  PostgreSQL source, "Using a native CDC start point to set up a CDC load of a PostgreSQL source"): the task's
  logical replication slot is created on the publisher (``pg_create_logical_replication_slot(slot,
  'test_decoding')``) while the publisher is frozen, so its ``confirmed_flush_lsn`` misses no payment; the source
  endpoint names it (``PostgreSQLSettings.SlotName``, set with ``ModifyEndpoint`` when it differs: DMS checks that
  the slot exists); a task that is not CDC-only becomes one (``ModifyReplicationTask`` ``MigrationType=cdc``: a
  ``start-replication`` of a full-load-and-cdc task would load every table again); then ``StartReplicationTask``
  type ``start-replication`` with ``CdcStartPosition`` = that LSN ("for a cdc only task, to start from a specific
  position, you must use start-replication and also specify the start position"). Never ``resume-processing``
  (it replays from the task's old checkpoint: the rows the other direction applied would go back, and
  ``ApplyErrorInsertPolicy=STOP_TASK`` stops the task on the first duplicate) and never ``CdcStartTime`` (a
  PostgreSQL source takes no custom CDC start time). A slot left from an earlier run is dropped and created again
  while the publisher is frozen (its position is older than the freeze: it would send the other direction's rows
  back); with the publisher accepting writes (a start retried after a switch's failed one) the slot created
  during the freeze is used as it is, and a missing one is refused (a slot created now would miss the payments
  written since the freeze).
  The DMS user guide, "Using a native CDC start point to set up a CDC load of a PostgreSQL source"
  (https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html): "To enable native CDC start
  points with PostgreSQL as a source, set the ``slotName`` extra connection attribute to the name of an existing
  logical replication slot"; "Create a new CDC-only task ... ``--migration-type cdc`` ... ``--cdc-start-position
  "4AF/B00000D0"``"; "When this CDC task runs, AWS DMS raises an error if the specified logical replication slot
  does not exist. It also raises an error if the task isn't created with a valid setting for
  ``cdc-start-position``"; "the Native CDC Start position for a CDC task created after the replication slot can't
  be older than the **confirmed_flush_lsn** value" (the position used here is exactly that value); and on the
  plugin: "If you don't enable pglogical on your PostgreSQL source database, AWS DMS uses the ``test_decoding``
  plugin by default" (the slot is created with ``test_decoding``, the same as a slot DMS creates itself).
  ``PostgreSQLSettings.SlotName``: "DMS verifies that the specified logical replication slot exists before starting
  the CDC load task. It also verifies that the task was created with a valid setting of CdcStartPosition".
- ``start(initial_copy=True)`` on a full-load-and-cdc task names no slot: the documents describe ``slotName`` with
  CDC-only tasks and a ``CdcStartPosition`` only, so the forward source endpoint names none in Terraform (DMS
  creates its own slot for the full load). After a rollback, the forward direction restarts CDC-only (above): the
  endpoint then names :data:`DEFAULT_SLOT` and the task is ``cdc``, changes ``modules.dms`` tells Terraform to
  ignore (``lifecycle.ignore_changes``), so that a later ``terraform apply`` neither shows them as drift nor
  reverts them under a running task.
- Both starts create the drain's sentinel table on both databases (:mod:`cutover.replication.sentinel`, granted to
  the DMS endpoints' roles); the tasks' table mappings select it (``modules.dms.schema_table_mappings``).
- ``mark(token)`` / ``marked(token)``: the drain's sentinel row written on the publisher after the freeze and
  looked for on the subscriber (transactional apply keeps commit order); only when the task's ``TableMappings``
  select ``cutover.sentinel`` (:func:`selects`), else the drain waits on the slot's ``confirmed_flush_lsn``, which
  on a frozen publisher moves only with DMS's heartbeat.
- ``wait_running(timeout_seconds)``: ``StartReplicationTask`` returns at once and the task starts asynchronously
  (``starting``); it polls ``DescribeReplicationTasks`` until ``Status`` is ``running`` and the slot exists.
- ``stop()`` / ``resume()``: ``StopReplicationTask`` / ``start-replication`` type ``resume-processing``.
- Status: the task's ``Status`` and ``FullLoadProgressPercent``; per table ``DescribeTableStatistics``
  (``FullLoadRows``, ``ValidationState``, ``ValidationFailedRecords``); ``CDCLatencySource`` and
  ``CDCLatencyTarget`` from CloudWatch (``AWS/DMS``, last datapoint of the past 5 minutes); the applied LSN from
  the DMS replication slot on the publishing database (``confirmed_flush_lsn``; DMS confirms what it applied).
- The slot is named, never guessed: ``slot_name`` given, else the task's source endpoint's
  ``PostgreSQLSettings.SlotName`` (the endpoint's ``slot_name`` setting: "the name of a previously created logical
  replication slot"). Without a name the applied LSN is unknown (None), and ``drop_slot`` refuses: "the one
  logical slot not named cutover_*" would pick a stale slot, or none when there are two.

The emulated AWS moves no data through DMS: these calls are tested against moto's API, against botocore's model
(``Stubber``) and against a fake DMS that behaves as the documents describe, on real PostgreSQL slots
(``tests/test_cutover_dms_start.py``); the data path is rehearsed with :mod:`cutover.replication.native` instead.

Follows: https://docs.aws.amazon.com/dms/latest/APIReference/API_StartReplicationTask.html,
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Source.PostgreSQL.html (native CDC start point),
https://docs.aws.amazon.com/dms/latest/APIReference/API_ModifyEndpoint.html (``ExactSettings`` false: the
settings given are merged), https://docs.aws.amazon.com/dms/latest/APIReference/API_ModifyReplicationTask.html,
https://docs.aws.amazon.com/dms/latest/APIReference/API_DescribeTableStatistics.html and
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Monitoring.html#CHAP_Monitoring.Metrics.Task and
https://docs.aws.amazon.com/dms/latest/APIReference/API_PostgreSQLSettings.html (``SlotName``).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from cutover.database import Database
from cutover.replication import ReplicationStatus, TableProgress
from cutover.replication.sentinel import SENTINEL

_STATES = {"running": "running", "starting": "starting", "stopped": "stopped", "ready": "stopped",
           "stopping": "stopped", "failed": "failed", "creating": "starting", "modifying": "starting"}
DEFAULT_SLOT = "paymig_dms_{name}"
"""The slot a CDC start creates when neither ``slot_name`` nor the endpoint's ``SlotName`` names one (``{name}``:
``forward`` or ``reverse``); the endpoint is then modified to name it."""
SLOT_PLUGIN = "test_decoding"
"""The output plugin of the slot a CDC start creates (the DMS user guide's native CDC start point example)."""
_PENDING = ("starting", "creating", "modifying")
"""DMS task statuses on the way to ``running`` (or, after ``ModifyReplicationTask``, back to ``stopped``)."""


def selects(table_mappings: dict[str, Any], schema: str, table: str) -> bool:
    """Whether DMS table mappings select ``schema.table``: a ``selection`` rule whose ``object-locator`` matches it
    with ``rule-action`` ``include`` or ``explicit``, and no matching ``exclude`` rule. Names match case-sensitively;
    ``%`` in a locator matches any run of characters ("DMS selection rules are case-sensitive"; the ``%`` wildcard).

    Follows: https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.Selections.html
    """
    import re

    def matches(locator: dict[str, Any]) -> bool:
        return all(re.fullmatch(".*".join(map(re.escape, str(locator.get(key, "%")).split("%"))), value) is not None
                   for key, value in (("schema-name", schema), ("table-name", table)))

    rules = [r for r in table_mappings.get("rules", []) if r.get("rule-type") == "selection"
             and matches(r.get("object-locator") or {})]
    return (any(r.get("rule-action") in ("include", "explicit") for r in rules)
            and not any(r.get("rule-action") == "exclude" for r in rules))


class DmsReplication:
    """One DMS task (see the module docstring).

    Args:
        name: ``forward`` or ``reverse``.
        dms / cloudwatch: boto3 clients.
        task_arn: the task (data stack outputs ``dms_replication_task_arn`` / ``dms_reverse_replication_task_arn``).
        instance_id / task_resource_id: the ``ReplicationInstanceIdentifier`` and ``ReplicationTaskIdentifier``
            dimensions of the CDC latency metrics; default: read from DMS (the task's instance, the task ARN's
            resource identifier).
        publisher: the database the task reads, to read its slot's ``confirmed_flush_lsn``; None: no applied LSN.
        subscriber: the database the task writes, where the drain's sentinel row is looked for (:meth:`marked`);
            None: :meth:`mark` writes nothing (the drain waits on the slot's position).
        slot_name: the task's slot on the publisher; default: its source endpoint's ``PostgreSQLSettings.SlotName``
            (read from DMS once); None there too: unknown (see the module docstring), except that a CDC start
            creates :data:`DEFAULT_SLOT` and names it in the endpoint.
        poll_seconds: how often :meth:`wait_running` (and a task modification) reads the task's status, seconds;
            default 2.
    """

    def __init__(self, name: str, dms: Any, cloudwatch: Any, task_arn: str, *, instance_id: str | None = None,
                 task_resource_id: str | None = None, publisher: Database | None = None,
                 subscriber: Database | None = None, slot_name: str | None = None, poll_seconds: float = 2.0) -> None:
        self.name, self.dms, self.cloudwatch, self.task_arn = name, dms, cloudwatch, task_arn
        self.instance_id, self.task_resource_id = instance_id, task_resource_id
        self.publisher, self.subscriber, self.slot_name = publisher, subscriber, slot_name
        self.poll_seconds = poll_seconds
        self._endpoint_read = False
        self._endpoint: dict[str, Any] | None = None

    @property
    def slot(self) -> str:
        """The task's slot name (see the module docstring).

        Raises:
            CutoverError: no name given and the task's source endpoint sets no ``SlotName``.
        """
        from cutover.errors import CutoverError, ExitCode

        name = self._slot_name()
        if not name:
            raise CutoverError(f"replication {self.name}: the DMS task's source endpoint names no slot "
                               "(PostgreSQLSettings.SlotName): set the endpoint's slot_name, or give --slot",
                               exit_code=ExitCode.USAGE)
        return name

    def _slot_name(self) -> str | None:
        if self.slot_name is None and not self._endpoint_read:
            endpoint = self._source_endpoint()
            self.slot_name = (endpoint.get("PostgreSQLSettings") or {}).get("SlotName") if endpoint else None
        return self.slot_name or None

    def _source_endpoint(self) -> dict[str, Any] | None:
        """The task's source endpoint (``DescribeEndpoints``, read once), or None."""
        if not self._endpoint_read:
            self._endpoint_read = True
            task = self._task()
            arn = task.get("SourceEndpointArn") if task else None
            if arn:
                endpoints = self.dms.describe_endpoints(
                    Filters=[{"Name": "endpoint-arn", "Values": [arn]}])["Endpoints"]
                self._endpoint = endpoints[0] if endpoints else None
        return self._endpoint

    def drop_slot(self) -> bool:
        """Drop the task's slot on the publisher (the caller refuses while the task runs). A task whose slot is
        gone cannot ``resume-processing``: it starts again from a new slot (``CdcStartPosition``).

        Raises:
            CutoverError: the slot has no name (:attr:`slot`), or PostgreSQL refused (:func:`drop_slot`).
        """
        from cutover.replication import drop_slot

        if self.publisher is None:
            raise ValueError("DmsReplication.drop_slot needs the publisher")
        return drop_slot(self.publisher, self.slot)

    def _ensure_sentinel(self) -> None:
        """``cutover.sentinel`` on both databases, readable and writable by the DMS endpoints' roles."""
        from cutover.replication import sentinel
        from cutover.roles import ROLE_NAMES

        for database in (self.publisher, self.subscriber):
            if database is not None:
                sentinel.ensure(database, (ROLE_NAMES["dms_source"], ROLE_NAMES["dms_target"]))

    def selects_sentinel(self) -> bool:
        """Whether the task's ``TableMappings`` (``DescribeReplicationTasks``) select ``cutover.sentinel``
        (:func:`selects`)."""
        import json

        task = self._task()
        try:
            mappings = json.loads((task or {}).get("TableMappings") or "{}")
        except ValueError:
            return False
        return selects(mappings, *SENTINEL)

    def mark(self, token: str) -> bool:
        """Write the drain's sentinel row ``token`` on the publisher (:func:`cutover.replication.sentinel.write`);
        False, writing nothing, without a publisher and subscriber or when the task's table mappings do not select
        ``cutover.sentinel`` (:meth:`selects_sentinel`): the drain then waits on the slot's position instead.

        The task applies changes transactionally (``TargetMetadata.BatchApplyEnabled`` false, ``modules.dms``): "By
        default, AWS DMS processes changes in a transactional mode, which preserves transactional integrity" (DMS
        user guide, change processing tuning settings); in that mode "the sorter component sorts transactions in
        commit order, and then forwards them to the target, sequentially" (AWS Knowledge Center, "How can I use the
        DMS batch apply feature to improve CDC replication performance?"; ``MinTransactionSize`` and
        ``CommitTimeout`` group whole transactions, order kept). So once the row is on the subscriber
        (:meth:`marked`), every transaction the publisher committed before it is there too. On a frozen publisher
        the row waits in the task for ``CommitTimeout`` (1 s, ``modules.dms.default_task_settings``) before it is
        committed on the subscriber: the drain takes about that, not a heartbeat interval.

        Follows: https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TaskSettings.ChangeProcessingTuning.html,
        https://repost.aws/knowledge-center/dms-batch-apply-cdc-replication and
        https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.CustomizingTasks.TableMapping.SelectionTransformation.Selections.html.
        """
        from cutover.replication import sentinel

        if self.publisher is None or self.subscriber is None or not self.selects_sentinel():
            return False
        sentinel.write(self.publisher, token, self.name)
        return True

    def marked(self, token: str, timeout_seconds: float = 0.0, poll_seconds: float = 0.05) -> bool:
        """Whether the sentinel row ``token`` (:meth:`mark`) was applied on the subscriber (False without one),
        waiting at most ``timeout_seconds`` (:func:`cutover.replication.sentinel.present`)."""
        from cutover.replication import sentinel

        return self.subscriber is not None and sentinel.present(self.subscriber, token, timeout_seconds, poll_seconds)

    def _task(self) -> dict[str, Any] | None:
        tasks = self.dms.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [self.task_arn]}])["ReplicationTasks"]
        return tasks[0] if tasks else None

    def start(self, *, initial_copy: bool) -> None:
        """Start the task (see the module docstring); nothing when it is ``running`` or ``starting`` already.

        Args:
            initial_copy: True: ``start-replication`` as the task is defined (the forward full load and CDC).
                False: CDC only, from the slot's position captured now (the publisher must be frozen unless the
                slot was created during the freeze).

        Raises:
            CutoverError: the slot is in use by a process; the publisher accepts writes and the slot does not
                exist; a modification of the task did not end within 60 s.
            ValueError: a CDC start without ``publisher`` (the slot is created there).
            botocore.exceptions.ClientError: DMS refused a call.
        """
        task = self._task()
        if task and task["Status"] in ("running", "starting"):
            return
        self._ensure_sentinel()
        if initial_copy:
            self.dms.start_replication_task(ReplicationTaskArn=self.task_arn,
                                            StartReplicationTaskType="start-replication")
            return
        position = self._cdc_start_point()
        if task and task.get("MigrationType", "cdc") != "cdc":
            self.dms.modify_replication_task(ReplicationTaskArn=self.task_arn, MigrationType="cdc")
            self._wait_modified(60.0)
        self.dms.start_replication_task(ReplicationTaskArn=self.task_arn, StartReplicationTaskType="start-replication",
                                        CdcStartPosition=position)

    def _cdc_start_point(self) -> str:
        """The slot on the publisher, (re)created while it is frozen, named in the source endpoint; its
        ``confirmed_flush_lsn`` (the ``CdcStartPosition``)."""
        from cutover.errors import CutoverError, ExitCode

        if self.publisher is None:
            raise ValueError("DmsReplication.start(initial_copy=False) needs the publisher (the slot is created there)")
        name = self.cdc_slot()
        frozen = self.publisher.frozen()
        with self.publisher.connect() as conn:
            row = conn.execute("SELECT active_pid, confirmed_flush_lsn::text FROM pg_replication_slots "
                               "WHERE slot_name = %s AND database = current_database()", (name,)).fetchone()
            if row and row[0] is not None:
                raise CutoverError(f"replication {self.name}: slot {name} on the {self.publisher.name} is in use by "
                                   f"process {row[0]}: not started", exit_code=ExitCode.DIFFERENT)
            if not frozen:
                if row is None:
                    raise CutoverError(
                        f"replication {self.name}: the {self.publisher.name} accepts writes and has no slot {name}: a "
                        "slot created now would miss the payments written since the freeze; not started",
                        exit_code=ExitCode.DIFFERENT)
                position = row[1]
            else:
                if row is not None:  # older than the freeze: it would send the other direction's rows back
                    conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))
                position = conn.execute("SELECT lsn::text FROM pg_create_logical_replication_slot(%s, %s)",
                                        (name, SLOT_PLUGIN)).fetchone()[0]  # its consistent point: confirmed_flush_lsn
        self._name_slot_in_endpoint(name)
        return position

    def cdc_slot(self) -> str:
        """The slot a CDC-only start creates or uses: the task's named slot (:attr:`slot`), else
        :data:`DEFAULT_SLOT` (the endpoint is then modified to name it)."""
        return self._slot_name() or DEFAULT_SLOT.format(name=self.name)

    def _name_slot_in_endpoint(self, name: str) -> None:
        """``ModifyEndpoint`` ``PostgreSQLSettings.SlotName`` = ``name`` unless the endpoint names it already."""
        endpoint = self._source_endpoint()
        if endpoint and (endpoint.get("PostgreSQLSettings") or {}).get("SlotName") != name:
            self.dms.modify_endpoint(EndpointArn=endpoint["EndpointArn"], PostgreSQLSettings={"SlotName": name})
            endpoint.setdefault("PostgreSQLSettings", {})["SlotName"] = name
        self.slot_name = name

    def _wait_modified(self, timeout_seconds: float) -> None:
        from cutover.errors import CutoverError, ExitCode

        deadline = time.monotonic() + timeout_seconds
        while (task := self._task()) and task["Status"] in _PENDING:
            if time.monotonic() > deadline:
                raise CutoverError(f"replication {self.name}: task {self.task_arn} still {task['Status']} after "
                                   f"{timeout_seconds} s (ModifyReplicationTask)", exit_code=ExitCode.DIFFERENT)
            time.sleep(self.poll_seconds)

    def wait_running(self, timeout_seconds: float) -> None:
        """Wait until the task is ``running`` and its slot exists on the publisher (DMS starts asynchronously).

        Args:
            timeout_seconds: the longest wait, seconds (the status is read every ``poll_seconds``).

        Raises:
            CutoverError: the task stopped or failed (its ``StopReason`` / ``LastFailureMessage``), is absent, or
                is not running with its slot after ``timeout_seconds``; each names the task and what to run.

        Follows: https://docs.aws.amazon.com/dms/latest/APIReference/API_ReplicationTask.html (``Status``).
        """
        from cutover.errors import CutoverError, ExitCode

        deadline = time.monotonic() + timeout_seconds
        fix = f"`cutover replication start --direction {self.name}` once the cause is fixed"
        while True:
            task = self._task()
            status = task["Status"] if task else "absent"
            if status == "running" and self._slot_exists():
                return
            if status not in _PENDING and status != "running":
                reason = (task or {}).get("LastFailureMessage") or (task or {}).get("StopReason") or "no reason given"
                raise CutoverError(f"replication {self.name}: task {self.task_arn} is {status}, not running "
                                   f"({reason}): {fix}", exit_code=ExitCode.DIFFERENT)
            if time.monotonic() > deadline:
                raise CutoverError(f"replication {self.name}: task {self.task_arn} is still {status} after "
                                   f"{timeout_seconds} s (slot {self.slot_name or 'unnamed'}): `cutover status`, then "
                                   f"{fix}", exit_code=ExitCode.DIFFERENT)
            time.sleep(self.poll_seconds)

    def _slot_exists(self) -> bool:
        name = self._slot_name()
        if self.publisher is None or name is None:
            return self.publisher is None  # nothing to check against without a publisher
        with self.publisher.connect() as conn:
            return conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (name,)).fetchone() \
                is not None

    def stop(self) -> None:
        task = self._task()
        if task and task["Status"] in ("running", "starting"):
            self.dms.stop_replication_task(ReplicationTaskArn=self.task_arn)

    def resume(self) -> None:
        task = self._task()
        if task and task["Status"] in ("running", "starting"):
            return
        self.dms.start_replication_task(ReplicationTaskArn=self.task_arn, StartReplicationTaskType="resume-processing")

    def _dimensions(self, task: dict[str, Any]) -> list[dict[str, str]]:
        if self.instance_id is None:
            instances = self.dms.describe_replication_instances(Filters=[
                {"Name": "replication-instance-arn", "Values": [task["ReplicationInstanceArn"]]}])
            self.instance_id = instances["ReplicationInstances"][0]["ReplicationInstanceIdentifier"]
        resource = self.task_resource_id or self.task_arn.rsplit(":", 1)[-1]
        return [{"Name": "ReplicationInstanceIdentifier", "Value": self.instance_id},
                {"Name": "ReplicationTaskIdentifier", "Value": resource}]

    def _latency(self, metric: str, dimensions: list[dict[str, str]]) -> float | None:
        now = datetime.now(timezone.utc)
        points = self.cloudwatch.get_metric_statistics(
            # the end a minute ahead: the newest datapoint's period is never cut off
            Namespace="AWS/DMS", MetricName=metric, StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1), Period=60,
            Statistics=["Maximum"], Dimensions=dimensions)["Datapoints"]
        return float(max(points, key=lambda p: p["Timestamp"])["Maximum"]) if points else None

    def _tables(self) -> tuple[TableProgress, ...]:
        from botocore.exceptions import ClientError

        try:
            stats = self.dms.describe_table_statistics(ReplicationTaskArn=self.task_arn)["TableStatistics"]
        except (ClientError, NotImplementedError):
            return ()
        return tuple(TableProgress(f"{s['SchemaName']}.{s['TableName']}", s.get("TableState", "unknown"),
                                   s.get("FullLoadRows"), s.get("ValidationState"), s.get("ValidationFailedRecords"))
                     for s in stats)

    def _slot(self) -> tuple[str | None, int | None, int | None]:
        name = self._slot_name() if self.publisher is not None else None
        if name is None:
            return None, None, None
        with self.publisher.connect() as conn:
            row = conn.execute(
                "SELECT confirmed_flush_lsn::text, "
                "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::bigint, "
                "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), restart_lsn)::bigint FROM pg_replication_slots "
                "WHERE slot_type = 'logical' AND slot_name = %s AND database = current_database()", (name,)).fetchone()
        return tuple(row) if row else (None, None, None)  # type: ignore[return-value]

    def status(self) -> ReplicationStatus:
        task = self._task()
        if not task:
            return ReplicationStatus(self.name, "absent")
        state = _STATES.get(task["Status"], task["Status"])
        if state == "running" and task.get("ReplicationTaskStats", {}).get("FullLoadProgressPercent", 100) < 100:
            state = "full-load"
        applied, lag, retained = self._slot()
        dimensions = self._dimensions(task)
        return ReplicationStatus(self.name, state, lag_bytes=lag, retained_bytes=retained,
                                 latency_source_seconds=self._latency("CDCLatencySource", dimensions),
                                 latency_target_seconds=self._latency("CDCLatencyTarget", dimensions),
                                 applied_lsn=applied, tables=self._tables())
