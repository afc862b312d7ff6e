"""The operator's day: every CLI's error boundary (exit code, one line on stderr, no traceback, text printed as
text) and output that reads well where it is read (plain lines off a terminal, a table on one, ``--json``).

The CLIs run as the operator runs them, in subprocesses (``python -m ops``, ``python -m cutover``,
``python -m emulator.server``), against a stand-in AWS endpoint (a local HTTP server answering like AWS's query API),
a closed port, a broken synthesized stack and real Terraform; the outputs against the session's deployment.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cdktf_runtime.environment import PROJECT_ROOT
from cli_common import Failure, Kind, describe
from cli_common.terminal import Terminal
from ops.local import CDKTF_INTERNAL_OUTPUT, StackOutput, _redacted, outputs_document, outputs_of
from ops.plan_summary import plans_document, summarize_plan
from tests.test_plan_summary import load_plan

BRACKETED = "[bold]not markup[/]"
"""Text that Rich would read as markup; every CLI must print it as written."""


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python <args>`` in the project, with the environment minus AWS's variables (plus ``env``)."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PAYMIG_AWS"))}
    return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**base, "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
                               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                               **(env or {})})


def assert_one_error_line(done: subprocess.CompletedProcess, code: int, *contains: str) -> str:
    """The run exited ``code`` with one ``error:`` line on stderr (details only indented below it), no traceback,
    and that line holds every text of ``contains`` as written; returns the line."""
    lines = done.stderr.splitlines()
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and lines and lines[0].startswith("error: "), done.stderr
    assert all(line.startswith("  ") for line in lines[1:]), done.stderr
    assert all(text in lines[0] for text in contains), lines[0]
    return lines[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fake_aws() -> Iterator[dict[str, str]]:
    """A local endpoint that answers every AWS query-API call with the error in ``answer`` (``code``, ``message``,
    ``status``), as RDS does; yields ``answer`` with its ``endpoint`` added."""
    answer = {"code": "AccessDenied", "status": "403", "message": f"User is not authorized {BRACKETED}"}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{answer['code']}</Code><Message>"
                    f"{answer['message']}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>").encode()
            self.send_response(int(answer["status"]))
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    answer["endpoint"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield answer
    server.shutdown()
    server.server_close()


# --- one error boundary, every CLI ---------------------------------------------------------------------------


def test_bad_configuration_exits_2_naming_the_field():
    done = run_cli("-m", "cutover", "roles", "--environment", "nosuch")  # the option, named as typed
    assert_one_error_line(done, 2, "--environment = 'nosuch': must be one of dev, local, prod")
    done = run_cli("-m", "cutover", "roles", "--environment", "dev", env={"PAYMIG_SUFFIX": "BAD!"})
    assert_one_error_line(done, 2, "invalid configuration", "suffix = 'BAD!'", "lowercase letters or digits")


def test_missing_aws_credentials_exit_3_saying_how_to_set_them():
    done = run_cli("-m", "cutover", "roles", "--environment", "dev")
    assert_one_error_line(done, 3, "no usable AWS credentials", "AWS_PROFILE")


def test_access_denied_exits_3_with_awss_words_printed_literally(fake_aws):
    done = run_cli("-m", "cutover", "roles", "--environment", "local",
                   env={"PAYMIG_AWS_ENDPOINT_URL": fake_aws["endpoint"]})
    assert_one_error_line(done, 3, "AWS denied DescribeDBInstances: AccessDenied", BRACKETED, "permission")


def test_rejected_credentials_and_other_aws_errors(fake_aws):
    env = {"PAYMIG_AWS_ENDPOINT_URL": fake_aws["endpoint"]}
    fake_aws.update(code="ExpiredToken", message="The security token included in the request is expired")
    assert_one_error_line(run_cli("-m", "cutover", "roles", "--environment", "local", env=env), 3,
                          "AWS rejected the credentials", "ExpiredToken")
    fake_aws.update(code="DBInstanceNotFound", status="404", message=f"no such instance {BRACKETED}")
    assert_one_error_line(run_cli("-m", "cutover", "roles", "--environment", "local", env=env), 3,
                          "AWS DescribeDBInstances failed: DBInstanceNotFound", BRACKETED)


def test_an_aws_endpoint_that_does_not_answer_exits_3():
    done = run_cli("-m", "cutover", "roles", "--environment", "local",
                   env={"PAYMIG_AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}"})
    assert_one_error_line(done, 3, "cannot reach AWS at http://127.0.0.1:", "make deploy-local")


def test_ops_without_a_running_emulator_exits_3(monkeypatch, tmp_path, capsys):
    import ops.local
    from ops.cli import main

    monkeypatch.setattr(ops.local, "LOCAL_STATE_DIR", tmp_path)  # no emulator recorded there
    monkeypatch.setattr(ops.local, "LOCAL_OUTDIR", tmp_path / "cdktf.out")
    with pytest.raises(SystemExit) as exited:
        main(["local", "state", "data"])
    err = capsys.readouterr().err
    assert exited.value.code == 3 and err.splitlines() == [
        "error: no local emulator is running: `make deploy-local` starts one and deploys onto it"]


def test_destroy_local_moves_the_migration_journal_of_the_gone_deployment_aside(monkeypatch, tmp_path, capsys):
    import ops.local
    from ops.cli import main

    monkeypatch.setattr(ops.local, "LOCAL_STATE_DIR", tmp_path)  # no emulator recorded there: nothing deployed
    monkeypatch.setattr(ops.local, "LOCAL_OUTDIR", tmp_path / "cdktf.out")
    (tmp_path / "cutover").mkdir()
    (tmp_path / "cutover" / "journal.jsonl").write_text('{"seq": 1}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        main(["local", "destroy"])
    assert exited.value.code == 0 and "nothing is deployed locally" in capsys.readouterr().out
    (archived,) = tmp_path.glob("cutover.destroyed-*")
    assert not (tmp_path / "cutover").exists() and (archived / "journal.jsonl").read_text() == '{"seq": 1}\n'


@pytest.fixture(scope="module")
def broken_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthesized output with one stack whose ``terraform init`` fails (a module folder that does not exist,
    named with Rich markup)."""
    outdir = tmp_path_factory.mktemp("broken")
    (outdir / "stacks" / "broken").mkdir(parents=True)
    (outdir / "manifest.json").write_text(json.dumps({"stacks": {"broken": {
        "workingDirectory": "stacks/broken", "synthesizedStackPath": "stacks/broken/cdk.tf.json",
        "dependencies": []}}}), encoding="utf-8")
    (outdir / "stacks" / "broken" / "cdk.tf.json").write_text(
        json.dumps({"module": {"m": {"source": f"./{BRACKETED}"}}}), encoding="utf-8")
    return outdir


