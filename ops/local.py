"""The ``local`` environment on the embedded emulated AWS: deploy, inspect state, destroy.

``make deploy-local`` starts the developer's emulator when none is running (``emulator.LocalSession``, recorded in
``.state/local/emulator.json``), synthesizes the ``local`` environment against its endpoint into
``.state/local/cdktf.out``, applies the state stack (local state, ``.state/local/bootstrap.tfstate``) and then
every other stack through the S3 backend on the emulator, in dependency order, and prints every stack's outputs.
The emulator keeps running so that ``make state`` can inspect what was deployed; ``make destroy-local`` destroys
every stack in reverse order and stops it. Terraform runs through ``terraform_driver``; the emulator's lifecycle
is ``emulator``'s.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from cli_common import ExpectedFailure, Kind
from config import EMULATOR_ENDPOINT_VARIABLE, EMULATOR_ENVIRONMENT, apply_suffix_variable, suffix_variable
from emulator import emulator_client, empty_buckets  # noqa: F401  (emulator_client: for callers of ops.local)
from ops import deploy
from terraform_driver import (
    PROJECT_ROOT,
    ApplyResult,
    SynthesizedStack,
    read_stacks,
    stack_named,
    state_stack,
)

LOCAL_STATE_DIR = PROJECT_ROOT / ".state" / EMULATOR_ENVIRONMENT
"""Everything of the developer's local deployment: emulator record and log, bootstrap state, synthesized output."""

LOCAL_OUTDIR = LOCAL_STATE_DIR / "cdktf.out"
"""Where the ``local`` environment is synthesized (its JSON names the running emulator's endpoint)."""


def synthesize(endpoint: str, outdir: Path, *, configure: Callable[[dict[str, Any]], None] | None = None
               ) -> dict[str, SynthesizedStack]:
    """Synthesize every stack of the ``local`` environment against ``endpoint`` into ``outdir``.

    Imports cdktf and the provider bindings (a few seconds, about 300 MB) in this process.

    Args:
        endpoint: the emulator's URL (``http://127.0.0.1:<port>``), written into providers and backends.
        outdir: cdktf output directory.
        configure: changes the parsed ``config/local.toml`` before validation (tests: the legacy source import).
            ``$PAYMIG_SUFFIX`` (a per-change environment) is applied before it.

    Raises:
        config.ConfigError: the configuration (or the endpoint) breaks a rule.
    """
    import tomllib

    import cdktf_runtime  # noqa: F401  (environment before cdktf)
    from cdktf import App

    from config import config_path, parse_config
    from stacks.app import build_stacks

    data = tomllib.loads(config_path(EMULATOR_ENVIRONMENT).read_text(encoding="utf-8"))
    apply_suffix_variable(data)
    if configure:
        configure(data)
    config = parse_config(data, f"config/{EMULATOR_ENVIRONMENT}.toml")
    previous = os.environ.get(EMULATOR_ENDPOINT_VARIABLE)
    os.environ[EMULATOR_ENDPOINT_VARIABLE] = endpoint  # read while the stacks are built
    try:
        app = App(outdir=str(outdir))
        build_stacks(app, config)
        app.synth()
    finally:
        if previous is None:
            del os.environ[EMULATOR_ENDPOINT_VARIABLE]
        else:
            os.environ[EMULATOR_ENDPOINT_VARIABLE] = previous
    return read_stacks(outdir)


def empty_state_bucket(stack: SynthesizedStack, endpoint: str) -> None:
    """Empty the versioned state bucket that ``stack`` (the state stack) created, so that its destroy can delete
    it. Only ever called on the emulator, after every stack whose state the bucket held has been destroyed."""
    empty_buckets(endpoint, [settings["bucket"] for settings in stack.of_type("aws_s3_bucket").values()
                             if not settings.get("force_destroy")])


CDKTF_INTERNAL_OUTPUT = "cross-stack-output-"
"""Prefix of the outputs cdktf adds for cross-stack references (plumbing, not for people)."""


@dataclass(frozen=True)
class StackOutput:
    """One output of a deployed stack (``terraform output -json``): ``stack``, ``name``, ``value`` and whether
    Terraform marks it ``sensitive`` (then its value is never shown)."""

    stack: str
    name: str
    value: Any
    sensitive: bool = False

    def shown(self) -> str:
        """The value as people read it: ``(sensitive)`` for a sensitive output, a list as ``a, b``, a map as JSON,
        anything else as its text."""
        if self.sensitive:
            return "(sensitive)"
        if isinstance(self.value, list) and all(not isinstance(item, (dict, list)) for item in self.value):
            return ", ".join(map(str, self.value))
        if isinstance(self.value, (dict, list)):
            return json.dumps(self.value, sort_keys=True)
        return str(self.value)


def outputs_of(stack: str, output_json: dict[str, dict[str, Any]]) -> list[StackOutput]:
    """The outputs of ``stack`` from its ``terraform output -json`` document, without cdktf's cross-stack
    plumbing (``CDKTF_INTERNAL_OUTPUT``); a sensitive output keeps no value."""
    return [StackOutput(stack, name, None if output.get("sensitive") else output.get("value"),
                        bool(output.get("sensitive")))
            for name, output in output_json.items() if not name.startswith(CDKTF_INTERNAL_OUTPUT)]


