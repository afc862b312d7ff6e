"""checkov over the synthesized stacks, with the one reviewed skip list ``security/checkov_skips.toml``.

checkov (pinned in ``security/checkov-requirements.txt``) runs in its own virtualenv ``.tools/checkov`` because it
pins boto3 to a version that conflicts with moto. It scans the ``terraform_json`` framework (cdktf output).

Follows: https://www.checkov.io/2.Basics/CLI%20Command%20Reference.html and
https://www.checkov.io/4.Integrations/Terraform%20CDK.html (scanning cdk.tf.json).
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from terraform_driver import PROJECT_ROOT

CHECKOV = PROJECT_ROOT / ".tools" / "checkov" / "bin" / "checkov"
SKIPS_FILE = PROJECT_ROOT / "security" / "checkov_skips.toml"

UNSCANNABLE_BLOCKS = ("moved",)
"""Top-level blocks checkov 3.3's ``terraform_json`` parser cannot read: a stack with a ``moved`` block (the
state moves of ``stacks/stateful.toml``) parses as zero resources. They configure no resource, so the scan reads
a copy of each stack without them."""


def scannable_copy(stacks_dir: Path, target: Path) -> Path:
    """Copy every ``<stack>/cdk.tf.json`` below ``stacks_dir`` to ``target/<stack>/`` without the
    ``UNSCANNABLE_BLOCKS``; returns ``target``."""
    for source in sorted(stacks_dir.glob("*/cdk.tf.json")):
        document = json.loads(source.read_text(encoding="utf-8"))
        for block in UNSCANNABLE_BLOCKS:
            document.pop(block, None)
        (target / source.parent.name).mkdir(parents=True, exist_ok=True)
        (target / source.parent.name / source.name).write_text(json.dumps(document, indent=2), encoding="utf-8")
    return target


@dataclass(frozen=True)
class Skip:
    """A reviewed exception: ``check`` in ``stacks`` (all if empty) of ``environments`` (all if empty), for
    resource addresses matching ``resources`` (fnmatch), because ``reason``."""

    check: str
    reason: str
    stacks: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    resources: tuple[str, ...] = ("*",)

    def covers(self, finding: Finding, environment: str) -> bool:
        """Whether this exception applies to ``finding`` in ``environment``."""
        return (finding.check == self.check
                and (not self.stacks or finding.stack in self.stacks)
                and (not self.environments or environment in self.environments)
                and any(fnmatch.fnmatchcase(finding.resource, pattern) for pattern in self.resources))


@dataclass(frozen=True)
class Finding:
    """One failed checkov check: check id, stack, resource address and the check's title."""

    check: str
    stack: str
    resource: str
    title: str


@dataclass
class StackResult:
    """Per-stack counts: passed, failed (not covered by a skip) and skipped (covered) checks."""

    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, Skip]] = field(default_factory=list)


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """Read the reviewed skip list.

    Raises:
        ValueError: an entry without ``check`` or ``reason``, or with an unknown key.
    """
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("skip", [])
    skips = []
    for index, entry in enumerate(entries):
        unknown = set(entry) - {"check", "reason", "stacks", "environments", "resources"}
        if unknown or not entry.get("check") or not entry.get("reason"):
            raise ValueError(f"{path.name} skip #{index + 1}: needs check and reason, no other keys than "
                             f"stacks/environments/resources (got {sorted(entry)})")
        skips.append(Skip(check=entry["check"], reason=entry["reason"], stacks=tuple(entry.get("stacks", ())),
                          environments=tuple(entry.get("environments", ())),
                          resources=tuple(entry.get("resources", ("*",)))))
    return skips


def run_checkov(stacks_dir: Path) -> list[dict]:
    """Run checkov on every stack below ``stacks_dir`` (``cdktf.out/stacks``) and return its JSON reports.

    Raises:
        FileNotFoundError: checkov is not installed (``make install``).
        RuntimeError: checkov failed to run (exit code other than 0/1) or printed no JSON.
    """
    if not CHECKOV.exists():
        raise FileNotFoundError(f"{CHECKOV} is missing: run `make install`")
    with tempfile.TemporaryDirectory(prefix="checkov-") as copy:
        result = subprocess.run(
            [str(CHECKOV), "-d", str(scannable_copy(stacks_dir, Path(copy) / "stacks")), "--framework",
             "terraform_json", "-o", "json", "--compact", "--skip-download"], capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov exited {result.returncode}: {result.stderr[-2000:]}")
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def _stack_of(check: dict) -> str:
    return Path(check.get("file_abs_path") or check["file_path"]).parent.name


def evaluate(reports: Iterable[dict], environment: str, skips: list[Skip]) -> tuple[dict[str, StackResult], list[Skip]]:
    """Apply ``skips`` to checkov ``reports`` of ``environment``.

    Returns:
        Stack name -> StackResult, and the skips that matched nothing (stale entries).
    """
    results: dict[str, StackResult] = {}
    used: set[int] = set()
    for report in reports:
        for check in report.get("results", {}).get("passed_checks", []):
            results.setdefault(_stack_of(check), StackResult()).passed += 1
        for check in report.get("results", {}).get("failed_checks", []):
            finding = Finding(check["check_id"], _stack_of(check), check["resource"], check["check_name"])
            result = results.setdefault(finding.stack, StackResult())
            match = next((i for i, skip in enumerate(skips) if skip.covers(finding, environment)), None)
            if match is None:
                result.failed.append(finding)
            else:
                used.add(match)
                result.skipped.append((finding, skips[match]))
    stale = [skip for i, skip in enumerate(skips) if i not in used and (not skip.environments
                                                                           or environment in skip.environments)]
    return results, stale
