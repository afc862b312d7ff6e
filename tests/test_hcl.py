"""HCL exit path: ``cdktf synth --hcl`` (what ``make hcl`` runs) writes every stack as HCL that Terraform validates."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cdktf_runtime.environment import PROJECT_ROOT
from cdktf_runtime.hcl_output import embedded_json_document, hcl_output_requested
from terraform_driver import Terraform
from terraform_driver.environment import process_environment
from tests.test_stacks import STACKS

pytestmark = pytest.mark.while_destroying  # slow, no emulator: runs while the session deployment is destroyed


@pytest.fixture(scope="module")
def hcl_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev environment written by the cdktf CLI as HCL (``cdktf synth --hcl``) into a temporary folder."""
    outdir = tmp_path_factory.mktemp("hcl") / "hcl.out"
    subprocess.run([str(PROJECT_ROOT / "node_modules" / ".bin" / "cdktf"), "synth", "--hcl", "--output", str(outdir)],
                   cwd=PROJECT_ROOT, env=process_environment({"PAYMIG_ENVIRONMENT": "dev"}), check=True,
                   capture_output=True, text=True)
    return outdir


def test_every_stack_is_written_as_hcl(hcl_out):
    manifest = json.loads((hcl_out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["stacks"]) == set(STACKS)
    for name, entry in manifest["stacks"].items():
        assert entry["synthesizedStackPath"] == f"stacks/{name}/cdk.tf"
        text = (hcl_out / entry["synthesizedStackPath"]).read_text(encoding="utf-8")
        assert text.lstrip().startswith("terraform {")
        assert not (hcl_out / entry["workingDirectory"] / "cdk.tf.json").exists()


@pytest.mark.terraform
@pytest.mark.parametrize("stack", STACKS)
def test_hcl_validates(hcl_out, stack):
    directory = hcl_out / "stacks" / stack
    terraform = Terraform(directory)
    terraform.init(backend=False)
    report = terraform.validate()
    errors = [f"{d['summary']}: {d.get('detail', '')}" for d in report["diagnostics"] if d["severity"] == "error"]
    assert report["valid"], errors


def test_json_documents_with_references_are_jsonencoded_in_hcl(hcl_out):
    text = (hcl_out / "stacks" / "storage" / "cdk.tf").read_text(encoding="utf-8")
    policies = [line.split("=", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("policy ")]
    assert policies and all(policy.startswith('"${jsonencode({') for policy in policies), policies


def test_json_output_keeps_json_documents_as_strings(synthesized):
    """The aspect acts on HCL output only: the JSON synthesis (the validated, deployed one) is unchanged."""
    policies = [key["policy"] for key in synthesized["storage"].of_type("aws_kms_key").values()]
    assert policies and all(json.loads(policy)["Statement"] for policy in policies)


def test_embedded_json_document():
    assert embedded_json_document('{"Resource": "${aws_s3_bucket.b.arn}"}') == {"Resource": "${aws_s3_bucket.b.arn}"}
    assert embedded_json_document('[{"a": "${x.y}"}]') == [{"a": "${x.y}"}]
    assert embedded_json_document('{"Resource": "*"}') is None  # no reference: cdktf escapes it correctly
    assert embedded_json_document('say "${var.x}"') is None  # not JSON
    assert embedded_json_document('"${var.x}"') is None  # JSON, but a string, not a document
    assert embedded_json_document(3) is None


def test_hcl_output_requested_reads_the_cdktf_variable():
    assert hcl_output_requested({"SYNTH_HCL_OUTPUT": "true"}) and hcl_output_requested({"SYNTH_HCL_OUTPUT": "1"})
    assert not hcl_output_requested({"SYNTH_HCL_OUTPUT": "false"}) and not hcl_output_requested({})
