"""Summaries of Terraform plans: what ``cdktf diff`` would do to each stack, as counts and a Markdown report.

Pure functions over the output of ``terraform show -json <planfile>`` (JSON output format 1.x,
https://developer.hashicorp.com/terraform/internals/json-format#plan-representation): nothing here runs
Terraform. ``ops.diff`` runs ``cdktf diff`` for every stack and feeds the plans in; the same Markdown goes to the
pull-request comment and job summary in CI (``.github/workflows/plan.yml``) and to the terminal (``make diff``).

Counting follows Terraform's own ``Plan: I to import, A to add, C to change, D to destroy.`` line: a replacement
counts once in *add* and once in *destroy* (and is also counted on its own under *replace*); an import counts under
*import* and, when the imported object also changes, under that change. Only managed resources count (data
sources are read, not changed). Replacing or destroying a stateful resource (``STATEFUL_TYPES``: databases and
their parameter groups, KMS keys, buckets, secrets, DMS instance, endpoints and task, the lock table) is listed in
a loud CAUTION block with what forces it (the attributes that force a replacement, why a resource is destroyed,
a KMS key's deletion window); ``unacknowledged`` lists those that ``make diff`` / ``python -m ops diff`` must see
acknowledged (``--allow-destroy <address>``) before it exits 0, and CI's deploy refuses to auto-approve without.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SUPPORTED_FORMAT_MAJOR = "1"
"""Major version of Terraform's JSON plan format this module reads (Terraform 1.x writes 1.0 ... 1.2)."""

STATEFUL_TYPES = (
    "aws_db_instance", "aws_db_parameter_group", "aws_dms_endpoint", "aws_dms_replication_instance",
    "aws_dms_replication_task", "aws_dynamodb_table", "aws_kms_key", "aws_s3_bucket", "aws_secretsmanager_secret",
)
"""Resource types whose replacement or destruction loses data, or interrupts the migration (exact names): the
payment databases and their parameter groups, KMS keys (a deleted key makes every byte it encrypted unreadable),
buckets (transaction logs, Terraform state), secrets, the DMS instance, endpoints and task, the state lock table.
The same list as ``stateful_types`` in ``stacks/stateful.toml`` (a test says so)."""

KMS_KEY_TYPE = "aws_kms_key"
"""Destroying one schedules the key's deletion after ``deletion_window_in_days`` (7-30 days)."""

DELETE_REASONS = {
    "delete_because_no_resource_config": "removed from the configuration (renamed without a moved block?)",
    "delete_because_no_module": "its module was removed",
    "delete_because_wrong_repetition": "count/for_each changed",
    "delete_because_count_index": "its count index is gone",
    "delete_because_each_key": "its for_each key is gone",
    "delete_because_no_move_target": "moved to an address that does not exist",
}
"""Terraform's ``action_reason`` of a delete, in words (json-format "Change Representation")."""

# Terraform's change actions (json-format "Change Representation") -> the counter they increase.
_ACTION_KINDS: dict[tuple[str, ...], str | None] = {
    ("no-op",): None,
    ("read",): None,
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("forget",): "forget",
}


class PlanFormatError(ValueError):
    """The document is not a Terraform JSON plan this module understands."""


def is_stateful(resource_type: str) -> bool:
    """Whether replacing or destroying a resource of ``resource_type`` loses data (see ``STATEFUL_TYPES``)."""
    return resource_type in STATEFUL_TYPES


@dataclass(frozen=True)
class StatefulAlert:
    """A stateful resource the plan replaces, destroys or (a KMS key) disables.

    Attributes: ``address`` (Terraform resource address), ``kind`` (``"replaced"``, ``"destroyed"`` or
    ``"disabled"``), ``forced_by`` (attribute paths that force it, dotted, e.g. ``storage_encrypted``),
    ``reason`` (why it is destroyed, and for a KMS key when its deletion takes effect; empty when unknown).
    """

    address: str
    kind: str
    forced_by: tuple[str, ...] = ()
    reason: str = ""

    def describe(self) -> str:
        """What forces it, in words: ``forced by `storage_encrypted```, the delete reason, the deletion window."""
        parts = [f"forced by {', '.join(f'`{path}`' for path in self.forced_by)}"] if self.forced_by else []
        return "; ".join(parts + ([self.reason] if self.reason else []))