def test_a_terraform_failure_exits_1_with_its_diagnostics_as_text(broken_outdir):
    done = run_cli("-m", "ops", "local", "state", "broken", "--outdir", str(broken_outdir))
    assert_one_error_line(done, 1, "terraform init failed in stack 'broken': Unreadable module directory")
    assert "[bold]" in done.stderr  # Terraform's detail names the folder as written


def test_an_unknown_stack_is_a_usage_error_printed_literally(broken_outdir):
    done = run_cli("-m", "ops", "local", "state", BRACKETED, "--outdir", str(broken_outdir))
    assert_one_error_line(done, 2, f"no stack '{BRACKETED}'", "stacks: broken")


def test_nothing_synthesized_exits_1_saying_what_to_run(tmp_path):
    done = run_cli("-m", "ops", "synth", "summary", "--outdir", str(tmp_path))
    assert_one_error_line(done, 1, "nothing synthesized", "make synth")


def test_cutover_exit_codes_for_configuration_and_an_unreachable_database():
    usage = run_cli("-m", "cutover", "validate", "--environment", "nosuch")
    assert_one_error_line(usage, 2, "--environment = 'nosuch'")
    dsn = f"host=127.0.0.1 port={closed_port()} dbname=payments user=cutover connect_timeout=5"
    unreachable = run_cli("-m", "cutover", "preflight", "--source", dsn, "--target", dsn)
    assert_one_error_line(unreachable, 3, "cannot connect to the source database", "Connection refused")


