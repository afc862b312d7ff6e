"""The picture of imports: no cycle between the project's modules or top-level folders, and each folder's
dependencies go one way (``LAYERS``). Read from the source with ``ast`` (imports inside functions count too), so a
cycle hidden in a function body is found as well."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdktf_runtime.environment import PROJECT_ROOT

PACKAGES = ("backend", "bench", "cdktf_runtime", "cli_common", "config", "cutover", "emulator", "modules", "ops",
            "localpg", "rehearsal", "stacks", "terraform_driver", "tests")
"""The project's top-level folders with Python code (``main.py`` is the ``main`` module)."""

BINDINGS = frozenset({"cdktf", "constructs", "jsii", "cdktf_cdktf_provider_aws"})
"""cdktf and the provider bindings: loading them costs seconds and hundreds of MB."""

ALLOWED = {
    "terraform_driver": set(),
    "config": set(),
    "cli_common": set(),
    "cdktf_runtime": {"terraform_driver"},
    "emulator": {"cli_common", "terraform_driver"},
    "modules": {"cdktf_runtime", "config"},
    "backend": {"cdktf_runtime", "config"},
    "stacks": {"backend", "cdktf_runtime", "config", "modules"},
    "ops": {"backend", "cdktf_runtime", "cli_common", "config", "emulator", "modules", "stacks", "terraform_driver"},
    "cutover": {"cli_common", "config", "emulator", "terraform_driver"},
    "localpg": set(),
    "rehearsal": {"cli_common", "config", "cutover", "emulator", "localpg", "terraform_driver"},
}
"""Top-level folder -> the project folders it may import (every other folder of ``PACKAGES`` is off limits)."""

WITHOUT_BINDINGS = ("terraform_driver", "config", "cli_common", "emulator", "cutover", "localpg", "rehearsal")
"""Folders that must never import cdktf, jsii or the provider bindings (``cutover`` and what it uses start fast)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    """Module name -> file, for every Python file of ``PACKAGES`` and ``main.py``."""
    modules = {"main": PROJECT_ROOT / "main.py"}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if "fixtures" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imported_names(path: Path, module: str) -> Iterator[str]:
    """Every module name that ``path`` imports, anywhere in the file (``from a import b`` yields ``a.b`` and
    ``a``; relative imports are resolved)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(parent + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for target in imported_names(path, name) if target in modules and target != name}
    return graph


def external_imports(package: str) -> dict[str, set[str]]:
    """Module of ``package`` -> the top-level names of what it imports."""
    return {name: {target.split(".")[0] for target in imported_names(path, name)}
            for name, path in project_modules().items() if name.split(".")[0] == package}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others():
    assert cycles(import_graph()) == []


def test_no_cycle_between_top_level_folders():
    graph: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        graph.setdefault(module.split(".")[0], set()).update(target.split(".")[0] for target in targets)
    for package, targets in graph.items():
        targets.discard(package)
    assert cycles(graph) == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_folder_imports_only_the_folders_below_it(package):
    project = set(PACKAGES) | {"main"}
    wrong = {module: sorted((targets & project) - ALLOWED[package] - {package})
             for module, targets in external_imports(package).items()}
    assert {module: targets for module, targets in wrong.items() if targets} == {}


@pytest.mark.parametrize("package", WITHOUT_BINDINGS)
def test_fast_folders_never_load_cdktf_or_the_provider_bindings(package):
    forbidden = BINDINGS | {"cdktf_runtime"}
    wrong = {module: sorted(targets & forbidden) for module, targets in external_imports(package).items()}
    assert {module: targets for module, targets in wrong.items() if targets} == {}


def test_the_graph_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("def f():\n    from config.naming import Names\n", encoding="utf-8")
    assert set(imported_names(source, "sample")) == {"config.naming", "config.naming.Names"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


CLI_ENTRY_POINTS = frozenset({"cutover.__main__"})
"""Modules of ``cutover`` outside ``cutover.cli`` that may import it: ``python -m cutover`` starts the CLI."""


def core_modules_importing_the_cli(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    """Module of the core of ``cutover`` (not ``cutover.cli``, not an entry point) -> the ``cutover.cli`` modules
    it imports."""
    def in_cli(name: str) -> bool:
        return name == "cutover.cli" or name.startswith("cutover.cli.")

    found = {module: sorted(target for target in targets if in_cli(target))
             for module, targets in graph.items()
             if module.split(".")[0] == "cutover" and not in_cli(module) and module not in CLI_ENTRY_POINTS}
    return {module: targets for module, targets in found.items() if targets}


def test_the_core_of_cutover_never_imports_its_command_line():
    """The core raises ``cutover.errors``; only the command line knows exit codes are printed and how."""
    assert core_modules_importing_the_cli(import_graph()) == {}


def test_the_core_check_sees_a_core_module_importing_the_cli():
    """Negative control: a planted arrow from the core to ``cutover.cli`` is reported, one inside the CLI is not."""
    graph = {"cutover.journal": {"cutover.cli.terminal", "cutover.errors"}, "cutover.cli.main": {"cutover.cli.app"},
             "cutover.__main__": {"cutover.cli.main"}, "cutover.cli": set(), "cutover.cli.terminal": set()}
    assert core_modules_importing_the_cli(graph) == {"cutover.journal": ["cutover.cli.terminal"]}
