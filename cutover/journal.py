"""The migration's journal and operator lock.

Every step that touches live data or traffic is written here *before* it acts (``status = "begin"``) and again
when it is done (``"done"``), so an interrupted run (Ctrl-C, ``kill -9``, a lost terminal) can be resumed or
rolled back from exactly where it stopped, on this machine or another one.

- With a table (the data stack's ``cutover_journal_table`` output), the DynamoDB table is the journal: item
  ``pk = "journal"``, ``sk = <seq, zero-padded to 10 digits>``, ``entry = <the entry's JSON>``. Entries are read
  with strongly consistent reads (``ConsistentRead``), so a read after a write on any machine sees it; the next
  ``seq`` is the table's last entry + 1; an entry is written with a conditional put
  (``attribute_not_exists(pk) AND attribute_not_exists(sk)``): if another machine wrote that ``seq`` first, the put
  fails (``ConditionalCheckFailedException``) and the step stops with a :class:`CutoverError` naming the ``seq``,
  before it acts; nothing is overwritten. The local JSON-lines file ``.state/<env>/cutover/journal.jsonl`` is then
  a cache: rewritten from the table on every read, appended after every put (an operator can read it offline).
- Without a table (tests, a machine without AWS) the local file is the journal (flushed and fsynced per entry).

The operator lock is one item ``pk = "lock"`` in the same table, written with a conditional put
(``attribute_not_exists(pk) OR expires_at < :now``): a second operator is refused while the lease is live. The
lease (``lease_seconds``, default 900) is renewed on every entry; a crashed operator's lease expires, or the same
operator (``user@host``) takes it over at once when the process that held it is gone. Without a table the lock is
a local ``lock.json`` created with ``O_EXCL``.

Entries hold step names, LSNs, weights, counts and times: never a row value, DSN or password.

Follows: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html and
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html (``ConsistentRead``,
``ScanIndexForward``, ``Limit``).
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cutover.errors import CutoverError, ExitCode


class LockHeld(CutoverError):
    """Another operator holds the migration lock."""

    def __init__(self, owner: str, expires_at: float) -> None:
        left = max(0, int(expires_at - time.time()))
        super().__init__(f"another operator holds the migration lock: {owner} (lease ends in {left} s); "
                         "wait for it, or let its run finish", exit_code=ExitCode.DIFFERENT)
        self.owner = owner


def operator_identity() -> tuple[str, int]:
    """``(user@host, pid)`` of this process: who holds the lock."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}", os.getpid()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Entry:
    """One journal entry.

    Attributes:
        seq: position in the journal (1, 2, ...).
        run: id of the run (one command invocation that acts), e.g. ``switchover-20260102T030405``.
        operation: ``switchover``, ``rollback``, ``shift``, ``replication``, ...
        step: the step's name, e.g. ``freeze``.
        status: ``begin`` (about to act), ``done``, ``failed``, ``undone`` (rolled back) or ``end`` (the run's
            last entry: details say ``completed``, ``abandoned`` or ``rolled-back``).
        at: Unix time, seconds.
        details: step facts (LSNs, weights, counts); never row values or secrets.
    """

    seq: int
    run: str
    operation: str
    step: str
    status: str
    at: float
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "run": self.run, "operation": self.operation, "step": self.step,
                "status": self.status, "at": self.at,
                "time": datetime.fromtimestamp(self.at, timezone.utc).isoformat(timespec="milliseconds"),
                "details": self.details}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        return cls(int(data["seq"]), data["run"], data["operation"], data["step"], data["status"],
                   float(data["at"]), dict(data.get("details") or {}))


