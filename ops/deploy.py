"""Deploying synthesized stacks with the real Terraform CLI, one stack after another in dependency order.

This drives ``terraform`` directly in each stack's directory of a cdktf output (what ``cdktf deploy`` does, without
the CLI's per-stack start-up), stacks that do not depend on each other side by side; ``cdktf deploy`` stays the
way to deploy to an AWS account. Used for the emulated AWS (``ops.local``) and by the tests.

Follows: https://developer.hashicorp.com/terraform/cli/commands (``init -reconfigure``, ``apply -auto-approve``,
``plan -detailed-exitcode``: 0 no change, 1 error, 2 changes; ``destroy``, ``output -json``, ``state list/show``).
"""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdktf_runtime.environment import environment_overrides
from ops.synthesized import SynthesizedStack
from ops.terraform import terraform

LOCK_TIMEOUT = "0s"
"""How long a command waits for another holder of the state lock before it fails (Terraform's ``-lock-timeout``)."""

STATE_STACK = "bootstrap"
"""The stack that creates the state bucket and lock table: every other stack's backend needs it first."""

_COMMON = ("-input=false", "-no-color")
_APPLIED = re.compile(r"Resources: (?:(\d+) imported, )?(\d+) added, (\d+) changed, (\d+) destroyed")
_DESTROYED = re.compile(r"Resources: (\d+) destroyed")
_RESOURCE_DONE = re.compile(r"^(\S+): (?:Creation|Modifications|Destruction) complete after (?:(\d+)m)?(\d+)s", re.M)


def _slowest(output: str, count: int = 5) -> tuple[tuple[str, int], ...]:
    """The ``count`` resources that took longest in a Terraform apply/destroy log, longest first."""
    timings = [(address, int(minutes or 0) * 60 + int(seconds))
               for address, minutes, seconds in _RESOURCE_DONE.findall(output)]
    return tuple(sorted(timings, key=lambda item: -item[1])[:count])


class TerraformFailed(RuntimeError):
    """A Terraform command failed in a stack; ``output`` holds its standard output and error."""

    def __init__(self, stack: str, command: str, output: str):
        self.stack, self.command, self.output = stack, command, output
        tail = "\n".join(output.strip().splitlines()[-40:])
        super().__init__(f"terraform {command} failed in stack {stack!r}:\n{tail}")


@dataclass(frozen=True)
class StackResult:
    """What one Terraform run did to a stack: ``imported``/``added``/``changed``/``destroyed`` resources,
    ``seconds`` taken, ``slowest`` resources (address, seconds; the five longest)."""

    stack: str
    action: str
    seconds: float
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    slowest: tuple[tuple[str, int], ...] = ()
    imported: int = 0


