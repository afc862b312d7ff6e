"""cdktf_runtime.provider_loader: lazy provider bindings, and the same JSON as the package's own import."""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cdktf_cdktf_provider_aws
from cdktf_runtime import provider_loader
from cdktf_runtime.environment import PROJECT_ROOT

pytestmark = pytest.mark.while_destroying  # slow, no emulator: runs while the session deployment is destroyed

PACKAGE_DIR = Path(cdktf_cdktf_provider_aws.__file__).parent


def upstream_all() -> list[str]:
    """``__all__`` of the package's own ``__init__.py`` (read, not executed)."""
    tree = ast.parse((PACKAGE_DIR / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("no __all__ in the provider package")


def first_jsii_type(module_name: str) -> str:
    """The first ``jsii_type="@cdktf/provider-aws.<submodule>.<Type>"`` declared in a submodule's source."""
    marker = f'jsii_type="{provider_loader.JSII_ASSEMBLY}.'
    with open(PACKAGE_DIR / module_name / "__init__.py", encoding="utf-8") as source:
        for line in source:
            start = line.find(marker)
            if start >= 0:
                return line[start + len('jsii_type="'):line.index('"', start + len('jsii_type="'))]
    raise AssertionError(f"no jsii type in {module_name}")


def test_the_test_process_imports_the_provider_lazily():
    assert provider_loader.is_lazy(cdktf_cdktf_provider_aws)
    assert provider_loader.install() is True  # idempotent
    assert str(provider_loader.NODE_PRELOAD) in os.environ["NODE_OPTIONS"]
    loaded = [name for name in sys.modules if name.startswith(f"{provider_loader.PROVIDER_PACKAGE}.")]
    assert len(loaded) < len(cdktf_cdktf_provider_aws.__all__) // 4, "the resource submodules were all imported"
    assert f"{provider_loader.PROVIDER_PACKAGE}._jsii" in sys.modules  # the assembly itself is loaded


def test_package_lists_the_same_submodules_as_its_own_init():
    assert cdktf_cdktf_provider_aws.__all__ == upstream_all()
    assert len(cdktf_cdktf_provider_aws.__all__) == 2135
    assert set(cdktf_cdktf_provider_aws.__all__) <= set(dir(cdktf_cdktf_provider_aws))
    assert cdktf_cdktf_provider_aws.__path__ and Path(cdktf_cdktf_provider_aws.__file__).name == "__init__.py"


def test_submodules_import_on_first_attribute_access():
    name = f"{provider_loader.PROVIDER_PACKAGE}.xray_encryption_config"
    assert name not in sys.modules, "another test imported the probe submodule; pick one nothing uses"
    xray_encryption_config = cdktf_cdktf_provider_aws.xray_encryption_config
    assert sys.modules[name] is xray_encryption_config
    assert vars(cdktf_cdktf_provider_aws)["xray_encryption_config"] is xray_encryption_config  # bound once
    assert xray_encryption_config.XrayEncryptionConfig.__jsii_type__ == (
        "@cdktf/provider-aws.xrayEncryptionConfig.XrayEncryptionConfig")


def test_import_statements_and_from_imports_find_the_real_submodules():
    from cdktf_cdktf_provider_aws import wafv2_ip_set
    from cdktf_cdktf_provider_aws.xray_group import XrayGroup

    assert wafv2_ip_set.__file__ == str(PACKAGE_DIR / "wafv2_ip_set" / "__init__.py")
    assert XrayGroup is importlib.import_module("cdktf_cdktf_provider_aws.xray_group").XrayGroup
    assert cdktf_cdktf_provider_aws.xray_group.XrayGroup is XrayGroup


def test_unknown_attributes_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'no_such_resource'"):
        cdktf_cdktf_provider_aws.no_such_resource  # noqa: B018
    with pytest.raises(ImportError):
        from cdktf_cdktf_provider_aws import no_such_resource  # noqa: F401


def test_jsii_runtime_imports_the_submodule_of_an_unloaded_type():
    from jsii import _reference_map

    fqn = "@cdktf/provider-aws.xraySamplingRule.XraySamplingRule"
    assert f"{provider_loader.PROVIDER_PACKAGE}.xray_sampling_rule" not in sys.modules
    assert _reference_map._try_import_type_module(fqn)
    assert _reference_map._types[fqn].__name__ == "XraySamplingRule"


def test_jsii_submodule_names_match_every_submodule():
    mismatched = {}
    for name in cdktf_cdktf_provider_aws.__all__:
        submodule = first_jsii_type(name).split(".")[1]
        if submodule != provider_loader.jsii_submodule_name(name):
            mismatched[name] = submodule
    assert not mismatched


def run_node_with_preload(tmp_path: Path, index_lines: list[str]) -> dict:
    """Require a fake ``@cdktf/provider-aws/lib/index.js`` (namespaces ``db-instance``, ``vpc``) with the preload.

    Returns:
        Namespaces loaded before any access, the enumerable export names, ``vpc``'s value, and namespaces loaded
        after reading ``vpc``.
    """
    lib = tmp_path / "node_modules" / "@cdktf" / "provider-aws" / "lib"
    for namespace in ("db-instance", "vpc"):
        (lib / namespace).mkdir(parents=True)
        (lib / namespace / "index.js").write_text(
            f'globalThis.loaded = [...(globalThis.loaded || []), "{namespace}"]; exports.name = "{namespace}";\n')
    (lib / "index.js").write_text("\n".join(index_lines) + "\n")
    script = (
        "const p = require(process.argv[1]); const before = [...(globalThis.loaded || [])];"
        "const keys = Object.keys(p); const vpc = p.vpc.name;"
        "console.log(JSON.stringify({before, keys, vpc, after: globalThis.loaded}));"
    )
    run = subprocess.run(
        [shutil.which("node") or "node", "--require", str(provider_loader.NODE_PRELOAD), "-e", script,
         str(lib / "index.js")], env={**os.environ, "NODE_OPTIONS": ""}, capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


PROVIDER_INDEX = [
    '"use strict";', "/**", " * Copyright (c) HashiCorp, Inc.", " */",
    'Object.defineProperty(exports, "__esModule", { value: true });', "// generated by cdktf get",
    "exports.vpc = exports.dbInstance = void 0;",
    'exports.dbInstance = require("./db-instance");', 'exports.vpc = require("./vpc");',
    "//# sourceMappingURL=data:application/json;base64,e30=",
]


def test_node_preload_requires_each_provider_namespace_on_first_access(tmp_path):
    result = run_node_with_preload(tmp_path, PROVIDER_INDEX)
    assert result == {"before": [], "keys": ["dbInstance", "vpc"], "vpc": "vpc", "after": ["vpc"]}


def test_node_preload_compiles_an_index_of_another_shape_unchanged(tmp_path):
    result = run_node_with_preload(tmp_path, [*PROVIDER_INDEX, "globalThis.sideEffect = true;"])
    assert result == {"before": ["db-instance", "vpc"], "keys": ["dbInstance", "vpc"], "vpc": "vpc",
                      "after": ["db-instance", "vpc"]}


@pytest.mark.parametrize(
    ("current", "lazy", "expected"),
    [
        ("", True, "{require}"),
        ("--max-old-space-size=512", True, "--max-old-space-size=512 {require}"),
        ("{require} --no-warnings", True, "--no-warnings {require}"),
        ("--no-warnings {require}", False, "--no-warnings"),
        ("{require}", False, ""),
    ],
)
def test_node_options_add_the_preload_once_and_remove_it(current, lazy, expected):
    require = f'--require "{provider_loader.NODE_PRELOAD}"'
    assert provider_loader.node_options(current.format(require=require), lazy) == expected.format(require=require)


def test_plain_import_is_requested_by_the_environment_variable(monkeypatch):
    for value, plain in [("1", True), ("true", True), ("yes", True), ("0", False), ("", False), ("off", False)]:
        monkeypatch.setenv(provider_loader.PLAIN_IMPORT_VARIABLE, value)
        assert provider_loader.plain_import_requested() is plain
    monkeypatch.delenv(provider_loader.PLAIN_IMPORT_VARIABLE)
    assert provider_loader.plain_import_requested() is False


PLAIN_SYNTH = """
import os, sys
from pathlib import Path
from tests.conftest import synth_app  # the same synthesis as the session fixture `synthesized`
from config import load_config
import cdktf_cdktf_provider_aws
from cdktf_runtime import provider_loader
assert not provider_loader.is_lazy(cdktf_cdktf_provider_aws), "the plain import was not used"
assert provider_loader.NODE_PRELOAD.name not in os.environ.get("NODE_OPTIONS", "")
synth_app(load_config("dev"), Path(sys.argv[1]))
"""


def test_synthesized_json_is_byte_identical_to_the_plain_import(synthesized, tmp_path):
    """Every file cdktf wrote for the dev app (each stack's cdk.tf.json and the manifest), byte for byte.

    The lazy side is this process's session synthesis; the plain side runs the same ``synth_app`` in a subprocess
    with ``PAYMIG_PLAIN_PROVIDER_IMPORT=1``, so this process still loads the bindings once.
    """
    fast = next(iter(synthesized.values())).directory.parent.parent  # <outdir>/stacks/<name>
    plain = tmp_path / "plain"
    environment = dict(os.environ, **{provider_loader.PLAIN_IMPORT_VARIABLE: "1"})
    run = subprocess.run([sys.executable, "-c", PLAIN_SYNTH, str(plain)], cwd=PROJECT_ROOT, env=environment,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]

    def files(root: Path) -> dict[str, bytes]:  # what cdktf wrote, not what Terraform adds when other tests run it
        written = (p for p in sorted(root.rglob("*")) if p.is_file())
        return {str(p.relative_to(root)): p.read_bytes() for p in written
                if not any(part.startswith(".terraform") for part in p.relative_to(root).parts)}

    fast_files, plain_files = files(fast), files(plain)
    assert sorted(fast_files) == sorted(plain_files)
    assert len([name for name in fast_files if name.endswith("cdk.tf.json")]) == len(synthesized) >= 7
    assert [name for name in fast_files if fast_files[name] != plain_files[name]] == []
