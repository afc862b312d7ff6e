"""The test session's deployment of every stack onto a private emulated AWS, shared by the tests that need one.

One deployment per test session (a private emulator on a free loopback port, bootstrap state in a temporary
directory): a legacy source database is created with boto3 first, in its own network (VPC, DB subnet group,
security group, port 5433), and imported by the data stack where it lives, then every stack
is applied with the real Terraform and hashicorp/aws 5.100.0 in dependency order (``ops.deploy.deploy_all``, which
drives ``terraform_driver``).

Most of a deployment is the provider's fixed waits (S3 lifecycle configurations about 55 s, RDS instances about
80 s, the ALB about 60 s, ...), so it runs in the background from the end of test collection
(``tests/conftest.py``) while the other tests run, and it is shared stack by stack: as soon as a stack is applied,
its second plan (and, for the data stack, ``terraform show -json`` of the saved import plan it applied) runs in
another thread, then the stack is *ready*. A test marked ``@pytest.mark.stacks("network", ...)`` waits only for
the stacks it names (unmarked: every stack); conftest orders these tests by when their stacks become ready.

The destroy runs in the background too (:meth:`LocalDeployment.start_destroy`, minutes of the provider's waits
again): conftest starts it as soon as the last test that uses the deployment is done, the tests marked
``while_destroying`` (slow, and needing no emulator) run meanwhile, and the test that checks the destroy runs last.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import tomllib
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import EMULATOR_ENVIRONMENT, Names, config_path, parse_config
from emulator import Emulator, emulator_client
from ops import deploy
from ops.local import synthesize
from terraform_driver import ApplyResult, PlanResult, SynthesizedStack, state_stack

LEGACY_DB = "paymig-local-legacy-db"
"""The legacy source instance that exists before the migration and that the data stack imports."""

LEGACY_PARAMETER_GROUP = "legacy-payments-postgres15"

IMPORT_PLAN_STACK = "data"
"""The stack applied from a saved plan (the legacy source's import) that the tests inspect."""


LEGACY_NETWORK = "172.18.0.0/16"
"""The legacy network (its own VPC here; on a real account a peered VPC or a VPN) that the legacy source lives in."""
LEGACY_SUBNET_GROUP = "paymig-local-legacy-db-subnets"
LEGACY_PORT = 5433
"""Not PostgreSQL's default, so that keeping the instance's own port is visible."""
LEGACY_ENGINE_VERSION = "15.7"


def import_legacy(data: dict[str, Any], legacy: dict[str, Any]) -> None:
    """Make the parsed ``config/local.toml`` in ``data`` import the legacy source (``legacy``: the
    ``[source_database]`` settings ``create_legacy_source`` returned)."""
    data["source_database"].update(legacy)


def create_legacy_source(endpoint: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The legacy database as it exists before the migration: in its own network (VPC, DB subnet group, security
    group admitting DMS's private subnets on its own port), encrypted with its own key, its own parameter group,
    the master password kept by RDS in Secrets Manager (none is ever sent).

    Returns:
        The ``[source_database]`` settings that import it where it lives.
    """
    from modules.network import NetworkProps

    rds, ec2 = emulator_client(endpoint, "rds"), emulator_client(endpoint, "ec2")
    key = emulator_client(endpoint, "kms").create_key(Description="legacy payments database")["KeyMetadata"]["Arn"]
    vpc = ec2.create_vpc(CidrBlock=LEGACY_NETWORK)["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"172.18.{index * 16}.0/20",
                                 AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
               for index, zone in enumerate("ab")]
    rds.create_db_subnet_group(DBSubnetGroupName=LEGACY_SUBNET_GROUP, SubnetIds=subnets,
                               DBSubnetGroupDescription="legacy payments database")
    group = ec2.create_security_group(GroupName="paymig-local-legacy-db", VpcId=vpc,
                                      Description="legacy payments database")["GroupId"]
    local = tomllib.loads(config_path(EMULATOR_ENVIRONMENT).read_text(encoding="utf-8"))["network"]
    dms_subnets = NetworkProps("legacy", "us-east-1", local["vpc_cidr"], local["az_count"], 8080).subnet_cidrs("private")
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{  # the documented ingress for DMS
        "IpProtocol": "tcp", "FromPort": LEGACY_PORT, "ToPort": LEGACY_PORT,
        "IpRanges": [{"CidrIp": cidr} for cidr in dms_subnets]}])
    rds.create_db_parameter_group(DBParameterGroupName=LEGACY_PARAMETER_GROUP, DBParameterGroupFamily="postgres15",
                                  Description="legacy payments database")
    rds.create_db_instance(
        DBInstanceIdentifier=LEGACY_DB, Engine="postgres", EngineVersion=LEGACY_ENGINE_VERSION,
        DBInstanceClass=settings["instance_class"], AllocatedStorage=settings["allocated_storage_gib"],
        StorageType="gp3", StorageEncrypted=True, KmsKeyId=key, DBName=settings["database_name"],
        MasterUsername="paymig_admin", ManageMasterUserPassword=True, DBParameterGroupName=LEGACY_PARAMETER_GROUP,
        DBSubnetGroupName=LEGACY_SUBNET_GROUP, VpcSecurityGroupIds=[group], Port=LEGACY_PORT,
    )
    return {"existing_instance_identifier": LEGACY_DB, "existing_kms_key_arn": key,
            "existing_db_subnet_group_name": LEGACY_SUBNET_GROUP, "existing_security_group_ids": [group],
            "existing_port": LEGACY_PORT, "existing_network_cidrs": [LEGACY_NETWORK]}


@dataclass
class Deployment:
    """What the tests inspect: emulator endpoint, synthesized stacks, apply results, the applied import plan
    (``terraform show -json``), every stack's second plan and the seconds each phase took."""

    endpoint: str
    stacks: dict[str, SynthesizedStack]
    names: Names
    bootstrap_state: Path
    legacy: dict[str, Any] = field(default_factory=dict)
    results: dict[str, ApplyResult] = field(default_factory=dict)
    import_plan: dict[str, Any] = field(default_factory=dict)
    replans: dict[str, PlanResult] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """A boto3 client of ``service`` on the deployment's emulator."""
        return emulator_client(self.endpoint, service, region)

    @property
    def backend_configs(self) -> dict[str, dict[str, str]]:
        """Backend overrides for ``ops.deploy``: the state stack's local state file (in the session's folder)."""
        holder = state_stack(self.stacks)
        assert holder is not None, "the synthesized app has no state stack"
        return {holder.name: {"path": str(self.bootstrap_state)}}

    @property
    def state_stack(self) -> SynthesizedStack:
        """The stack that holds the others' state (the one with local state, from the manifest)."""
        holder = state_stack(self.stacks)
        assert holder is not None
        return holder

    @property
    def outdir(self) -> Path:
        """The cdktf output directory the stacks were synthesized into."""
        return next(iter(self.stacks.values())).directory.parent.parent


class LocalDeployment:
    """The session's deployment, applied in a background thread; ``wait_for`` hands it to tests stack by stack.

    ``start`` runs in the main thread (emulator, legacy source, synthesis: jsii is not thread-safe); the Terraform
    runs then happen in threads (subprocesses and boto3 only).
    """

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="paymig-deploy-local-"))
        self.emulator = Emulator(self.workdir / "emulator.log")
        self.deployment: Deployment | None = None
        self._error: BaseException | None = None
        self._ready: set[str] = set()
        self._finished = False
        self._destroyed = False
        self._destroying: Future[Destroyed] | None = None
        self._condition = threading.Condition()
        self._settling = ThreadPoolExecutor(max_workers=2, thread_name_prefix="deploy-local-settle")
        self._thread = threading.Thread(target=self._deploy, name="deploy-local", daemon=True)

    @property
    def endpoint(self) -> str:
        """The emulator's URL (available as soon as ``start`` returned)."""
        return str(self.emulator.endpoint)

    @property
    def order(self) -> tuple[str, ...]:
        """The stacks in dependency order, as the synthesized manifest gives it (available after ``start``)."""
        assert self.deployment is not None, "start() first"
        return tuple(self.deployment.stacks)

    def start(self) -> LocalDeployment:
        """Start the emulator, create the legacy source, synthesize ``local`` and start applying in the background."""
        data = tomllib.loads(config_path(EMULATOR_ENVIRONMENT).read_text(encoding="utf-8"))
        self.emulator.start()
        legacy = create_legacy_source(self.endpoint, data["source_database"])
        import_legacy(data, legacy)
        started = time.monotonic()
        stacks = synthesize(self.endpoint, self.workdir / "cdktf.out", configure=lambda d: import_legacy(d, legacy))
        self.deployment = Deployment(self.endpoint, stacks, Names.of(parse_config(data)),
                                     self.workdir / "bootstrap.tfstate", legacy=legacy)
        self.deployment.seconds["synth"] = time.monotonic() - started
        self._thread.start()
        return self

    def _deploy(self) -> None:
        result = self.deployment
        assert result is not None
        started = time.monotonic()
        saved_plan = self.workdir / f"{IMPORT_PLAN_STACK}.plan"
        settling: list[Future[None]] = []

        def applied(stack: SynthesizedStack, stack_result: ApplyResult) -> None:
            result.results[stack.name] = stack_result
            settling.append(self._settling.submit(self._settle, stack, saved_plan))

        try:
            deploy.deploy_all(result.stacks.values(), backend_configs=result.backend_configs, workers=3,
                              saved_plans={IMPORT_PLAN_STACK: saved_plan}, after=applied)
            result.seconds["deploy"] = time.monotonic() - started
            wait(settling)
            result.seconds["deploy and second plans"] = time.monotonic() - started
        except BaseException as error:  # handed to the waiting tests
            self._fail(error)
        finally:
            wait(settling)  # a stack being planned a second time may still become ready
            with self._condition:
                self._finished = True
                self._condition.notify_all()

    def _settle(self, stack: SynthesizedStack, saved_plan: Path) -> None:
        """The stack's second plan (and the shown import plan), then mark it ready."""
        result = self.deployment
        assert result is not None
        try:
            terraform = stack.terraform()
            if stack.name == IMPORT_PLAN_STACK:
                result.import_plan = terraform.show_json(saved_plan)
            result.replans[stack.name] = terraform.plan()
        except BaseException as error:
            self._fail(error)
            return
        with self._condition:
            self._ready.add(stack.name)
            self._condition.notify_all()

    def _fail(self, error: BaseException) -> None:
        with self._condition:
            self._error = self._error or error
            self._condition.notify_all()

    def wait_for(self, *stacks: str) -> Deployment:
        """Block until ``stacks`` (none: every stack) are applied and planned a second time.

        Raises:
            RuntimeError: one of ``stacks`` cannot become ready because the deployment failed (the Terraform error
                is its cause), or the deployment was destroyed already.
        """
        assert self.deployment is not None, "start() first"
        wanted = set(stacks or self.deployment.stacks)
        with self._condition:
            self._condition.wait_for(lambda: self._finished or wanted <= self._ready)
            if self._destroyed:
                raise RuntimeError("the session's local deployment was destroyed by an earlier test")
            if not wanted <= self._ready:
                missing = sorted(wanted - self._ready)
                raise RuntimeError(f"the session's local deployment failed before {missing} were ready") \
                    from self._error
        return self.deployment

    def to_destroy(self) -> Deployment:
        """Wait for every stack, then hand the deployment over for destruction (later ``wait_for`` calls fail)."""
        deployment = self.wait_for()
        with self._condition:
            self._destroyed = True
        return deployment

    def start_destroy(self) -> None:
        """Destroy the whole deployment in the background (:func:`destroy`), once; later ``wait_for`` calls fail."""
        if self._destroying is None:
            self._destroying = self._settling.submit(destroy, self.to_destroy())

    def destroyed(self) -> tuple[Deployment, Destroyed]:
        """The deployment once destroyed (started here if it was not yet), with what the destroy saw.

        Raises:
            terraform_driver.TerraformError: a stack could not be destroyed.
        """
        self.start_destroy()
        assert self._destroying is not None and self.deployment is not None
        return self.deployment, self._destroying.result()

    def stop(self) -> None:
        """Stop the emulator and delete the working directory (the background thread dies with the emulator)."""
        self.emulator.stop()
        self._settling.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass(frozen=True)
class Destroyed:
    """What :func:`destroy` saw: the lifecycle stacks in the order they were destroyed, and each one's state in the
    state bucket once destroyed (before the bootstrap stack emptied the bucket and went too)."""

    order: tuple[str, ...]
    states: dict[str, dict[str, Any]]


def destroy(deployment: Deployment) -> Destroyed:
    """Destroy every stack as ``make destroy-local`` does: the lifecycle stacks after the stacks that depend on them
    (``ops.deploy.destroy_all``), then the state stack, its bucket emptied first. Records the seconds taken in
    ``deployment.seconds["destroy"]``."""
    from ops.local import empty_state_bucket

    started = time.monotonic()
    order: list[str] = []
    holder = deployment.state_stack
    lifecycle = [stack for name, stack in deployment.stacks.items() if name != holder.name]
    deploy.destroy_all(lifecycle, report=lambda result: order.append(result.stack), refresh=False)
    backend = deployment.stacks[order[0]].document["terraform"]["backend"]["s3"]
    s3 = deployment.client("s3")
    states = {name: json.loads(s3.get_object(Bucket=backend["bucket"], Key=deployment.stacks[name].document[
        "terraform"]["backend"]["s3"]["key"])["Body"].read()) for name in order}
    deploy.destroy_all([holder], backend_configs=deployment.backend_configs,
                       before=lambda stack: empty_state_bucket(stack, deployment.endpoint), refresh=False)
    deployment.seconds["destroy"] = time.monotonic() - started
    return Destroyed(tuple(order), states)


_SESSION: list[LocalDeployment] = []


def session_deployment() -> LocalDeployment:
    """The session's deployment, started on first use (``tests/conftest.py`` starts it right after collection)."""
    if not _SESSION:
        _SESSION.append(LocalDeployment().start())
    return _SESSION[0]


def stop_session_deployment() -> None:
    """Stop the session's deployment if one was started (end of the test session)."""
    while _SESSION:
        _SESSION.pop().stop()
