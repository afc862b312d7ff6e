"""Summaries of Terraform plans: what ``cdktf diff`` would do to each stack, as counts and a Markdown report.

Pure functions over the output of ``terraform show -json <planfile>`` (JSON output format 1.x,
https://developer.hashicorp.com/terraform/internals/json-format#plan-representation): nothing here runs
Terraform. ``ops.diff`` runs ``cdktf diff`` for every stack and feeds the plans in; the same Markdown goes to the
pull-request comment and job summary in CI (``.github/workflows/plan.yml``) and to the terminal (``make diff``).

Counting follows Terraform's own ``Plan: I to import, A to add, C to change, D to destroy.`` line: a replacement
counts once in *add* and once in *destroy* (and is also counted on its own under *replace*); an import counts under
*import* and, when the imported object also changes, under that change. Only managed resources count (data
sources are read, not changed). Replacing or destroying a database (``aws_db_instance``, any ``aws_dms_*``
resource) is listed in a loud warning block, with the attributes that force the replacement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SUPPORTED_FORMAT_MAJOR = "1"
"""Major version of Terraform's JSON plan format this module reads (Terraform 1.x writes 1.0 ... 1.2)."""

DATABASE_TYPES = ("aws_db_instance",)
"""Resource types whose replacement or destruction loses data (exact names)."""

DATABASE_TYPE_PREFIXES = ("aws_dms_",)
"""Resource type prefixes treated like ``DATABASE_TYPES`` (every DMS resource: instance, endpoints, task)."""

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


def is_database(resource_type: str) -> bool:
    """Whether replacing or destroying a resource of ``resource_type`` loses data (see ``DATABASE_TYPES``)."""
    return resource_type in DATABASE_TYPES or resource_type.startswith(DATABASE_TYPE_PREFIXES)


@dataclass(frozen=True)
class DatabaseAlert:
    """A database resource the plan replaces or destroys.

    Attributes: ``address`` (Terraform resource address), ``kind`` (``"replaced"`` or ``"destroyed"``),
    ``forced_by`` (attribute paths that force the replacement, dotted, e.g. ``storage_encrypted``).
    """

    address: str
    kind: str
    forced_by: tuple[str, ...] = ()


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
    database_alerts: tuple[DatabaseAlert, ...] = field(default=())
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
    alerts: list[DatabaseAlert] = []
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
        if kind in ("replace", "delete") and is_database(resource["type"]):
            forced_by = tuple(".".join(str(step) for step in path) for path in change.get("replace_paths", []))
            alerts.append(DatabaseAlert(resource["address"], "replaced" if kind == "replace" else "destroyed",
                                        forced_by))
    error = "the plan is incomplete (Terraform reported errors)" if plan.get("errored") else None
    return StackPlan(stack=stack, changes=tuple(changes), database_alerts=tuple(alerts), error=error, **counts)


def render_markdown(plans: Sequence[StackPlan], title: str) -> str:
    """A Markdown report of ``plans`` (GitHub-flavoured; also readable in a terminal through ``rich``).

    Layout: heading ``title``; a CAUTION block naming every database replaced or destroyed (first, so that it
    cannot be missed); one table row per stack (add, change, destroy, replace, import, status); then the changed
    resources of each stack that has changes.
    """
    lines = [f"## {title}", ""]
    alerts = [(plan.stack, alert) for plan in plans for alert in plan.database_alerts]
    if alerts:
        lines += ["> [!CAUTION]", "> **DATABASE REPLACEMENT OR DELETION: data may be lost and DMS replication "
                  "interrupted; review before applying.**"]
        for stack, alert in alerts:
            reason = f" (forced by {', '.join(f'`{path}`' for path in alert.forced_by)})" if alert.forced_by else ""
            lines.append(f"> - `{stack}`: `{alert.address}` **{alert.kind.upper()}**{reason}")
        lines.append("")
    lines += ["| stack | add | change | destroy | replace | import | status |",
              "|---|--:|--:|--:|--:|--:|---|"]
    for plan in plans:
        if plan.error:
            lines.append(f"| {plan.stack} | | | | | | **FAILED**: {plan.error} |")
            continue
        status = "no changes"
        if plan.database_alerts:
            status = "**DATABASE " + " + ".join(sorted({alert.kind.upper() for alert in plan.database_alerts})) + "**"
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
