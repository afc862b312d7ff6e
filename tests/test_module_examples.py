"""Every module documents its own use: the ``Example::`` block of each module's docstring runs in a stack of its own
(``Testing.app()``, an AWS provider named ``stack``) and synthesizes; every construct's public attributes are typed
at class level, each with a docstring."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import textwrap
import typing
from pathlib import Path

import pytest
from cdktf import Testing, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import Construct

MODULES = sorted(path.stem for path in (Path(__file__).parent.parent / "modules").glob("*.py")
                 if path.stem != "__init__")


def example_of(module_name: str) -> str:
    """The code of the reST literal block after ``Example::`` in the module's docstring."""
    doc = importlib.import_module(f"modules.{module_name}").__doc__ or ""
    assert "Example::\n\n" in doc, f"modules/{module_name}.py: no 'Example::' block in the module docstring"
    lines = []
    for line in doc.split("Example::\n\n", 1)[1].splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


@pytest.mark.parametrize("module_name", MODULES)
def test_the_docstring_example_synthesizes(module_name):
    stack = TerraformStack(Testing.app(), f"example-{module_name.replace('_', '-')}")
    AwsProvider(stack, "aws", region="us-east-1")
    code = example_of(module_name)
    exec(compile(code, f"modules/{module_name}.py (Example)", "exec"), {"stack": stack})  # noqa: S102
    document = json.loads(Testing.synth(stack))
    assert document.get("resource"), f"the example of modules/{module_name}.py creates no resource"


def constructs_of(module_name: str) -> list[type]:
    module = importlib.import_module(f"modules.{module_name}")
    return [cls for cls in vars(module).values()
            if inspect.isclass(cls) and issubclass(cls, Construct) and cls.__module__ == module.__name__]


def assigned_attributes(cls: type) -> set[str]:
    """Public ``self.<name> = ...`` assignments in the class's own methods."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    return {target.attr for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"
            and not target.attr.startswith("_")}


def class_attribute_docstrings(cls: type) -> dict[str, str]:
    """Class-level ``name: type`` annotations -> the string literal right after each."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for node, following in zip(body, body[1:] + [None]):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            is_doc = isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
            docs[node.target.id] = following.value.value if is_doc else ""
    return docs


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_construct_attribute_is_typed_and_documented(module_name):
    module = importlib.import_module(f"modules.{module_name}")
    for cls in constructs_of(module_name):
        hints = typing.get_type_hints(cls, localns=vars(module))
        documented = class_attribute_docstrings(cls)
        for attribute in assigned_attributes(cls):
            assert attribute in hints and attribute in documented, f"{cls.__name__}.{attribute} is not annotated"
            assert documented[attribute], f"{cls.__name__}.{attribute} has no docstring"


def test_an_example_needs_a_module_that_keeps_its_promise():
    """The extraction reads exactly the indented block (the test above can fail on a wrong example)."""
    code = example_of("kms")
    assert code.startswith("from modules.kms import EncryptionKey, EncryptionKeyProps\n")
    with pytest.raises(TypeError):
        exec(code.replace('address="database"', 'adress="database"'), {"stack": None})  # noqa: S102