def stateful_alert(resource: Mapping[str, Any], kind: str | None) -> StatefulAlert | None:
    """The alert for one managed ``resource_changes`` entry of kind ``kind`` (see ``_ACTION_KINDS``), or None."""
    if not is_stateful(resource["type"]):
        return None
    change = resource["change"]
    before = change.get("before") or {}
    is_key = resource["type"] == KMS_KEY_TYPE
    if kind == "update" and is_key and before.get("is_enabled") is True and (change.get("after") or {}).get(
            "is_enabled") is False:
        return StatefulAlert(resource["address"], "disabled", ("is_enabled",),
                             "every object the key encrypted is unreadable while it is disabled")
    if kind not in ("replace", "delete"):
        return None
    forced_by = tuple(".".join(str(step) for step in path) for path in change.get("replace_paths", []))
    reason = DELETE_REASONS.get(resource.get("action_reason", ""), "") if kind == "delete" else ""
    if is_key:
        window = before.get("deletion_window_in_days")
        reason = "; ".join(filter(None, [reason, f"key deletion scheduled: `deletion_window_in_days` = {window}, then "
                                                 "every object it encrypted is unreadable"]))
    return StatefulAlert(resource["address"], "replaced" if kind == "replace" else "destroyed", forced_by, reason)


@dataclass(frozen=True)
class StackPlan:
    """What a plan does to one stack.

    ``create``/``update``/``delete``/``replace``/``forget``/``imports`` count managed resources by action;
    ``changes`` lists ``(symbol, address)`` of every changed resource in plan order (symbols as in Terraform's
    output: ``+`` create, ``~`` update, ``-`` delete, ``-/+`` replace, ``<=`` import, ``.`` forget); ``error`` is
    set when there is no usable plan (the plan failed or is incomplete) and the counts are then meaningless.
    """

    stack: str
    create: int = 0
    update: int = 0
    delete: int = 0
    replace: int = 0
    imports: int = 0
    forget: int = 0
    changes: tuple[tuple[str, str], ...] = ()
    stateful_alerts: tuple[StatefulAlert, ...] = field(default=())
    error: str | None = None

    @property
    def to_add(self) -> int:
        """Resources created, replacements included (Terraform's "to add")."""
        return self.create + self.replace

    @property
    def to_change(self) -> int:
        """Resources updated in place (Terraform's "to change")."""
        return self.update

    @property
    def to_destroy(self) -> int:
        """Resources destroyed, replacements included (Terraform's "to destroy")."""
        return self.delete + self.replace

    @property
    def has_changes(self) -> bool:
        """Whether applying the plan would change, import or forget anything."""
        return bool(self.changes)

    def terraform_line(self) -> str:
        """The counts in the words of Terraform's plan summary line (``Plan: ...`` / ``No changes.``)."""
        if not self.has_changes:
            return "No changes."
        parts = [f"{self.imports} to import"] if self.imports else []
        parts += [f"{self.to_add} to add", f"{self.to_change} to change", f"{self.to_destroy} to destroy"]
        if self.forget:
            parts.append(f"{self.forget} to forget")
        return "Plan: " + ", ".join(parts) + "."


def failed_plan(stack: str, error: str) -> StackPlan:
    """A ``StackPlan`` for a stack whose plan could not be made; ``error`` is a one-line reason."""
    return StackPlan(stack=stack, error=error)


_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "forget": "."}


def summarize_plan(stack: str, plan: Mapping[str, Any]) -> StackPlan:
    """Count what ``plan`` (parsed ``terraform show -json`` output) does to the stack named ``stack``.

    Raises:
        PlanFormatError: ``plan`` has no ``format_version`` of major version 1, or a resource change has
            actions this module does not know (a newer Terraform); nothing is guessed.
    """
    version = str(plan.get("format_version", ""))
    if version.split(".")[0] != SUPPORTED_FORMAT_MAJOR:
        raise PlanFormatError(f"{stack}: not a Terraform JSON plan of format 1.x (format_version={version!r})")
    counts = dict.fromkeys(("create", "update", "delete", "replace", "forget", "imports"), 0)
    changes: list[tuple[str, str]] = []
    alerts: list[StatefulAlert] = []
    for resource in plan.get("resource_changes", []):
        if resource.get("mode") != "managed":
            continue
        change = resource["change"]
        actions = tuple(change["actions"])
        if actions not in _ACTION_KINDS:
            raise PlanFormatError(f"{stack}: unknown actions {list(actions)} for {resource['address']}")
        kind = _ACTION_KINDS[actions]
        if kind:
            counts[kind] += 1
            changes.append((_SYMBOLS[kind], resource["address"]))
        if change.get("importing") is not None:
            counts["imports"] += 1
            if not kind:
                changes.append(("<=", resource["address"]))
        alert = stateful_alert(resource, kind)
        if alert:
            alerts.append(alert)
    error = "the plan is incomplete (Terraform reported errors)" if plan.get("errored") else None
    return StackPlan(stack=stack, changes=tuple(changes), stateful_alerts=tuple(alerts), error=error, **counts)