def test_emulator_server_on_a_taken_port_exits_1_in_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run_cli("-m", "emulator.server", "--port", str(taken.getsockname()[1]))
    assert_one_error_line(done, 1, "cannot listen on 127.0.0.1:", "Address already in use", "--port")


@pytest.mark.parametrize("command", [("-m", "ops"), ("-m", "cutover"), ("-m", "emulator.server"),
                                     ("bench/synth",), ("bench/validate",)])
def test_every_cli_documents_its_exit_codes_in_help(command):
    done = run_cli(*command, "--help")
    assert done.returncode == 0 and "Exit codes: 0 " in " ".join(done.stdout.split()), done.stdout


def test_describe_knows_each_expected_failure_and_nothing_else():
    import botocore.exceptions as botocore_errors
    import psycopg

    from emulator import EmulatorError
    from terraform_driver import Diagnostic, TerraformError

    def client_error(code: str) -> Exception:
        return botocore_errors.ClientError({"Error": {"Code": code, "Message": BRACKETED}}, "GetSecretValue")

    kinds = {
        botocore_errors.NoCredentialsError(): Kind.CREDENTIALS,
        client_error("AccessDeniedException"): Kind.ACCESS_DENIED,
        client_error("UnauthorizedOperation"): Kind.ACCESS_DENIED,
        client_error("InvalidClientTokenId"): Kind.CREDENTIALS,
        client_error("ResourceNotFoundException"): Kind.AWS,
        botocore_errors.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"): Kind.UNREACHABLE,
        EmulatorError("no local emulator is running"): Kind.UNREACHABLE,
        psycopg.OperationalError("connection refused"): Kind.UNREACHABLE,
        TerraformError("data", "apply", [Diagnostic("error", "Error acquiring the state lock", "ID: x")]):
            Kind.TERRAFORM,
        FileNotFoundError(2, "No such file or directory", "terraform"): Kind.MISSING,
    }
    for error, kind in kinds.items():
        failure = describe(error)
        assert failure is not None and failure.kind is kind, error
        assert "\n" not in failure.line(), error
    assert "force-unlock" in describe(TerraformError("data", "apply", [Diagnostic("error", "Error acquiring the "
                                                                                  "state lock")])).hint
    assert describe(client_error("AccessDenied")).message.endswith(BRACKETED)
    assert describe(KeyError("a bug")) is None and describe(ValueError("a bug")) is None


def test_failures_print_as_text_on_one_unwrapped_line():
    terminal = Terminal()
    terminal.err = Console(file=io.StringIO(), width=40, markup=False, emoji=False, highlight=False)
    failure = Failure(Kind.TERRAFORM, f"terraform apply failed {BRACKETED} " + "x" * 80, "do this :smile:",
                      ("detail [red]one[/]",))
    terminal.failure(failure)
    assert terminal.err.file.getvalue().splitlines() == [failure.line(), "  detail [red]one[/]"]


# --- output that reads well where it is read ------------------------------------------------------------------