def run(stack: SynthesizedStack, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``terraform <args>`` in ``stack``'s directory with the project's environment, output captured.

    Raises:
        TerraformFailed: the command exited non-zero and ``check`` is set.
    """
    result = terraform(stack.directory, args, check=False)
    if check and result.returncode != 0:
        raise TerraformFailed(stack.name, args[0], result.stdout + result.stderr)
    return result


def init(stack: SynthesizedStack, backend_config: Mapping[str, str] | None = None) -> None:
    """``terraform init -reconfigure`` with the stack's backend (``backend_config`` overrides its settings,
    e.g. ``{"path": ...}`` for a local backend's state file).

    Raises:
        TerraformFailed: init failed (provider not installable, backend unreachable, ...).
    """
    overrides = [f"-backend-config={key}={value}" for key, value in (backend_config or {}).items()]
    with _plugin_cache_lock():
        run(stack, ["init", "-reconfigure", *_COMMON, *overrides])


@contextmanager
def _plugin_cache_lock() -> Iterator[None]:
    """Hold an exclusive lock on the shared provider plugin cache (``TF_PLUGIN_CACHE_DIR``) while Terraform may
    write to it: Terraform documents the cache as not safe for concurrent ``init`` runs. Without a cache
    (providers linked from the offline mirror) there is nothing to share and nothing is locked."""
    configured = environment_overrides().get("TF_PLUGIN_CACHE_DIR")
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


def apply(stack: SynthesizedStack, *, lock_timeout: str = LOCK_TIMEOUT, saved_plan: Path | None = None) -> StackResult:
    """``terraform apply -auto-approve`` in an initialized stack, or ``terraform apply <saved_plan>`` (a plan
    written by ``plan(stack, out=...)``: exactly what it shows is applied).

    Raises:
        TerraformFailed: the apply failed (its errors are in the message), including a held state lock.
    """
    started = time.monotonic()
    args = ["apply", "-auto-approve", f"-lock-timeout={lock_timeout}", *_COMMON]
    result = run(stack, args + ([str(saved_plan)] if saved_plan else []))
    counts = _APPLIED.search(result.stdout)
    imported, added, changed, destroyed = (int(n or 0) for n in counts.groups()) if counts else (0, 0, 0, 0)
    return StackResult(stack.name, "apply", time.monotonic() - started, added, changed, destroyed,
                       _slowest(result.stdout), imported)


def destroy(stack: SynthesizedStack, *, lock_timeout: str = LOCK_TIMEOUT, refresh: bool = True) -> StackResult:
    """``terraform destroy -auto-approve`` in an initialized stack; ``refresh=False`` adds ``-refresh=false``
    (destroy what the state records without reading every object first: only where nothing but this state
    changes the objects, such as the emulated AWS).

    Raises:
        TerraformFailed: the destroy failed.
    """
    started = time.monotonic()
    args = ["destroy", "-auto-approve", f"-lock-timeout={lock_timeout}", *_COMMON]
    result = run(stack, args + ([] if refresh else ["-refresh=false"]))
    counts = _DESTROYED.search(result.stdout)
    return StackResult(stack.name, "destroy", time.monotonic() - started,
                       destroyed=int(counts.group(1)) if counts else 0, slowest=_slowest(result.stdout))


def plan(stack: SynthesizedStack, *, out: Path | None = None, lock_timeout: str = LOCK_TIMEOUT
         ) -> subprocess.CompletedProcess[str]:
    """``terraform plan -detailed-exitcode`` (optionally saved to ``out``); read ``returncode``: 0 no change,
    2 changes.

    Raises:
        TerraformFailed: the plan itself failed (exit code 1).
    """
    args = ["plan", "-detailed-exitcode", f"-lock-timeout={lock_timeout}", *_COMMON]
    result = run(stack, args + ([f"-out={out}"] if out else []), check=False)
    if result.returncode not in (0, 2):
        raise TerraformFailed(stack.name, "plan", result.stdout + result.stderr)
    return result


def outputs(stack: SynthesizedStack) -> dict[str, dict[str, Any]]:
    """The stack's outputs as ``terraform output -json`` gives them: name -> ``{"value", "sensitive", ...}``.

    Raises:
        TerraformFailed: the state could not be read.
    """
    return json.loads(run(stack, ["output", "-json", "-no-color"]).stdout or "{}")


def state(stack: SynthesizedStack, address: str | None = None) -> str:
    """``terraform state list`` of the stack, or ``terraform state show <address>`` of one resource.

    Raises:
        TerraformFailed: the state could not be read, or ``address`` is not in it.
    """
    args = ["state", "show", "-no-color", address] if address else ["state", "list"]
    return run(stack, args).stdout


def _in_dependency_order(stacks: Iterable[SynthesizedStack], work: Callable[[SynthesizedStack], StackResult],
                         *, reverse: bool, workers: int, report: Callable[[StackResult], None] | None
                         ) -> list[StackResult]:
    """Run ``work`` on every stack once the stacks it depends on (``reverse``: that depend on it) are done,
    up to ``workers`` at a time; every stack depends on ``STATE_STACK``. Stops scheduling at the first failure
    and re-raises it."""
    pending = {stack.name: stack for stack in stacks}
    waits_for = {name: {dep for dep in stack.dependencies if dep in pending} for name, stack in pending.items()}
    for name in waits_for:
        if name != STATE_STACK and STATE_STACK in pending:
            waits_for[name].add(STATE_STACK)  # the backend's bucket and table
    if reverse:
        waits_for = {name: {other for other, deps in waits_for.items() if name in deps} for name in waits_for}
    results: list[StackResult] = []
    running: dict[Future[StackResult], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        while pending or running:
            ready = [name for name in pending if not waits_for[name] & (set(pending) | set(running.values()))]
            for name in ready[: max(0, workers - len(running))]:
                running[pool.submit(work, pending.pop(name))] = name
            if not running:
                raise RuntimeError(f"dependency cycle among stacks {sorted(pending)}")
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                results.append(future.result())  # re-raises TerraformFailed; the pool waits for the others
                if report:
                    report(results[-1])
    return results


def deploy_all(stacks: Iterable[SynthesizedStack], *, backend_configs: Mapping[str, Mapping[str, str]] | None = None,
               workers: int = 2, report: Callable[[StackResult], None] | None = None,
               saved_plans: Mapping[str, Path] | None = None,
               after: Callable[[SynthesizedStack, StackResult], None] | None = None) -> list[StackResult]:
    """Initialize and apply every stack after the stacks it depends on (manifest dependencies), stacks that
    do not depend on each other side by side (``workers`` at a time).

    Args:
        stacks: synthesized stacks, e.g. ``read_stacks(outdir).values()``.
        backend_configs: stack name -> backend overrides for ``init``.
        workers: stacks applied at the same time (1: strictly one after another).
        report: called with each stack's result as soon as it is applied.
        saved_plans: stack name -> plan file: that stack is planned into the file first and exactly that saved
            plan is applied (the file stays, for ``terraform show -json``).
        after: called with each applied stack and its result in the worker that applied it; the stacks that
            depend on it start once it returns (hand long work to another thread), and what it raises fails the
            deployment like a failed apply.

    Raises:
        TerraformFailed: a stack failed; no stack that depends on it is started.
    """
    def work(stack: SynthesizedStack) -> StackResult:
        init(stack, (backend_configs or {}).get(stack.name))
        saved = (saved_plans or {}).get(stack.name)
        if saved is not None:
            plan(stack, out=saved)
        result = apply(stack, saved_plan=saved)
        if after:
            after(stack, result)
        return result

    return _in_dependency_order(stacks, work, reverse=False, workers=workers, report=report)


def destroy_all(stacks: Iterable[SynthesizedStack], *, backend_configs: Mapping[str, Mapping[str, str]] | None = None,
                before: Callable[[SynthesizedStack], None] | None = None, workers: int = 2,
                report: Callable[[StackResult], None] | None = None, refresh: bool = True) -> list[StackResult]:
    """Initialize and destroy every stack after the stacks that depend on it (reverse dependency order).

    Args:
        stacks: synthesized stacks.
        backend_configs: stack name -> backend overrides for ``init``.
        before: called with each stack before its destroy (e.g. to empty a versioned bucket).
        workers: stacks destroyed at the same time.
        report: called with each stack's result as soon as it is destroyed.
        refresh: read every object before destroying it (``destroy(refresh=...)``).

    Raises:
        TerraformFailed: a stack failed; no stack that it depends on is started.
    """
    def work(stack: SynthesizedStack) -> StackResult:
        init(stack, (backend_configs or {}).get(stack.name))
        if before:
            before(stack)
        return destroy(stack, refresh=refresh)

    return _in_dependency_order(stacks, work, reverse=True, workers=workers, report=report)
