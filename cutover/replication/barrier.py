"""A barrier: a sentinel row written on the publisher, waited for on the subscriber. Once it is there, every
transaction committed on the publisher before it is applied on the subscriber.

Two callers need that proof while payments go on: ``cutover validate``'s re-check (a chunk read on the source at one
moment and on the target at another differs while a write is in flight: it must be read again only once
replication applied every write committed before the pass ended) and a switch's ``checkpoint`` step (keys of its
window that differ are compared again once replication applied the window). Replication slot positions are no
proof of it: a native subscriber reports the WAL end it received as flushed when no applied transaction awaits its
flush (PostgreSQL 15 ``worker.c``, ``send_feedback``), so its ``confirmed_flush_lsn`` can run ahead of what it
applied (see :mod:`cutover.validate.throttle`). A sentinel proves it: PostgreSQL logical replication applies
transactions in the publisher's commit order (PostgreSQL docs 31 "Logical Replication": "the subscriber applies the
data in the same order as the publisher so that transactional consistency is guaranteed"), and so does AWS DMS in
its default transactional apply (DMS user guide, "Change processing tuning settings": "by default, AWS DMS processes
changes in a transactional mode", ``BatchApplyEnabled`` false; the batch optimized apply gives no such order and no
barrier to trust); once the row (:meth:`~cutover.replication.Replication.mark`) is on the subscriber
(:meth:`~cutover.replication.Replication.marked`), every transaction committed on the publisher before it is applied
there too. gh-ost's cut-over waits the same way for its own sentinel row to come back.

A replication without ``mark``/``marked``, one that is not ``running``, one whose ``mark`` returns False (its
subscription does not replicate the sentinel table) or fails (a role that may not write it) gives no barrier:
the caller then waits another way (the re-check its delay, ``--recheck-after`` or the replication lag + 5 s; the
checkpoint the slot's confirmed position).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

PASSED, TIMED_OUT, UNAVAILABLE = "passed", "timeout", "unavailable"
POLL_SECONDS = 0.05
"""How often the target is asked whether the sentinel arrived, seconds."""


@dataclass(frozen=True)
class Passage:
    """What :func:`pass_barrier` found: ``state`` (``passed``, ``timeout``, ``unavailable``), the seconds it
    waited, and why (for ``timeout`` and ``unavailable``; names and error classes, never a value)."""

    state: str
    seconds: float = 0.0
    reason: str = ""
    token: str = ""
    """The sentinel's token (``passed`` and ``timeout``)."""


def pass_barrier(replication: Any, timeout_seconds: float, poll_seconds: float = POLL_SECONDS, *,
                 purpose: str = "validate", require_running: bool = True) -> Passage:
    """Write a sentinel on ``replication``'s publisher and wait until its subscriber applied it.

    Args:
        replication: a :class:`cutover.replication.Replication`; one without ``mark`` and ``marked`` gives
            ``unavailable``.
        timeout_seconds: the longest wait for the sentinel to arrive, seconds.
        poll_seconds: how often the subscriber is read, seconds (default :data:`POLL_SECONDS`).
        purpose: the token's prefix (``<purpose>/<12 hex digits>``), which tells whose sentinel a row is; default
            ``validate``.
        require_running: read ``status()`` first and give ``unavailable`` unless it is ``running`` (a sentinel
            nobody applies would only wait out the timeout); default True. False where the caller checked it
            already and a status read costs (a DMS status reads CloudWatch: not inside a freeze).

    Returns:
        ``passed`` (every transaction committed on the source before the call is applied on the target),
        ``timeout`` (not applied within ``timeout_seconds``, or the target could not be read while waiting) or
        ``unavailable`` (no barrier: not running, no sentinel, not allowed to write it); never raises for these.
    """
    mark, marked = getattr(replication, "mark", None), getattr(replication, "marked", None)
    if mark is None or marked is None:
        return Passage(UNAVAILABLE, reason=f"{type(replication).__name__} has no sentinel")
    token = f"{purpose}/{uuid.uuid4().hex[:12]}"
    try:
        state = replication.status().state if require_running else "running"
        if state != "running":
            return Passage(UNAVAILABLE, reason=f"replication {replication.name} is {state}")
        if not mark(token):
            return Passage(UNAVAILABLE, reason=f"replication {replication.name} does not replicate the sentinel")
    except Exception as error:  # noqa: BLE001 - any failure to write the sentinel: no barrier, the delay instead
        return Passage(UNAVAILABLE, reason=f"the sentinel could not be written ({type(error).__name__})")
    started = time.monotonic()
    try:
        if not marked(token, timeout_seconds=timeout_seconds, poll_seconds=poll_seconds):
            return Passage(TIMED_OUT, time.monotonic() - started,
                           f"replication {replication.name} did not apply the sentinel in {timeout_seconds:g} s",
                           token)
    except Exception as error:  # noqa: BLE001 - the target could not be read: not passed
        return Passage(TIMED_OUT, time.monotonic() - started,
                       f"the sentinel could not be read on the target ({type(error).__name__})", token)
    return Passage(PASSED, time.monotonic() - started, token=token)


def wait_applied(replication: Any, lsn: str, timeout_seconds: float, poll_seconds: float = POLL_SECONDS, *,
                 purpose: str, require_running: bool = True) -> dict[str, str] | None:
    """Wait until ``replication`` applied on its subscriber everything committed on its publisher up to ``lsn``
    (read before the call): by a sentinel (:func:`pass_barrier`), or where it gives no barrier (``unavailable``)
    by the slot's confirmed position (``status().applied_lsn``) passing ``lsn``, the weaker reading (see the
    module docstring).

    Args:
        replication / poll_seconds / purpose / require_running: as :func:`pass_barrier`.
        lsn: the publisher's position that must be applied, LSN text.
        timeout_seconds: the longest wait, seconds (a sentinel that does not arrive in it is not waited for again
            by the slot).

    Returns:
        ``{"sentinel": token}`` or ``{"applied_lsn": lsn applied}`` (what proved it, journalled by the callers),
        or None when it was not applied within ``timeout_seconds``.
    """
    from cutover.database import lsn_to_int

    passage = pass_barrier(replication, timeout_seconds, poll_seconds, purpose=purpose,
                           require_running=require_running)
    if passage.state == PASSED:
        return {"sentinel": passage.token}
    if passage.state == TIMED_OUT:
        return None
    deadline = time.monotonic() + timeout_seconds
    while True:
        applied = replication.status().applied_lsn
        if applied and lsn_to_int(applied) >= lsn_to_int(lsn):
            return {"applied_lsn": applied}
        if time.monotonic() > deadline:
            return None
        time.sleep(poll_seconds)
