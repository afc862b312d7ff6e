"""Lazy loading of the prebuilt AWS provider bindings (``cdktf_cdktf_provider_aws``), in Python and in node.

The package's own ``__init__.py`` imports all 2,135 resource submodules (about 11 s and 400 MB of Python objects,
plus seconds of interpreter teardown at exit) even when code imports one submodule, e.g.
``from cdktf_cdktf_provider_aws.db_instance import DbInstance`` (terraform-cdk issues #2792 and #3753); and when
jsii loads the assembly, node runs the package's ``lib/index.js``, which requires all 2,135 JavaScript namespaces
(about 1.8 s and 300 MB). ``install`` (called by ``cdktf_runtime``, before anything imports ``cdktf``) arranges:

- Python: an import hook replaces only the package's ``__init__.py``. The package module keeps the real
  ``__path__``, ``__file__``, ``__spec__`` and ``__all__`` (the submodule names), so ``import
  cdktf_cdktf_provider_aws.x`` and ``from cdktf_cdktf_provider_aws import x`` find the real, unmodified
  submodules. Executing the package loads the jsii assembly (``cdktf_cdktf_provider_aws._jsii``, as the plain
  import does) but no resource submodule; each one is imported on first use, by an import statement or by
  attribute access on the package (PEP 562 module ``__getattr__``). The jsii runtime (>= 1.142) imports the
  submodule of a type it must deserialize before that submodule was imported (``_submodule_fqn_map``).
- node: ``NODE_OPTIONS`` gets ``--require cdktf_runtime/lazy_provider_index.cjs``, which compiles the provider's
  ``lib/index.js`` as getters that require each namespace when the jsii kernel first reaches a type of it (the
  kernel resolves every type through these exports). Other files, and an ``index.js`` of another shape, are
  compiled unchanged; other node programs never load that file, so the option is inert for them.

Nothing in the project needs to know: modules import the provider exactly as before. The synthesized JSON is
byte-identical to the plain import (``tests/test_provider_loader.py``).

``PAYMIG_PLAIN_PROVIDER_IMPORT=1`` switches both off (the package's own ``__init__.py`` and ``index.js`` run; the
preload is also removed from an inherited ``NODE_OPTIONS``). ``bench/synth`` and the byte-identity test use it
for the reference run.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import types
from collections.abc import Sequence
from pathlib import Path

PROVIDER_PACKAGE = "cdktf_cdktf_provider_aws"
"""Python package of the prebuilt provider bindings whose import this module arranges."""

JSII_ASSEMBLY = "@cdktf/provider-aws"
"""Name of the provider's jsii assembly (first component of every jsii type name of the package)."""

PLAIN_IMPORT_VARIABLE = "PAYMIG_PLAIN_PROVIDER_IMPORT"
"""Environment variable: ``1`` (or ``true``/``yes``) switches the lazy loading off (the package's own import)."""

NODE_PRELOAD = Path(__file__).resolve().parent / "lazy_provider_index.cjs"
"""Node preload script that makes the provider's ``lib/index.js`` lazy (see the module docstring)."""

_FALSE_VALUES = {"", "0", "false", "no", "off"}
_NODE_REQUIRE = f"--require {json.dumps(str(NODE_PRELOAD))}"  # NODE_OPTIONS takes double-quoted values


def plain_import_requested() -> bool:
    """Return whether ``$PAYMIG_PLAIN_PROVIDER_IMPORT`` asks for the package's own (eager) import."""
    return os.environ.get(PLAIN_IMPORT_VARIABLE, "").strip().lower() not in _FALSE_VALUES


def jsii_submodule_name(module_name: str) -> str:
    """Return the jsii submodule name of a provider submodule: ``db_instance`` -> ``dbInstance``.

    jsii-pacmak derives the Python name by snake-casing the TypeScript namespace; the provider's namespaces are
    camelCase words and digits, so the inverse is exact for this package (checked for every submodule by
    ``tests/test_provider_loader.py``).

    Args:
        module_name: Python submodule name (last dotted component), e.g. ``s3_bucket_versioning``.
    """
    first, *rest = module_name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def submodule_names(package_path: Sequence[str]) -> list[str]:
    """Return the resource submodules of the provider package, sorted (the package's own ``__all__``).

    Args:
        package_path: the package's ``__path__`` (directories to list).

    Returns:
        Names of the sub-packages (directories with an ``__init__.py``) not starting with ``_``.
    """
    names: set[str] = set()
    for directory in package_path:
        with os.scandir(directory) as entries:
            for entry in entries:
                if (
                    not entry.name.startswith(("_", "."))
                    and entry.is_dir()
                    and os.path.isfile(os.path.join(entry.path, "__init__.py"))
                ):
                    names.add(entry.name)
    return sorted(names)