def acknowledged(stack: str, alert: StatefulAlert, allowed: Iterable[str]) -> bool:
    """Whether ``allowed`` (``--allow-destroy`` values) names ``alert``: its address, or ``<stack>:<address>``."""
    return alert.address in allowed or f"{stack}:{alert.address}" in allowed


def unacknowledged(plans: Sequence[StackPlan], allowed: Iterable[str] = ()) -> list[tuple[str, StatefulAlert]]:
    """(stack, alert) of every stateful alert in ``plans`` that ``allowed`` does not acknowledge, in plan order."""
    allowed = set(allowed)
    return [(plan.stack, alert) for plan in plans for alert in plan.stateful_alerts
            if not acknowledged(plan.stack, alert, allowed)]


def render_markdown(plans: Sequence[StackPlan], title: str, allowed: Iterable[str] = ()) -> str:
    """A Markdown report of ``plans`` (GitHub-flavoured; also readable in a terminal through ``rich``).

    Layout: heading ``title``; a CAUTION block naming every stateful resource replaced, destroyed or disabled,
    with what forces it and whether ``allowed`` (``--allow-destroy``) acknowledges it (first, so that it cannot be
    missed); one table row per stack (add, change, destroy, replace, import, status); then the changed resources
    of each stack that has changes.
    """
    allowed = set(allowed)
    lines = [f"## {title}", ""]
    alerts = [(plan.stack, alert) for plan in plans for alert in plan.stateful_alerts]
    if alerts:
        lines += ["> [!CAUTION]", "> **STATEFUL RESOURCE REPLACEMENT OR DELETION: data may be lost (a deleted KMS key "
                  "makes everything it encrypted unreadable) and DMS replication interrupted; review before applying. "
                  "Each needs `--allow-destroy <address>`.**"]
        for stack, alert in alerts:
            reason = f" ({alert.describe()})" if alert.describe() else ""
            status = " (acknowledged)" if acknowledged(stack, alert, allowed) else ""
            lines.append(f"> - `{stack}`: `{alert.address}` **{alert.kind.upper()}**{reason}{status}")
        lines.append("")
    lines += ["| stack | add | change | destroy | replace | import | status |",
              "|---|--:|--:|--:|--:|--:|---|"]
    for plan in plans:
        if plan.error:
            lines.append(f"| {plan.stack} | | | | | | **FAILED**: {plan.error} |")
            continue
        status = "no changes"
        if plan.stateful_alerts:
            status = "**STATEFUL " + " + ".join(sorted({alert.kind.upper() for alert in plan.stateful_alerts})) + "**"
        elif plan.has_changes:
            status = "changes"
        lines.append(f"| {plan.stack} | {plan.to_add} | {plan.to_change} | {plan.to_destroy} | {plan.replace} "
                     f"| {plan.imports} | {status} |")
    for plan in plans:
        if plan.has_changes and not plan.error:
            lines += ["", f"**{plan.stack}**: {plan.terraform_line()}", ""]
            lines += [f"- `{symbol}` `{address}`" for symbol, address in plan.changes]
    return "\n".join(lines) + "\n"


def plans_document(plans: Sequence[StackPlan], title: str) -> dict[str, Any]:
    """``plans`` as one JSON document for scripts (``ops diff --json``): ``title``, ``failed`` (a stack could not
    be planned) and per stack every field of its ``StackPlan`` plus Terraform's counts (``to_add``, ``to_change``,
    ``to_destroy``), ``has_changes`` and ``terraform_line``; changes as ``{"action", "address"}``."""
    from dataclasses import asdict

    stacks = []
    for plan in plans:
        entry = asdict(plan)
        entry["changes"] = [{"action": symbol, "address": address} for symbol, address in plan.changes]
        entry.update(to_add=plan.to_add, to_change=plan.to_change, to_destroy=plan.to_destroy,
                     has_changes=plan.has_changes, terraform_line=plan.terraform_line())
        stacks.append(entry)
    return {"title": title, "failed": any(plan.error for plan in plans), "stacks": stacks}
