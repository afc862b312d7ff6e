"""Deploying synthesized stacks with the real Terraform CLI (``terraform_driver``), in dependency order.

This drives ``terraform`` directly in each stack's directory of a cdktf output (what ``cdktf deploy`` does, without
the CLI's per-stack start-up), stacks that do not depend on each other side by side; ``cdktf deploy`` stays the
way to deploy to an AWS account. Used for the emulated AWS (``ops.local``) and by the tests. The order comes from
the synthesized manifest (``terraform_driver.synthesized.prerequisites``): each stack after the stacks it depends on
and after the state stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from terraform_driver import ApplyResult, SynthesizedStack, prerequisites

Report = Callable[[ApplyResult], None]


def in_dependency_order(stacks: Iterable[SynthesizedStack], work: Callable[[SynthesizedStack], ApplyResult], *,
                        reverse: bool, workers: int, report: Report | None = None) -> list[ApplyResult]:
    """Run ``work`` on every stack once the stacks it must come after (``reverse``: that must come after it) are
    done, up to ``workers`` at a time. Stops scheduling at the first failure and re-raises it.

    Raises:
        terraform_driver.TerraformError: ``work`` failed for a stack (no stack that waits for it is started).
        RuntimeError: the stacks' dependencies form a cycle.
    """
    pending = {stack.name: stack for stack in stacks}
    waits_for = prerequisites(pending)
    if reverse:
        waits_for = {name: {other for other, deps in waits_for.items() if name in deps} for name in waits_for}
    results: list[ApplyResult] = []
    running: dict[Future[ApplyResult], str] = {}
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
                results.append(future.result())  # re-raises TerraformError; the pool waits for the others
                if report:
                    report(results[-1])
    return results


def deploy_all(stacks: Iterable[SynthesizedStack], *, backend_configs: Mapping[str, Mapping[str, str]] | None = None,
               workers: int = 2, report: Report | None = None, saved_plans: Mapping[str, Path] | None = None,
               after: Callable[[SynthesizedStack, ApplyResult], None] | None = None) -> list[ApplyResult]:
    """Initialize and apply every stack after the stacks it must come after, stacks that do not depend on each
    other side by side (``workers`` at a time).

    Args:
        stacks: synthesized stacks, e.g. ``read_stacks(outdir).values()``.
        backend_configs: stack name -> backend overrides for ``init``.
        workers: stacks applied at the same time (1: strictly one after another).
        report: called with each stack's result as soon as it is applied.
        saved_plans: stack name -> plan file: that stack is planned into the file first and exactly that saved
            plan is applied (the file stays, for ``show_json``).
        after: called with each applied stack and its result in the worker that applied it; the stacks that
            depend on it start once it returns (hand long work to another thread), and what it raises fails the
            deployment like a failed apply.

    Raises:
        terraform_driver.TerraformError: a stack failed; no stack that depends on it is started.
    """
    def work(stack: SynthesizedStack) -> ApplyResult:
        terraform = stack.terraform()
        terraform.init((backend_configs or {}).get(stack.name))
        saved = (saved_plans or {}).get(stack.name)
        if saved is not None:
            terraform.plan(out=saved)
        result = terraform.apply(saved)
        if after:
            after(stack, result)
        return result

    return in_dependency_order(stacks, work, reverse=False, workers=workers, report=report)


def destroy_all(stacks: Iterable[SynthesizedStack], *, backend_configs: Mapping[str, Mapping[str, str]] | None = None,
                before: Callable[[SynthesizedStack], None] | None = None, workers: int = 2,
                report: Report | None = None, refresh: bool = True) -> list[ApplyResult]:
    """Initialize and destroy every stack after the stacks that must come after it (reverse order).

    Args:
        stacks: synthesized stacks.
        backend_configs: stack name -> backend overrides for ``init``.
        before: called with each stack before its destroy (e.g. to empty a versioned bucket).
        workers: stacks destroyed at the same time.
        report: called with each stack's result as soon as it is destroyed.
        refresh: read every object before destroying it (``Terraform.destroy(refresh=...)``).

    Raises:
        terraform_driver.TerraformError: a stack failed; no stack that it depends on is started.
    """
    def work(stack: SynthesizedStack) -> ApplyResult:
        terraform = stack.terraform()
        terraform.init((backend_configs or {}).get(stack.name))
        if before:
            before(stack)
        return terraform.destroy(refresh=refresh)

    return in_dependency_order(stacks, work, reverse=True, workers=workers, report=report)
