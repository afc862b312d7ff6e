"""Every runtime access path (security/access_paths.py) against the synthesized dev and prod policies, with a
policy evaluator (security/policy_check.py): a denied path fails, a grant that no path uses fails, and every
service-assumed role is protected against the confused deputy."""

from __future__ import annotations

import json

import pytest

from config import load_config
from security.access_paths import ACCESS_PATHS, TRUST_WITHOUT_CONDITIONS, AccessPath, Ref, Role
from security.policy_check import Resolver, applicable_paths, evaluate, unused_grants

ENVIRONMENTS = ("dev", "prod")


@pytest.fixture(scope="module")
def resolvers(synthesized, prod_synthesized):
    result = {}
    for environment, stacks in (("dev", synthesized), ("prod", prod_synthesized)):
        config = load_config(environment)
        result[environment] = Resolver(stacks, config.regions.primary, config.regions.replica,
                                       f"{config.project}-{config.environment}")
    return result


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_access_path_names_resources_the_stacks_have(environment, resolvers):
    assert [p.name for p in ACCESS_PATHS if p not in applicable_paths(resolvers[environment])] == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("path", ACCESS_PATHS, ids=lambda p: p.name)
def test_access_path(environment, path: AccessPath, resolvers):
    outcomes = evaluate(resolvers[environment], path)
    wrong = [(o.action, o.resource, "allowed" if o.allowed else "denied") for o in outcomes if not o.as_expected]
    assert wrong == [], f"{path.name}: expected {'denied' if path.denied else 'allowed'}"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_grant_without_an_access_path(environment, resolvers):
    assert unused_grants(resolvers[environment]) == []


def test_the_checks_catch_a_missing_grant_and_an_unused_one(synthesized):
    """Mutation: the execution role without its KMS grant (today's main) is denied, an extra grant is unused."""
    mutated = {name: stack for name, stack in synthesized.items()}
    service = mutated["service"]
    document = json.loads(json.dumps(service.document))
    for policy in document["resource"]["aws_iam_role_policy"].values():
        statements = json.loads(policy["policy"])
        if any(s.get("Sid") == "DecryptInjectedSecrets" for s in statements["Statement"]):
            statements["Statement"] = [s for s in statements["Statement"] if s.get("Sid") != "DecryptInjectedSecrets"]
            statements["Statement"].append({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]})
            policy["policy"] = json.dumps(statements)
    mutated["service"] = type(service)(service.name, service.directory, document, service.dependencies)
    resolver = Resolver(mutated, "us-east-1", "us-west-2", "paymig-dev")
    decrypt = next(p for p in ACCESS_PATHS if p.name == "execution role decrypts the app secret through Secrets Manager")
    assert [o.allowed for o in evaluate(resolver, decrypt)] == [False]
    unused = unused_grants(resolver)
    assert any("s3:GetObject is granted but no access path uses it" in line for line in unused), unused


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_service_roles_are_protected_against_the_confused_deputy(environment, resolvers):
    """Every role a service assumes requires aws:SourceAccount (and aws:SourceArn where the service sends it),
    except the reviewed exceptions; the account comes from aws_caller_identity, never from configuration."""
    resolver = resolvers[environment]
    unprotected = []
    for stack in resolver.stacks.values():
        for role in stack.of_type("aws_iam_role").values():
            path = role["//"]["metadata"]["path"].split("/", 1)[1]
            trust = json.loads(role["assume_role_policy"])["Statement"]
            for statement in trust:
                condition = statement.get("Condition", {})
                account = condition.get("StringEquals", {}).get("aws:SourceAccount", "")
                if f"{stack.name}/{path}" in TRUST_WITHOUT_CONDITIONS:
                    assert not condition, f"{stack.name}/{path} has conditions now: drop it from the exceptions"
                    continue
                if not (account.startswith("${data.aws_caller_identity.") and "aws:SourceArn" in condition.get("ArnLike", {})):
                    unprotected.append(f"{stack.name}/{path}")
    assert unprotected == []


def test_confused_deputy_paths_fail_on_an_unconditioned_trust_policy(synthesized):
    """Without the conditions (today's main), a service acting for another account may assume the role."""
    data = synthesized["data"]
    document = json.loads(json.dumps(data.document))
    for role in document["resource"]["aws_iam_role"].values():
        statements = json.loads(role["assume_role_policy"])
        for statement in statements["Statement"]:
            statement.pop("Condition", None)
        role["assume_role_policy"] = json.dumps(statements)
    stacks = dict(synthesized)
    stacks["data"] = type(data)(data.name, data.directory, document, data.dependencies)
    resolver = Resolver(stacks, "us-east-1", "us-west-2", "paymig-dev")
    path = next(p for p in ACCESS_PATHS if p.name == "DMS from another account may not assume the endpoint secrets role")
    assert [o.allowed for o in evaluate(resolver, path)] == [True]


def test_role_principals_of_the_paths_are_roles_of_the_stacks(resolvers):
    resolver = resolvers["dev"]
    for path in ACCESS_PATHS:
        if isinstance(path.principal, Role):
            assert resolver.address(path.principal.stack, path.principal.path)[0] == "aws_iam_role", path.name
    assert resolver.ref(Ref("data", "db-role-secrets/app")).startswith("arn:aws:secretsmanager:us-east-1:")