def test_outputs_are_lines_off_a_terminal_and_json_for_scripts(deployment):
    expected = {name: {key: output["value"] for key, output in stack.terraform().output_json().items()
                       if not key.startswith(CDKTF_INTERNAL_OUTPUT) and not output.get("sensitive")}
                for name, stack in deployment.stacks.items()}
    outdir = str(deployment.outdir)
    as_json = run_cli("-m", "ops", "local", "outputs", "--outdir", outdir, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == expected
    lines = run_cli("-m", "ops", "local", "outputs", "--outdir", outdir, env={"COLUMNS": "40"})
    assert lines.returncode == 0, lines.stderr
    printed = lines.stdout.splitlines()
    assert len(printed) == sum(map(len, expected.values()))  # one line an output, however long, no table
    vpc_id = expected["network"]["vpc_id"]
    assert f"network.vpc_id = {vpc_id}" in printed
    assert all(" = " in line and "│" not in line for line in printed)


def test_outputs_table_on_a_terminal_and_sensitive_values_never_printed():
    secret = "s3cr3t-value"
    outputs = outputs_of("data", {
        "endpoint": {"value": f"db.example:5432 {BRACKETED}", "type": "string", "sensitive": False},
        "master_password": {"value": secret, "type": "string", "sensitive": True},
        "subnets": {"value": ["subnet-1", "subnet-2"], "type": ["list", "string"], "sensitive": False},
        f"{CDKTF_INTERNAL_OUTPUT}network": {"value": "plumbing", "type": "string", "sensitive": False},
    })
    assert [output.name for output in outputs] == ["endpoint", "master_password", "subnets"]
    assert outputs_document(outputs) == {"data": {"endpoint": f"db.example:5432 {BRACKETED}",
                                                  "subnets": ["subnet-1", "subnet-2"]}}
    assert StackOutput("data", "subnets", ["subnet-1", "subnet-2"]).shown() == "subnet-1, subnet-2"
    from ops.cli import local

    for on_terminal in (True, False):
        terminal = Terminal()
        terminal.out = Console(file=io.StringIO(), force_terminal=on_terminal, width=200, markup=False, emoji=False,
                               highlight=False, color_system=None)
        local.terminal, saved = terminal, local.terminal
        try:
            local.print_outputs(outputs, as_json=False)
        finally:
            local.terminal = saved
        text = terminal.out.file.getvalue()
        assert secret not in text and "(sensitive)" in text and BRACKETED in text
        assert ("┃ stack" in text) is on_terminal, text
        assert ("data.master_password = (sensitive)" in text.splitlines()) is not on_terminal, text


@pytest.mark.stacks("network")
def test_state_lists_and_shows_as_json(deployment):
    outdir = str(deployment.outdir)
    listed = run_cli("-m", "ops", "local", "state", "network", "--outdir", outdir, "--json")
    assert listed.returncode == 0, listed.stderr
    addresses = json.loads(listed.stdout)
    assert addresses == deployment.stacks["network"].terraform().state_list()
    vpc = next(address for address in addresses if address.startswith("aws_vpc."))
    shown = run_cli("-m", "ops", "local", "state", "network", vpc, "--outdir", outdir, "--json")
    assert shown.returncode == 0, shown.stderr
    resource = json.loads(shown.stdout)
    assert resource["address"] == vpc and "sensitive_values" not in resource
    assert resource["values"]["id"] == deployment.stacks["network"].terraform().output()["vpc_id"]
    missing = run_cli("-m", "ops", "local", "state", "network", "aws_vpc.nosuch", "--outdir", outdir, "--json")
    assert_one_error_line(missing, 2, "no resource 'aws_vpc.nosuch' in the state of stack 'network'")


def test_sensitive_state_values_are_redacted():
    values = {"name": "db", "password": "pw", "tags": {"a": "1"}, "list": [{"token": "t", "id": 1}]}
    mask = {"password": True, "tags": {}, "list": [{"token": True}]}
    assert _redacted(values, mask) == {"name": "db", "password": "(sensitive)", "tags": {"a": "1"},
                                       "list": [{"token": "(sensitive)", "id": 1}]}


def test_synth_summary_as_lines_and_json(synthesized):
    outdir = next(iter(synthesized.values())).directory.parent.parent
    as_json = run_cli("-m", "ops", "synth", "summary", "--outdir", str(outdir), "--json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert [entry["stack"] for entry in document["stacks"]] == list(synthesized)
    assert document["resources"] == sum(stack.resource_count() for stack in synthesized.values())
    lines = run_cli("-m", "ops", "synth", "summary", "--outdir", str(outdir))
    network = synthesized["network"]
    assert (f"network: {network.resource_count()} resources, 0 imports, {len(network.document.get('output', {}))} "
            "outputs, depends on " + (", ".join(network.dependencies) or "-")) in lines.stdout.splitlines()
    # which environment the counts are of (dev and local differ: a new user compares them with the deploy's)
    environment = network.document["provider"]["aws"][0]["default_tags"][0]["tags"]["Environment"]
    assert document["environment"] == environment
    assert f"{document['resources']} resources in total (environment {environment})" in lines.stdout.splitlines()


def test_diff_prints_markdown_off_a_terminal_and_json_for_scripts(monkeypatch):
    import ops.diff
    from ops.cli import app

    plans = [summarize_plan("network", load_plan("no-changes")), summarize_plan("data", load_plan("changes"))]
    monkeypatch.setattr(ops.diff, "diff_all", lambda outdir, exclude: plans)
    monkeypatch.setenv("PAYMIG_ENVIRONMENT", "dev")
    from ops.cli.terminal import ExitCode
    from ops.plan_summary import unacknowledged

    as_json = CliRunner().invoke(app, ["diff", "--json"])
    # the captured plan replaces a database: the JSON is printed, and the unacknowledged change sets the exit code
    assert unacknowledged(plans, []) and as_json.exit_code == ExitCode.STATEFUL_CHANGE, as_json.output
    document = json.loads(as_json.stdout)
    assert document == json.loads(json.dumps(plans_document(plans, "cdktf diff: dev")))
    data = document["stacks"][1]
    assert (data["stack"], data["terraform_line"]) == ("data", plans[1].terraform_line())
    assert data["changes"][0] == {"action": plans[1].changes[0][0], "address": plans[1].changes[0][1]}
    text = CliRunner().invoke(app, ["diff"])
    assert text.stdout.startswith("## cdktf diff: dev\n") and "| network | 0 | 0 | 0 | 0 | 0 | no changes |" in text.stdout


# --- every command once, in the operator's order ---------------------------------------------------------------

OPERATOR_ORDER = ("install", "synth", "diff", "deploy", "state", "cutover", "destroy")
"""The groups an operator goes through, in order (a last group of development targets may follow)."""


def makefile_groups() -> list[tuple[str, list[str]]]:
    """``(group, [target, ...])`` in Makefile order: ``##@ <group>`` lines and targets with a ``##`` comment."""
    import re

    groups: list[tuple[str, list[str]]] = []
    for line in (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("##@ "):
            groups.append((line[4:].strip(), []))
        elif match := re.match(r"^([a-z-]+):.*## ", line):
            assert groups, f"target {match.group(1)} before the first ##@ group"
            groups[-1][1].append(match.group(1))
    return groups


def test_make_help_and_the_reference_list_every_target_once_in_the_operators_order():
    import re

    groups = makefile_groups()
    names = [group.split(":")[0].lower() for group, _ in groups]
    assert names[: len(OPERATOR_ORDER)] == list(OPERATOR_ORDER) and len(names) <= len(OPERATOR_ORDER) + 1, names
    targets = [target for _, group_targets in groups for target in group_targets]
    assert len(targets) == len(set(targets)), targets

    shown = subprocess.run(["make", "-s", "--no-print-directory", "help"], cwd=PROJECT_ROOT, capture_output=True,
                           text=True, check=True).stdout
    listed: list[tuple[str, list[str]]] = []
    for line in shown.splitlines():
        if line.startswith("  "):
            listed[-1][1].append(line.split()[0])
        elif line.strip():
            listed.append((line.strip(), []))
    assert listed == groups

    reference = (PROJECT_ROOT / "docs" / "reference.md").read_text(encoding="utf-8")  # README links to it
    section = reference.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    headings = re.findall(r"^### (.+)$", section, re.MULTILINE)
    assert headings == [group for group, _ in groups]
    for heading, (group, group_targets) in zip(headings, groups):
        part = section.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]
        assert re.findall(r"`make ([a-z-]+)[ `]", part) == group_targets, group
