"""``Terraform``: one working directory driven through the real Terraform CLI, read through its machine-readable
output only.

- ``init``, ``plan``, ``apply`` and ``destroy`` run with ``-json``: their output is Terraform's machine-readable UI
  (one JSON message a line: ``diagnostic``, ``planned_change``, ``apply_complete`` with ``elapsed_seconds``,
  ``change_summary``), from which results, timings and errors are read;
- ``show -json`` (plans and state), ``output -json``, ``validate -json`` and ``state pull`` print JSON documents;
- ``state list`` prints one resource address a line; ``state show`` prints a resource for people (returned as
  text, never parsed).

Every failure raises ``TerraformError`` with the stack, the command and Terraform's diagnostics.

Follows: https://developer.hashicorp.com/terraform/internals/machine-readable-ui,
https://developer.hashicorp.com/terraform/internals/json-format and
https://developer.hashicorp.com/terraform/cli/commands (``plan -detailed-exitcode``: 0 no change, 1 error,
2 changes; ``-lock-timeout``; ``init -reconfigure -backend-config``).
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terraform_driver.environment import process_environment, terraform_environment

LOCK_TIMEOUT = "0s"
"""How long a command waits for another holder of the state lock before it fails (Terraform's ``-lock-timeout``):
by default not at all."""

_COMMON = ("-input=false", "-no-color")


@dataclass(frozen=True)
class Diagnostic:
    """One of Terraform's diagnostics: ``severity`` (``error``/``warning``), ``summary``, ``detail`` and, where
    Terraform names one, the resource ``address``."""

    severity: str
    summary: str
    detail: str = ""
    address: str | None = None

    @classmethod
    def from_json(cls, diagnostic: Mapping[str, Any]) -> Diagnostic:
        """From a diagnostic object of ``-json`` output (``validate -json`` or a UI ``diagnostic`` message)."""
        return cls(str(diagnostic.get("severity", "error")), str(diagnostic.get("summary", "")),
                   str(diagnostic.get("detail", "")), diagnostic.get("address"))

    def __str__(self) -> str:
        where = f" ({self.address})" if self.address else ""
        return f"{self.severity}: {self.summary}{where}" + (f": {self.detail}" if self.detail else "")


class TerraformError(RuntimeError):
    """A Terraform command failed.

    Attributes:
        stack: the stack (working directory name, or the name given to ``Terraform``).
        command: the Terraform subcommand, e.g. ``apply``.
        diagnostics: Terraform's error and warning diagnostics, in order.
        output: the command's raw standard error and any output that was not JSON (for logs).
    """

    def __init__(self, stack: str, command: str, diagnostics: Sequence[Diagnostic] = (), output: str = ""):
        self.stack, self.command, self.diagnostics, self.output = stack, command, tuple(diagnostics), output
        errors = [str(d) for d in self.diagnostics if d.severity == "error"]
        text = "\n".join(f"  {line}" for line in errors) or "\n".join(output.strip().splitlines()[-40:])
        super().__init__(f"terraform {command} failed in stack {stack!r}:\n{text}")


@dataclass(frozen=True)
class ApplyResult:
    """What an apply or destroy did: ``imported``/``added``/``changed``/``destroyed`` resources (Terraform's
    ``change_summary``), ``seconds`` the command took, ``slowest`` resources (address, seconds; the five longest,
    from ``apply_complete`` messages)."""

    stack: str
    action: str
    seconds: float
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    slowest: tuple[tuple[str, int], ...] = ()
    imported: int = 0


@dataclass(frozen=True)
class PlanResult:
    """A plan: ``has_changes`` (``-detailed-exitcode`` 2), the ``change_summary`` counts, the planned changes
    as (action, address) pairs (``planned_change`` messages) and the warnings Terraform reported (``diagnostic``
    messages; errors raise :class:`TerraformError` instead)."""

    stack: str
    has_changes: bool
    add: int = 0
    change: int = 0
    remove: int = 0
    imported: int = 0
    changes: tuple[tuple[str, str], ...] = field(default=())
    plan_file: Path | None = None
    warnings: tuple[Diagnostic, ...] = field(default=())


@dataclass(frozen=True)
class _Run:
    """A finished command: exit code, the JSON messages it printed (``-json`` UI) and its other output."""

    returncode: int
    messages: tuple[dict[str, Any], ...]
    text: str
    stdout: str

    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return tuple(Diagnostic.from_json(m["diagnostic"]) for m in self.messages if m.get("type") == "diagnostic")

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if message.get("type") == kind]


class Terraform:
    """The Terraform CLI in one working directory (a synthesized stack: ``cdktf.out/stacks/<stack>``).

    Args:
        directory: the root module's directory.
        env: variables on top of this process's environment and ``terraform_environment()`` (e.g.
            ``{"TF_LOG": "debug"}``); default none.
        name: what errors call this directory; default the directory's name (a cdktf stack's name).

    Every method raises ``TerraformError`` when Terraform fails; none prompts (``-input=false``).
    """

    def __init__(self, directory: Path, env: Mapping[str, str] | None = None, *, name: str | None = None):
        self.directory = Path(directory)
        self.env = dict(env or {})
        self.name = name or self.directory.name

    def __repr__(self) -> str:
        return f"Terraform({str(self.directory)!r}, name={self.name!r})"

    # --- running ------------------------------------------------------------------------------------------------

    def _process(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """``terraform <args>`` in the directory with the project's environment, output captured, never raising."""
        return subprocess.run(["terraform", *args], cwd=self.directory, env=process_environment(self.env),
                              text=True, capture_output=True, check=False)

    def _run(self, args: Sequence[str], *, ok: Sequence[int] = (0,)) -> _Run:
        """``terraform <args>``; JSON lines of stdout are parsed, the rest kept as text.

        Raises:
            TerraformError: the exit code is not in ``ok``.
        """
        completed = self._process(args)
        messages, other = [], []
        for line in completed.stdout.splitlines():
            if line.startswith("{"):
                try:
                    messages.append(json.loads(line))
                    continue
                except ValueError:
                    pass
            other.append(line)
        run = _Run(completed.returncode, tuple(messages), "\n".join(other) + completed.stderr, completed.stdout)
        if completed.returncode not in ok:
            raise TerraformError(self.name, args[0], run.diagnostics(), run.text)
        return run

    def _document(self, args: Sequence[str]) -> Any:
        """``terraform <args>`` whose standard output is one JSON document."""
        completed = self._process(args)
        if completed.returncode != 0:
            raise TerraformError(self.name, args[0], _diagnostics_in(completed.stdout), completed.stderr)
        return json.loads(completed.stdout or "null")

    def run(self, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``terraform <args>`` as is, output captured: for commands this class does not wrap. Read only
        machine-readable output (``-json``) from it; text is for people.

        Raises:
            TerraformError: Terraform exited non-zero and ``check`` is set.
        """
        completed = self._process(args)
        if check and completed.returncode != 0:
            raise TerraformError(self.name, args[0], _diagnostics_in(completed.stdout),
                                 completed.stdout + completed.stderr)
        return completed

    # --- commands -----------------------------------------------------------------------------------------------

    def init(self, backend_config: Mapping[str, str] | None = None, *, backend: bool = True) -> None:
        """``terraform init -reconfigure``: providers (from the mirror, or the registry) and the backend.

        Args:
            backend_config: settings that override the backend block's (``-backend-config=key=value``), e.g.
                ``{"path": ...}`` for a local backend's state file.
            backend: False for ``-backend=false`` (no state access: enough for ``validate``).
        """
        args = ["init", "-json", *_COMMON]
        args += ["-reconfigure", *(f"-backend-config={key}={value}" for key, value in (backend_config or {}).items())] \
            if backend else ["-backend=false"]
        with _plugin_cache_lock():
            self._run(args)

    def validate(self) -> dict[str, Any]:
        """``terraform validate -json`` of an initialized directory: the report (``valid``, ``error_count``,
        ``warning_count``, ``diagnostics``). An invalid configuration is a report, not an error."""
        completed = self._process(["validate", "-json", "-no-color"])
        try:
            return json.loads(completed.stdout)
        except ValueError:
            raise TerraformError(self.name, "validate", (), completed.stdout + completed.stderr) from None

    def plan(self, *, out: Path | None = None, refresh: bool = True, lock: bool = True,
             lock_timeout: str = LOCK_TIMEOUT, destroy: bool = False,
             variables: Mapping[str, str] | None = None) -> PlanResult:
        """``terraform plan -detailed-exitcode -json`` (saved to ``out`` when given, for ``apply``/``show_json``).

        Args:
            out: plan file to write; default none.
            refresh: read every object first (``-refresh=false`` when False).
            lock: hold the state lock (``-lock=false`` for read-only plans, e.g. CI with a read-only role).
            lock_timeout: how long to wait for a held lock (default ``LOCK_TIMEOUT``: fail at once).
            destroy: plan destroying everything.
            variables: input variables (``-var name=value``); default none.
        """
        args = ["plan", "-json", "-detailed-exitcode", f"-lock-timeout={lock_timeout}", *_COMMON]
        args += [f"-out={out}"] if out else []
        args += [] if refresh else ["-refresh=false"]
        args += [] if lock else ["-lock=false"]
        args += ["-destroy"] if destroy else []
        args += _variables(variables)
        run = self._run(args, ok=(0, 2))
        summary = (run.of_type("change_summary") or [{"changes": {}}])[-1]["changes"]
        changes = tuple((m["change"]["action"], m["change"]["resource"]["addr"]) for m in run.of_type("planned_change"))
        return PlanResult(self.name, run.returncode == 2, add=summary.get("add", 0), change=summary.get("change", 0),
                          remove=summary.get("remove", 0), imported=summary.get("import", 0), changes=changes,
                          plan_file=out, warnings=tuple(d for d in run.diagnostics() if d.severity == "warning"))

    def apply(self, plan_file: Path | None = None, *, lock_timeout: str = LOCK_TIMEOUT, refresh: bool = True,
              variables: Mapping[str, str] | None = None) -> ApplyResult:
        """``terraform apply -auto-approve -json``, or ``terraform apply -json <plan_file>`` (a plan written by
        ``plan(out=...)``: exactly what it shows is applied; ``refresh`` and ``variables`` are the plan's then).

        Raises:
            TerraformError: the apply failed, including on a held state lock.
        """
        args = ["apply", "-json", f"-lock-timeout={lock_timeout}", *_COMMON]
        args += [str(plan_file)] if plan_file else ["-auto-approve", *([] if refresh else ["-refresh=false"]),
                                                    *_variables(variables)]
        return self._applied("apply", args)

    def destroy(self, *, refresh: bool = True, lock_timeout: str = LOCK_TIMEOUT) -> ApplyResult:
        """``terraform destroy -auto-approve -json``; ``refresh=False`` adds ``-refresh=false`` (destroy what the
        state records without reading every object first: only where nothing but this state changes them)."""
        args = ["destroy", "-json", "-auto-approve", f"-lock-timeout={lock_timeout}", *_COMMON]
        return self._applied("destroy", args + ([] if refresh else ["-refresh=false"]))

    def _applied(self, action: str, args: list[str]) -> ApplyResult:
        started = time.monotonic()
        run = self._run(args)
        summary = (run.of_type("change_summary") or [{"changes": {}}])[-1]["changes"]
        timings = [(m["hook"]["resource"]["addr"], int(m["hook"].get("elapsed_seconds", 0)))
                   for m in run.of_type("apply_complete")]
        slowest = tuple(sorted(timings, key=lambda item: -item[1])[:5])
        return ApplyResult(self.name, action, time.monotonic() - started, added=summary.get("add", 0),
                           changed=summary.get("change", 0), destroyed=summary.get("remove", 0),
                           imported=summary.get("import", 0), slowest=slowest)

    def show_json(self, plan_file: Path | None = None) -> dict[str, Any]:
        """``terraform show -json [plan_file]``: a saved plan, or without one the current state, in Terraform's
        JSON format (``format_version`` 1.x)."""
        return self._document(["show", "-json", "-no-color", *([str(plan_file)] if plan_file else [])])

    def output_json(self) -> dict[str, dict[str, Any]]:
        """``terraform output -json``: name -> ``{"value", "type", "sensitive"}``."""
        return self._document(["output", "-json", "-no-color"]) or {}

    def output(self) -> dict[str, Any]:
        """The root module's output values: name -> value (sensitive ones included: never print them)."""
        return {name: output.get("value") for name, output in self.output_json().items()}

    def state_list(self) -> list[str]:
        """``terraform state list``: every resource address in the state."""
        return [line for line in self._run(["state", "list"]).stdout.splitlines() if line.strip()]

    def state_show(self, address: str) -> str:
        """``terraform state show <address>``: one resource as Terraform shows it to people (text; for reading
        attribute values in code use ``show_json()``)."""
        return self._run(["state", "show", "-no-color", address]).stdout

    def state_pull(self) -> dict[str, Any]:
        """``terraform state pull``: the raw state as the backend stores it (every attribute, sensitive or not)."""
        return self._document(["state", "pull"])


def _variables(variables: Mapping[str, str] | None) -> list[str]:
    return [f"-var={name}={value}" for name, value in (variables or {}).items()]


def _diagnostics_in(stdout: str) -> tuple[Diagnostic, ...]:
    """Diagnostics of a failed command that prints one JSON document (``{"diagnostics": [...]}``) or none."""
    try:
        document = json.loads(stdout)
    except ValueError:
        return ()
    return tuple(Diagnostic.from_json(d) for d in document.get("diagnostics", ())) if isinstance(document, dict) \
        else ()


@contextmanager
def _plugin_cache_lock() -> Iterator[None]:
    """Hold an exclusive lock on the shared provider plugin cache (``TF_PLUGIN_CACHE_DIR``) while Terraform may
    write to it: Terraform documents the cache as not safe for concurrent ``init`` runs. Without a cache
    (providers linked from the offline mirror) there is nothing to share and nothing is locked."""
    configured = terraform_environment().get("TF_PLUGIN_CACHE_DIR")
    if configured is None:
        yield
        return
    cache = Path(configured)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".init.lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
