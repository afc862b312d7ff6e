"""An AWS DMS replication task as a :class:`cutover.replication.Replication` (boto3).

- ``start(initial_copy=True)``: ``StartReplicationTask`` type ``start-replication`` (the forward full load and CDC).
- ``start(initial_copy=False)``: changes from now on only: ``start-replication`` for a task that never ran (the
  reverse task is CDC-only), else ``resume-processing`` with ``CdcStartTime`` = now (the publisher is frozen when a
  switch calls it, so "now" misses nothing).
- ``stop()`` / ``resume()``: ``StopReplicationTask`` / ``start-replication`` type ``resume-processing``.
- Status: the task's ``Status`` and ``FullLoadProgressPercent``; per table ``DescribeTableStatistics``
  (``FullLoadRows``, ``ValidationState``, ``ValidationFailedRecords``); ``CDCLatencySource`` and
  ``CDCLatencyTarget`` from CloudWatch (``AWS/DMS``, last datapoint of the past 5 minutes); the applied LSN from
  the DMS replication slot on the publishing database (``confirmed_flush_lsn``; DMS confirms what it applied).
- The slot is named, never guessed: ``slot_name`` given, else the task's source endpoint's
  ``PostgreSQLSettings.SlotName`` (the endpoint's ``slot_name`` setting: "the name of a previously created logical
  replication slot"). Without a name the applied LSN is unknown (None), and ``drop_slot`` refuses: "the one
  logical slot not named cutover_*" would pick a stale slot, or none when there are two.

The emulated AWS moves no data through DMS: these calls are tested against moto's API only; the data path is
rehearsed with :mod:`cutover.replication.native` instead.

Follows: https://docs.aws.amazon.com/dms/latest/APIReference/API_StartReplicationTask.html,
https://docs.aws.amazon.com/dms/latest/APIReference/API_DescribeTableStatistics.html and
https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Monitoring.html#CHAP_Monitoring.Metrics.Task and
https://docs.aws.amazon.com/dms/latest/APIReference/API_PostgreSQLSettings.html (``SlotName``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from cutover.database import Database
from cutover.replication import ReplicationStatus, TableProgress

_STATES = {"running": "running", "starting": "starting", "stopped": "stopped", "ready": "stopped",
           "stopping": "stopped", "failed": "failed", "creating": "starting", "modifying": "starting"}


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
        slot_name: the task's slot on the publisher; default: its source endpoint's ``PostgreSQLSettings.SlotName``
            (read from DMS once); None there too: unknown (see the module docstring).
    """

    def __init__(self, name: str, dms: Any, cloudwatch: Any, task_arn: str, *, instance_id: str | None = None,
                 task_resource_id: str | None = None, publisher: Database | None = None,
                 slot_name: str | None = None) -> None:
        self.name, self.dms, self.cloudwatch, self.task_arn = name, dms, cloudwatch, task_arn
        self.instance_id, self.task_resource_id = instance_id, task_resource_id
        self.publisher, self.slot_name = publisher, slot_name
        self._endpoint_read = False

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
            self._endpoint_read = True
            task = self._task()
            arn = task.get("SourceEndpointArn") if task else None
            if arn:
                endpoints = self.dms.describe_endpoints(
                    Filters=[{"Name": "endpoint-arn", "Values": [arn]}])["Endpoints"]
                self.slot_name = (endpoints[0].get("PostgreSQLSettings") or {}).get("SlotName") if endpoints else None
        return self.slot_name or None

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

    def _task(self) -> dict[str, Any] | None:
        tasks = self.dms.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [self.task_arn]}])["ReplicationTasks"]
        return tasks[0] if tasks else None

    def start(self, *, initial_copy: bool) -> None:
        task = self._task()
        if task and task["Status"] in ("running", "starting"):
            return
        if initial_copy or not task or "ReplicationTaskStartDate" not in task:
            self.dms.start_replication_task(ReplicationTaskArn=self.task_arn,
                                            StartReplicationTaskType="start-replication")
        else:
            self.dms.start_replication_task(ReplicationTaskArn=self.task_arn,
                                            StartReplicationTaskType="resume-processing",
                                            CdcStartTime=datetime.now(timezone.utc))

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