def stack_outputs(stacks: dict[str, SynthesizedStack]) -> list[StackOutput]:
    """Every stack's own outputs, in dependency order (``terraform output -json`` through each stack's backend).

    Raises:
        terraform_driver.TerraformError: a stack's outputs could not be read (e.g. not initialised).
    """
    return [output for stack in stacks.values() for output in outputs_of(stack.name, stack.terraform().output_json())]


def deployed_outputs(outdir: Path = LOCAL_OUTDIR) -> list[StackOutput]:
    """Every stack's outputs as deployed from ``outdir`` (default: the local deployment, whose emulator must run).

    Raises:
        emulator.EmulatorError: the local deployment is asked for and no emulator is running.
        FileNotFoundError: nothing was synthesized into ``outdir``.
        terraform_driver.TerraformError: a stack's outputs could not be read.
    """
    stacks = read_stacks(outdir)
    for name in stacks:
        _stack_terraform(name, outdir)
    return stack_outputs(stacks)


def outputs_document(outputs: list[StackOutput]) -> dict[str, dict[str, Any]]:
    """Stack name -> output name -> value, for ``--json``; sensitive outputs are left out."""
    document: dict[str, dict[str, Any]] = {}
    for output in outputs:
        section = document.setdefault(output.stack, {})
        if not output.sensitive:
            section[output.name] = output.value
    return document


def print_result(console: Console) -> Callable[[ApplyResult], None]:
    """A ``report`` callback for ``ops.deploy`` that prints one line per stack."""
    def report(result: ApplyResult) -> None:
        counts = (f"{result.imported} imported, " if result.imported else "") + (
            f"{result.added} added, {result.changed} changed, {result.destroyed} destroyed"
            if result.action == "apply" else f"{result.destroyed} destroyed")
        console.print(f"  {result.stack}: {result.action} {counts} ({result.seconds:.0f} s)")
    return report


def deploy_local(console: Console, workers: int = 3) -> dict[str, SynthesizedStack]:
    """Start (or reuse) the developer's emulator, synthesize ``local`` and apply every stack, reporting progress on
    ``console``; returns the stacks (their outputs: ``stack_outputs``).

    Raises:
        emulator.EmulatorError: the emulator could not be started.
        terraform_driver.TerraformError: a stack failed to apply.
    """
    from emulator import LocalSession

    session = LocalSession(LOCAL_STATE_DIR)
    endpoint, started = session.ensure_running()
    console.print(f"emulated AWS at {endpoint} ({'started' if started else 'already running'})")
    began = time.monotonic()
    stacks = synthesize(endpoint, LOCAL_OUTDIR)
    if started:  # a new emulator is empty: state left by an earlier one describes nothing that exists
        _forget_local_state(stacks)
    console.print(f"synthesized {len(stacks)} stacks into {LOCAL_OUTDIR.relative_to(PROJECT_ROOT)} "
                  f"({time.monotonic() - began:.0f} s); deploying")
    results = deploy.deploy_all(stacks.values(), workers=workers, report=print_result(console))
    console.print(f"{sum(r.added for r in results)} resources added in {time.monotonic() - began:.0f} s. "
                  "The emulator keeps running: `make state STACK=<stack>` inspects it, "
                  "`make destroy-local` destroys everything and stops it.", soft_wrap=True)  # never cut a command
    return stacks


def destroy_local(console: Console, workers: int = 3) -> None:
    """Destroy every stack of the local deployment in reverse order, then stop the emulator.

    Raises:
        terraform_driver.TerraformError: a stack failed to destroy (the emulator keeps running for inspection).
    """
    from emulator import LocalSession

    session = LocalSession(LOCAL_STATE_DIR)
    endpoint = session.running_endpoint()
    deployed = read_stacks(LOCAL_OUTDIR) if (LOCAL_OUTDIR / "manifest.json").is_file() else {}
    if endpoint is None:
        _forget_local_state(deployed)
        _archive_cutover_journal()
        console.print("no emulator is running: nothing is deployed locally")
        return
    if not _holds_resources(deployed):
        if suffix_variable():  # other environments may live on the emulator: it keeps running
            console.print(f"nothing was deployed with suffix {suffix_variable()!r} (no bootstrap state)")
            return
        session.stop()
        console.print("nothing was deployed on the running emulator (no bootstrap state); emulator stopped")
        return
    began = time.monotonic()
    stacks = synthesize(endpoint, LOCAL_OUTDIR)
    holder = state_stack(stacks)

    def before(stack: SynthesizedStack) -> None:
        if holder is not None and stack.name == holder.name:
            empty_state_bucket(stack, endpoint)

    # Nothing but these states changes the emulated objects: destroy what they record without reading it back.
    deploy.destroy_all(stacks.values(), before=before, workers=workers, report=print_result(console),
                       refresh=False)
    if suffix_variable():  # other environments may live on the emulator: it keeps running
        console.print(f"destroyed every stack in {time.monotonic() - began:.0f} s; the emulator keeps running "
                      "(`make emulator-stop` stops it)")
        return
    session.stop()
    console.print(f"destroyed every stack in {time.monotonic() - began:.0f} s; emulator stopped")
    archived = _archive_cutover_journal()
    if archived:
        console.print(f"the migration journal of this deployment was moved to {archived.relative_to(PROJECT_ROOT)}")