class Journal:
    """The journal of one environment (see the module docstring).

    Args:
        directory: local folder, e.g. ``.state/<env>/cutover`` (created).
        dynamodb: a boto3 DynamoDB client, or None for the local copy and a local lock only.
        table: the journal table's name (with ``dynamodb``).
        lease_seconds: lifetime of the operator lock between renewals, seconds; default 900.
        partition: the journal's partition key in the table; default ``journal`` (a rehearsal uses its own).
    """

    def __init__(self, directory: Path, *, dynamodb: Any = None, table: str | None = None,
                 lease_seconds: float = 900.0, partition: str = "journal") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "journal.jsonl"
        self.dynamodb, self.table, self.lease_seconds = dynamodb, table, lease_seconds
        self.owner, self.pid = operator_identity()
        self.partition = partition
        self._locked = False
        self._last_put: int | None = None  # seq of this journal's last put while it holds the lock

    # --- entries -----------------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """Every entry, oldest first: the table's (consistent read; the local cache rewritten from it) when there
        is a table, else the local file's."""
        if self.dynamodb is None:
            return self._local_entries()
        entries = self.table_entries()
        self._rewrite_cache(entries)
        return entries

    def _local_entries(self) -> list[Entry]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [Entry.from_json(json.loads(line)) for line in lines if line.strip()]

    def _rewrite_cache(self, entries: list[Entry]) -> None:
        """The local file made a copy of ``entries`` (written aside, fsynced, renamed over: never half a file)."""
        text = "".join(json.dumps(entry.to_json(), sort_keys=True) + "\n" for entry in entries)
        if self.path.exists() and self.path.read_text(encoding="utf-8") == text:
            return
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")  # per process: readers may race
        with open(partial, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.path)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())

    def write(self, run: str, operation: str, step: str, status: str, **details: Any) -> Entry:
        """Append one entry; renews the operator lock.

        With a table: ``seq`` = the table's last entry + 1 (a consistent read; while this journal holds the
        operator lock, the entry it put last is the table's last: no read, which keeps each entry of a write freeze
        to one put, and a put that finds its seq taken still fails), the item put on condition that no item has
        that key, then appended to the local cache. Without one: appended to the local file (fsynced).

        Raises:
            CutoverError: the entry could not be written (nothing may act on an unjournalled step): another machine
                wrote the same ``seq`` first (the conditional put failed), or DynamoDB refused the put.
        """
        if self.dynamodb is None:
            entries = self._local_entries()
            entry = Entry(entries[-1].seq + 1 if entries else 1, run, operation, step, status, time.time(), details)
        else:
            last = self._last_put if self._locked and self._last_put is not None else self._last_table_seq()
            entry = Entry(last + 1, run, operation, step, status, time.time(), details)
            self._last_put = None
            self._put(entry)
            self._last_put = entry.seq
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps(entry.to_json(), sort_keys=True) + "\n")
            file.flush()
            os.fsync(file.fileno())
        if self._locked:
            self._renew()
        return entry

    @contextmanager
    def one_step(self, run: str, operation: str, step: str, **details: Any) -> Iterator[dict[str, Any]]:
        """A run of one step that touches live data, journalled around it: ``begin`` (with ``details``) before the
        block acts; then ``done`` (with what the block put in the yielded dict) and ``end`` ``completed``; or, when
        the block raises anything, ``failed`` and ``end`` ``failed``, and the exception goes on. So a refused or
        failed command never leaves a run without its ``end`` (which would read as interrupted: :func:`cutover.
        switchover.incomplete_run`)."""
        self.write(run, operation, step, "begin", **details)
        done: dict[str, Any] = {}
        try:
            yield done
        except Exception as error:
            self.write(run, operation, step, "failed", error=type(error).__name__)
            self.write(run, operation, "end", "end", outcome="failed")
            raise
        self.write(run, operation, step, "done", **done)
        self.write(run, operation, "end", "end", outcome="completed")

    def _put(self, entry: Entry) -> None:
        """The entry's item, only if no item has its key (``attribute_not_exists``): never overwrites."""
        from botocore.exceptions import ClientError

        line = json.dumps(entry.to_json(), sort_keys=True)
        try:
            self.dynamodb.put_item(
                TableName=self.table, Item={"pk": {"S": self.partition}, "sk": {"S": f"{entry.seq:010d}"},
                                            "entry": {"S": line}},
                ConditionExpression="attribute_not_exists(pk) AND attribute_not_exists(sk)")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise CutoverError(
                    f"journal table {self.table}: entry {entry.seq} was written by another process first (seq "
                    f"{entry.seq} exists); step {entry.step} of run {entry.run} not journalled and not acted on: "
                    "another operator or machine is writing this journal (`cutover status`)",
                    exit_code=ExitCode.DIFFERENT) from None
            raise CutoverError(f"journal table {self.table}: entry {entry.seq} not written "
                               f"({error.response.get('Error', {}).get('Code', type(error).__name__)})") from error
        except Exception as error:  # noqa: BLE001 - any AWS failure stops the step before it acts
            raise CutoverError(f"journal table {self.table}: entry {entry.seq} not written ({error})") from error

    def _last_table_seq(self) -> int:
        """The ``seq`` of the table's last entry (0 when empty): one consistent, newest-first query of one item."""
        items = self.dynamodb.query(
            TableName=self.table, KeyConditionExpression="pk = :pk", ConsistentRead=True, ScanIndexForward=False,
            Limit=1, ExpressionAttributeValues={":pk": {"S": self.partition}})["Items"]
        return int(items[0]["sk"]["S"]) if items else 0

    def table_entries(self) -> list[Entry]:
        """The entries in the DynamoDB table (empty without one), oldest first; strongly consistent reads."""
        if self.dynamodb is None:
            return []
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression="pk = :pk", ConsistentRead=True,
            ExpressionAttributeValues={":pk": {"S": self.partition}})
        return [Entry.from_json(json.loads(item["entry"]["S"])) for page in pages for item in page["Items"]]

    # --- lock --------------------------------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the operator lock.

        Raises:
            LockHeld: another operator (another ``user@host``, or a live process of this one) holds it.
        """
        now = time.time()
        if self.dynamodb is None:
            self._acquire_local(now)
        else:
            self._acquire_table(now)
        self._locked, self._last_put = True, None

    def release(self) -> None:
        """Give the lock back (only ours)."""
        if not self._locked:
            return
        self._locked = False
        if self.dynamodb is None:
            (self.directory / "lock.json").unlink(missing_ok=True)
            return
        from botocore.exceptions import ClientError
        try:
            self.dynamodb.delete_item(TableName=self.table, Key={"pk": {"S": "lock"}, "sk": {"S": "lock"}},
                                      ConditionExpression="#o = :me AND #p = :pid",
                                      ExpressionAttributeNames={"#o": "owner", "#p": "pid"},
                                      ExpressionAttributeValues={":me": {"S": self.owner}, ":pid": {"N": str(self.pid)}})
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def holder(self) -> dict[str, Any] | None:
        """The current lock holder (``owner``, ``pid``, ``expires_at``), or None."""
        if self.dynamodb is None:
            path = self.directory / "lock.json"
            return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        item = self.dynamodb.get_item(TableName=self.table, Key={"pk": {"S": "lock"}, "sk": {"S": "lock"}},
                                      ConsistentRead=True).get("Item")
        if not item:
            return None
        return {"owner": item["owner"]["S"], "pid": int(item["pid"]["N"]), "expires_at": float(item["expires_at"]["N"])}

    def _may_take_over(self, holder: dict[str, Any], now: float) -> bool:
        if holder["expires_at"] < now:
            return True
        return holder["owner"] == self.owner and (holder["pid"] == self.pid or not _pid_alive(holder["pid"]))

    def _acquire_local(self, now: float) -> None:
        path = self.directory / "lock.json"
        record = {"owner": self.owner, "pid": self.pid, "expires_at": now + self.lease_seconds}
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                holder = json.loads(path.read_text(encoding="utf-8") or "{}")
                if holder and not self._may_take_over(holder, now):
                    raise LockHeld(holder["owner"], holder["expires_at"]) from None
                path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(record, file)
            return
        raise LockHeld("unknown", now)

    def _acquire_table(self, now: float, *, renew: bool = False) -> None:
        from botocore.exceptions import ClientError
        if renew:
            condition: dict[str, Any] = {
                "ConditionExpression": "#o = :me AND #p = :pid", "ExpressionAttributeNames": {"#o": "owner", "#p": "pid"},
                "ExpressionAttributeValues": {":me": {"S": self.owner}, ":pid": {"N": str(self.pid)}}}
        else:
            condition = {"ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                         "ExpressionAttributeValues": {":now": {"N": repr(now)}}}
        try:
            self.dynamodb.put_item(TableName=self.table, Item=self._lock_item(now), **condition)
            return
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        holder = self.holder()
        if holder and not renew and self._may_take_over(holder, now):
            # our own dead process (same user@host): replace exactly that lease, conditionally
            try:
                self.dynamodb.put_item(
                    TableName=self.table, ConditionExpression="#o = :me AND #p = :pid",
                    ExpressionAttributeNames={"#o": "owner", "#p": "pid"},
                    ExpressionAttributeValues={":me": {"S": holder["owner"]}, ":pid": {"N": str(holder["pid"])}},
                    Item=self._lock_item(now))
                return
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                holder = self.holder()
        raise LockHeld(holder["owner"] if holder else "unknown", holder["expires_at"] if holder else now)

    def _lock_item(self, now: float) -> dict[str, Any]:
        return {"pk": {"S": "lock"}, "sk": {"S": "lock"}, "owner": {"S": self.owner}, "pid": {"N": str(self.pid)},
                "expires_at": {"N": repr(now + self.lease_seconds)}}

    def _renew(self) -> None:
        now = time.time()
        if self.dynamodb is None:
            path = self.directory / "lock.json"
            path.write_text(json.dumps({"owner": self.owner, "pid": self.pid, "expires_at": now + self.lease_seconds}),
                            encoding="utf-8")
        else:
            self._acquire_table(now, renew=True)

    def __enter__(self) -> Journal:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
