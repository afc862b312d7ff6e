"""Phase 1: move the public traffic from the legacy endpoint to the new ALB, in steps, with gates, atomically.

The two weighted records (``legacy``, ``new``) belong to this module after Terraform created them
(``modules/weighted_dns.py`` ignores their weights). Each step changes *both* weights in one Route 53 change batch
(atomic: no answer ever sees one side changed and not the other), is journalled before it acts, and is held for a
bake time no shorter than the record's TTL while the gates are checked every ``poll_seconds``. A gate failing at any
moment moves the weights back to legacy 100 / new 0 in one batch (journalled) and stops the shift. All writers
still write to the source in phase 1, so rolling back is only the weights.

Gates (:class:`Gates`): the new side's Route 53 health check is healthy; no CloudWatch alarm of the environment
is in ``ALARM`` (ALB 5xx, unhealthy hosts, ...); the forward replication is running with lag (and, for DMS, CDC
latency) under a bound.

Follows: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html,
https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html and
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cutover.errors import CutoverError, ExitCode, UsageError
from cutover.journal import Journal
from cutover.writer import find_record, wait_insync

if TYPE_CHECKING:
    from cutover.replication import Replication

DEFAULT_STEPS = (10, 25, 50, 100)
ALIAS_TTL_SECONDS = 60
"""An alias record has no TTL of its own; resolvers cache an ALB alias answer for 60 s (ELB's TTL)."""


def route53_weighted_shares(records: Iterable[tuple[str, int, bool]], healthy: dict[str, bool]) -> dict[str, float]:
    """The share of answers each weighted record gets, as Route 53 documents its choice.

    Args:
        records: ``(set identifier, weight, tied to a health check)``; a record without a health check is healthy.
        healthy: set identifier -> whether its health check passes.

    Returns:
        Set identifier -> share of answers (0.0-1.0). Healthy records with a positive weight share by weight; when
        none is, Route 53 considers the zero-weight records (healthy ones equally); when none is healthy at all,
        it answers as if all were healthy.
    """
    records = list(records)
    alive = [(name, weight) for name, weight, checked in records if not checked or healthy.get(name, True)]
    shares = {name: 0.0 for name, _, _ in records}
    candidates = [(n, w) for n, w in alive if w > 0] or [(n, 1) for n, w in alive if w == 0]
    if not candidates:  # every record unhealthy: Route 53 treats them all as healthy
        candidates = [(n, w) for n, w, _ in records if w > 0] or [(n, 1) for n, _, _ in records]
    total = sum(w for _, w in candidates)
    for name, weight in candidates:
        shares[name] = weight / total
    return shares


def parse_steps(text: str) -> tuple[int, ...]:
    """``"10,25,50,100"`` -> ``(10, 25, 50, 100)``.

    Raises:
        UsageError: not increasing percentages in 1-100 ending at 100.
    """
    try:
        steps = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError("--steps", text, "must be comma-separated integers such as 10,25,50,100") from None
    if not steps or any(not 1 <= s <= 100 for s in steps) or list(steps) != sorted(set(steps)) or steps[-1] != 100:
        raise UsageError("--steps", text, "must be increasing percentages of 1-100 that end at 100")
    return steps


class WeightedRecords:
    """The two weighted records ``legacy`` and ``new`` of the public name.

    Args:
        route53: a boto3 Route 53 client.
        zone_id: the public hosted zone (traffic stack output ``zone_id``).
        name: the record name (output ``record_fqdn``), e.g. ``api.payments.example.com``.
    """

    def __init__(self, route53: Any, zone_id: str, name: str) -> None:
        self.route53, self.zone_id, self.name = route53, zone_id, name

    def _records(self) -> dict[str, dict[str, Any]]:
        return {side: find_record(self.route53, self.zone_id, self.name, "A", side) for side in ("legacy", "new")}

    def weights(self) -> dict[str, int]:
        """``{"legacy": w, "new": w}`` as Route 53 has them now."""
        return {side: int(record["Weight"]) for side, record in self._records().items()}

    def set(self, legacy: int, new: int) -> None:
        """Set both weights in one change batch (atomic) and wait until it is in sync; idempotent.

        Raises:
            UsageError: a weight outside 0-255, or both 0.
        """
        for name, weight in (("legacy", legacy), ("new", new)):
            if not 0 <= weight <= 255:
                raise UsageError(f"weight.{name}", weight, "must be 0-255")
        if legacy == new == 0:
            raise UsageError("weights", (legacy, new), "at least one must be positive")
        changes = []
        for side, record in self._records().items():
            updated = {**record, "Weight": legacy if side == "legacy" else new}
            changes.append({"Action": "UPSERT", "ResourceRecordSet": updated})
        change = self.route53.change_resource_record_sets(HostedZoneId=self.zone_id, ChangeBatch={
            "Comment": f"cutover: weights legacy={legacy} new={new}", "Changes": changes})
        wait_insync(self.route53, change)


@dataclass
class Gates:
    """What must hold throughout a traffic shift.

    Attributes:
        route53: boto3 Route 53 client (health checks); None skips the health gate.
        new_health_check_id: the new side's health check (traffic stack output ``new_health_check_id``).
        cloudwatch: boto3 CloudWatch client; None skips the alarm gate.
        alarm_prefix: alarms of the environment (``<project>-<env>``); every alarm whose name starts with it.
        replication: the forward :class:`cutover.replication.Replication`; None skips the replication gate.
        max_lag_bytes: replication lag bound, bytes; default 16 MiB.
        max_latency_seconds: DMS CDC latency bound (source and target), seconds; default 30.
    """

    route53: Any = None
    new_health_check_id: str | None = None
    cloudwatch: Any = None
    alarm_prefix: str = ""
    replication: Replication | None = None
    max_lag_bytes: int = 16 * 1024 * 1024
    max_latency_seconds: float = 30.0

    def problems(self) -> list[str]:
        """Every gate that fails now, as one line each (empty: all pass)."""
        problems = []
        if self.route53 is not None and self.new_health_check_id:
            observations = self.route53.get_health_check_status(
                HealthCheckId=self.new_health_check_id)["HealthCheckObservations"]
            failing = [o for o in observations if not o["StatusReport"]["Status"].startswith("Success")]
            if observations and len(failing) * 2 >= len(observations):
                problems.append(f"health check {self.new_health_check_id} of the new side: failing at "
                                f"{len(failing)} of {len(observations)} checkers")
        if self.cloudwatch is not None:
            prefix = {"AlarmNamePrefix": self.alarm_prefix} if self.alarm_prefix else {}
            alarms = self.cloudwatch.describe_alarms(StateValue="ALARM", **prefix)
            # the state is checked here too: moto's DescribeAlarms drops StateValue when a prefix is given
            problems += [f"alarm {a['AlarmName']} is in ALARM" for a in alarms["MetricAlarms"]
                         if a["StateValue"] == "ALARM"]
        if self.replication is not None:
            status = self.replication.status()
            if status.state != "running":
                problems.append(f"replication {status.name} is {status.state}, not running")
            elif status.lag_bytes is not None and status.lag_bytes > self.max_lag_bytes:
                problems.append(f"replication {status.name} lag {status.lag_bytes} bytes > {self.max_lag_bytes}")
            for kind, latency in (("source", status.latency_source_seconds), ("target", status.latency_target_seconds)):
                if latency is not None and latency > self.max_latency_seconds:
                    problems.append(f"CDC latency {kind} {latency:.0f} s > {self.max_latency_seconds:.0f} s")
        return problems


class ShiftRolledBack(CutoverError):
    """A gate failed during a shift: the weights were moved back to legacy in one change batch."""

    def __init__(self, percent: int, problems: list[str]) -> None:
        super().__init__(f"traffic shift rolled back at {percent} % (weights legacy=100 new=0): "
                         + "; ".join(problems), exit_code=ExitCode.DIFFERENT)
        self.problems = problems


@dataclass
class Shift:
    """A traffic shift (see the module docstring).

    Attributes:
        records: the weighted records.
        gates: what must hold.
        journal: the journal (its lock held by the caller).
        steps: percentages of traffic to the new side, increasing, ending at 100; default 10, 25, 50, 100.
        bake_seconds: how long each step is held; at least ``min_bake_seconds``.
        min_bake_seconds: the record TTL (default ``ALIAS_TTL_SECONDS``): a shorter bake would judge a step
            before resolvers have seen it.
        poll_seconds: how often the gates are checked during a bake; default 5.
        sleep / clock: injected for tests (default ``time.sleep`` / ``time.monotonic``).
        progress: called with one line per step and wait.
    """

    records: WeightedRecords
    gates: Gates
    journal: Journal
    steps: Sequence[int] = DEFAULT_STEPS
    bake_seconds: float = 300.0
    min_bake_seconds: float = ALIAS_TTL_SECONDS
    poll_seconds: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    progress: Callable[[str], None] = lambda line: None
    run: str = field(default_factory=lambda: f"shift-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}")

    def __post_init__(self) -> None:
        if self.bake_seconds < self.min_bake_seconds:
            raise UsageError("--bake", self.bake_seconds, f"must be at least the record TTL ({self.min_bake_seconds} s)")

    def restore_legacy_weights(self, reason: str) -> None:
        """Weights back to legacy 100 / new 0 in one batch, journalled before it acts."""
        self.journal.write(self.run, "shift", "rollback-weights", "begin", reason=reason, legacy=100, new=0)
        self.records.set(100, 0)
        self.journal.write(self.run, "shift", "rollback-weights", "done", legacy=100, new=0)

    def roll_back(self, reason: str) -> None:
        """The operator's rollback of phase 1 as a run of its own: the weights back (:meth:`restore_legacy_weights`), then the run
        ended ``rolled-back``. An interrupted one is finished by ``cutover resume`` (the weights go back, never
        forward: :func:`cutover.recovery.resume_any`)."""
        self.restore_legacy_weights(reason)
        self.journal.write(self.run, "shift", "end", "end", outcome="rolled-back", reason=reason)

    def execute(self, *, start_after: int = 0, rebake: bool = False) -> dict[str, int]:
        """Run every step above ``start_after`` percent; returns the final weights.

        Args:
            start_after: the last step already applied (0: none); a resumed run continues after it.
            rebake: hold the ``start_after`` step for a whole bake first (its bake was interrupted): a step is only
                judged after a full bake.

        Raises:
            ShiftRolledBack: a gate failed (before a step or during a bake); the weights are legacy again.
        """
        if rebake and start_after:
            self.progress(f"shift: resuming at {start_after} %: baking it again")
            if (problems := self._bake(start_after)):
                return self._abort(start_after, problems)
        for percent in (p for p in self.steps if p > start_after):
            problems = self.gates.problems()
            if problems:
                return self._abort(percent, problems)
            legacy, new = 100 - percent, percent
            self.journal.write(self.run, "shift", f"weights-{percent}", "begin", legacy=legacy, new=new,
                               steps=list(self.steps), bake_seconds=self.bake_seconds)
            self.progress(f"shift: legacy={legacy} new={new}")
            self.records.set(legacy, new)
            self.journal.write(self.run, "shift", f"weights-{percent}", "done", legacy=legacy, new=new)
            if (problems := self._bake(percent)):
                return self._abort(percent, problems)
        self.journal.write(self.run, "shift", "end", "end", outcome="completed", legacy=0, new=100)
        return self.records.weights()

    def _bake(self, percent: int) -> list[str]:
        """Hold ``percent`` for ``bake_seconds`` while checking the gates; the problems that ended it early, or []."""
        started = self.clock()
        while (left := self.bake_seconds - (self.clock() - started)) > 0:
            self.progress(f"shift: baking {percent} % ({left:.0f} s left), checking gates")
            self.sleep(min(self.poll_seconds, left))
            problems = self.gates.problems()
            if problems:
                return problems
        return []

    def _abort(self, percent: int, problems: list[str]) -> dict[str, int]:
        self.restore_legacy_weights("; ".join(problems))
        self.journal.write(self.run, "shift", "end", "end", outcome="rolled-back", at_percent=percent)
        raise ShiftRolledBack(percent, problems)