class _LazyPackageLoader(importlib.abc.Loader):
    """Executes the provider package without its ``__init__.py``: assembly now, submodules on demand."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        spec = module.__spec__
        assert spec is not None and spec.submodule_search_locations is not None
        names = submodule_names(list(spec.submodule_search_locations))
        available = frozenset(names)
        module.__file__ = spec.origin
        module.__all__ = names
        module.__doc__ = _lazy_package_doc()

        def __getattr__(name: str) -> types.ModuleType:
            """Import submodule ``name`` on first access (PEP 562); the import binds it on the package."""
            if name in available:
                return importlib.import_module(f"{module.__name__}.{name}")
            raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

        def __dir__() -> list[str]:
            return sorted(set(names) | set(vars(module)))

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        module.__dir__ = __dir__  # type: ignore[method-assign]
        _register_submodules_with_jsii(module.__name__, names)
        # What the package's own __init__ does before importing every submodule: load the jsii assembly.
        importlib.import_module(f"{module.__name__}._jsii")


def _lazy_package_doc() -> str:
    return f"{PROVIDER_PACKAGE} loaded lazily by cdktf_runtime.provider_loader (see its docstring)."


def _register_submodules_with_jsii(package: str, names: Sequence[str]) -> None:
    """Tell the jsii runtime which Python submodule holds each jsii submodule, for on-demand type resolution."""
    from jsii import _reference_map  # private, but exactly the hook jsii >= 1.142 provides for this

    fqn_map = getattr(_reference_map, "_submodule_fqn_map", None)
    if fqn_map is not None:
        fqn_map.update({f"{JSII_ASSEMBLY}.{jsii_submodule_name(name)}": f"{package}.{name}" for name in names})


class _LazyPackageFinder(importlib.abc.MetaPathFinder):
    """Finds the provider package where the path finder would, but executes it with ``_LazyPackageLoader``."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != PROVIDER_PACKAGE:
            return None
        real = importlib.machinery.PathFinder.find_spec(fullname, path)
        if real is None or real.submodule_search_locations is None:
            return None  # not installed (or not a package): let the normal import report it
        spec = importlib.machinery.ModuleSpec(fullname, _LazyPackageLoader(), origin=real.origin, is_package=True)
        spec.submodule_search_locations = list(real.submodule_search_locations)
        spec.has_location = True
        return spec


_FINDER = _LazyPackageFinder()


def node_options(current: str, lazy: bool) -> str:
    """Return ``NODE_OPTIONS`` with the provider preload added (``lazy``) or removed (not ``lazy``).

    Args:
        current: the current value of ``NODE_OPTIONS`` (may be empty); other options are kept as they are.
        lazy: whether node should load the provider's namespaces lazily.
    """
    kept = current.replace(_NODE_REQUIRE, " ").split()
    return " ".join([*kept, _NODE_REQUIRE] if lazy else kept)


def _set_node_options(lazy: bool) -> None:
    value = node_options(os.environ.get("NODE_OPTIONS", ""), lazy)
    if value:
        os.environ["NODE_OPTIONS"] = value
    else:
        os.environ.pop("NODE_OPTIONS", None)


def install() -> bool:
    """Arrange the lazy provider loading in Python and node (idempotent; ``cdktf_runtime`` calls it).

    Must run before the jsii kernel starts (the first ``import constructs``/``cdktf``), as node reads
    ``NODE_OPTIONS`` only when it starts. Does nothing but remove the node preload from ``NODE_OPTIONS`` when
    ``$PAYMIG_PLAIN_PROVIDER_IMPORT`` is set, and nothing at all when the package was already imported plainly.

    Returns:
        True when the package is (or will be) imported lazily, False when its own ``__init__`` runs or ran.
    """
    if _FINDER in sys.meta_path:
        return True
    if plain_import_requested():
        _set_node_options(lazy=False)
        return False
    if PROVIDER_PACKAGE in sys.modules:
        return False
    _set_node_options(lazy=True)
    sys.meta_path.insert(0, _FINDER)
    return True


def is_lazy(module: types.ModuleType | None = None) -> bool:
    """Return whether the provider package (``module``, default the imported one) was loaded by this hook.

    Args:
        module: the package module; default ``sys.modules[PROVIDER_PACKAGE]`` (False if not imported yet).
    """
    module = module if module is not None else sys.modules.get(PROVIDER_PACKAGE)
    return module is not None and isinstance(getattr(module, "__loader__", None), _LazyPackageLoader)


__all__ = [
    "JSII_ASSEMBLY",
    "NODE_PRELOAD",
    "PLAIN_IMPORT_VARIABLE",
    "PROVIDER_PACKAGE",
    "install",
    "is_lazy",
    "jsii_submodule_name",
    "node_options",
    "plain_import_requested",
    "submodule_names",
]