def _archive_cutover_journal() -> Path | None:
    """Move the local migration journal aside once its deployment is destroyed, so that the next deployment starts
    with an empty one (its DynamoDB half went with the data stack); kept, not deleted: it is the record of what was
    done. The journal is ``cutover -e local``'s (``cutover.context``: ``.state/<environment>/cutover``). Returns
    where it went, or None when there was none."""
    journal = LOCAL_STATE_DIR / "cutover"
    if not journal.is_dir():
        return None
    target = journal.with_name(f"cutover.destroyed-{time.strftime('%Y%m%dT%H%M%S')}")
    journal.rename(target)
    return target


def _local_state_file(stacks: dict[str, SynthesizedStack]) -> Path | None:
    """The state stack's local state file (its backend's ``path``), if there is a state stack."""
    holder = state_stack(stacks)
    return Path(holder.backend_settings["path"]) if holder is not None else None


def _forget_local_state(stacks: dict[str, SynthesizedStack]) -> None:
    """Remove the state stack's local state (and backups): it described an emulator that no longer runs."""
    path = _local_state_file(stacks)
    if path is not None:
        for stale in path.parent.glob(f"{path.name}*"):
            stale.unlink()


def _holds_resources(stacks: dict[str, SynthesizedStack]) -> bool:
    """Whether the state stack's local state holds resources (the state bucket and lock table exist)."""
    path = _local_state_file(stacks)
    try:
        state = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return False
    return bool(state.get("resources"))


def _stack_terraform(stack_name: str, outdir: Path) -> Any:
    """The initialised ``Terraform`` of ``stack_name`` in ``outdir`` (the local deployment needs its emulator)."""
    if outdir == LOCAL_OUTDIR:
        from emulator import LocalSession

        LocalSession(LOCAL_STATE_DIR).require_endpoint()
    terraform = stack_named(outdir, stack_name).terraform()
    if not (terraform.directory / ".terraform").is_dir():
        terraform.init()
    return terraform


def show_state(stack_name: str, address: str | None, outdir: Path = LOCAL_OUTDIR) -> str:
    """``terraform state list`` (or ``state show <address>``) of one stack, read through its backend.

    Args:
        stack_name: a stack of the synthesized output, e.g. ``data``.
        address: a resource address to show, or None to list every address.
        outdir: the synthesized output (default: the local deployment's).

    Raises:
        emulator.EmulatorError: the local deployment is asked for and no emulator is running.
        terraform_driver.UnknownStack: no such stack (the message lists the known ones).
        terraform_driver.TerraformError: the state could not be read or ``address`` is not in it.
    """
    terraform = _stack_terraform(stack_name, outdir)
    if address:
        return terraform.state_show(address)
    return "".join(f"{line}\n" for line in terraform.state_list())


def state_document(stack_name: str, address: str | None, outdir: Path = LOCAL_OUTDIR) -> Any:
    """What ``show_state`` shows, for scripts: the list of resource addresses, or with ``address`` that resource
    as ``terraform show -json`` describes it (``address``, ``type``, ``name``, ``values``, ...), every value
    Terraform marks sensitive replaced by ``"(sensitive)"`` and ``sensitive_values`` dropped.

    Raises:
        the errors of ``show_state``; cli_common.ExpectedFailure (usage): ``address`` is not in the state.
    """
    terraform = _stack_terraform(stack_name, outdir)
    if not address:
        return terraform.state_list()
    module = terraform.show_json().get("values", {}).get("root_module", {})
    resources = [*module.get("resources", []),
                 *(r for child in module.get("child_modules", []) for r in child.get("resources", []))]
    for resource in resources:
        if resource.get("address") == address:
            shown = {key: value for key, value in resource.items() if key != "sensitive_values"}
            shown["values"] = _redacted(resource.get("values", {}), resource.get("sensitive_values", {}))
            return shown
    raise ExpectedFailure(f"no resource {address!r} in the state of stack {stack_name!r}", kind=Kind.USAGE,
                          hint=f"`make state STACK={stack_name}` lists its {len(resources)} resources")


def _redacted(values: Any, sensitive: Any) -> Any:
    """``values`` with every part that ``sensitive`` (Terraform's ``sensitive_values`` mask: ``true`` where a value
    is sensitive, the same shape otherwise) marks replaced by ``"(sensitive)"``."""
    if sensitive is True:
        return "(sensitive)"
    if isinstance(values, dict) and isinstance(sensitive, dict):
        return {key: _redacted(value, sensitive.get(key, False)) for key, value in values.items()}
    if isinstance(values, list) and isinstance(sensitive, list):
        return [_redacted(value, sensitive[i] if i < len(sensitive) else False) for i, value in enumerate(values)]
    return values
