"""Golden synthesized JSON: what every stack of ``dev`` and ``prod`` synthesizes, kept in ``tests/fixtures/synth``.

``tests/test_golden_synth.py`` synthesizes both environments and compares each stack's ``cdk.tf.json`` and the
manifest byte for byte with these files: a refactoring must not change what Terraform gets. When a change to the
synthesized JSON is intended, regenerate them and review the diff like code::

    make golden        # = eval "$(.venv/bin/python -m ops env)"; .venv/bin/python -m tests.golden_synth

The one thing normalized: the checkout's absolute path (the bootstrap stack's local backend path is absolute),
written as ``PROJECT_ROOT_PLACEHOLDER``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent / "fixtures" / "synth"
"""``<environment>/manifest.json`` and ``<environment>/<stack>.json`` per golden environment."""

ENVIRONMENTS = ("dev", "prod")
"""The environments whose synthesized JSON is kept (``local`` names a per-run emulator port)."""

PLACEHOLDER = "PROJECT_ROOT_PLACEHOLDER"


def normalized(text: str) -> str:
    """``text`` with the checkout's absolute path replaced by ``PLACEHOLDER`` (the only part that varies)."""
    from cdktf_runtime.environment import PROJECT_ROOT

    return text.replace(str(PROJECT_ROOT), PLACEHOLDER)


def synthesized_files(environment: str, outdir: Path) -> dict[str, str]:
    """Synthesize every stack of ``environment`` into ``outdir`` in this process.

    Returns:
        Golden file name (``manifest.json``, ``<stack>.json``) -> normalized text, as cdktf wrote it.
    """
    import json

    import cdktf_runtime  # noqa: F401  (environment before cdktf)
    from cdktf import App

    from config import load_config
    from stacks.app import build_stacks

    app = App(outdir=str(outdir))
    build_stacks(app, load_config(environment))
    app.synth()
    manifest_text = (outdir / "manifest.json").read_text(encoding="utf-8")
    files = {"manifest.json": normalized(manifest_text)}
    for name, entry in json.loads(manifest_text)["stacks"].items():
        files[f"{name}.json"] = normalized((outdir / entry["synthesizedStackPath"]).read_text(encoding="utf-8"))
    return files


def golden_files(environment: str) -> dict[str, str]:
    """The recorded golden files of ``environment``: name -> text."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted((GOLDEN_DIR / environment).glob("*.json"))}


def write_golden(environments: tuple[str, ...] = ENVIRONMENTS) -> list[Path]:
    """Synthesize ``environments`` and replace their golden files; returns the files written."""
    written = []
    for environment in environments:
        with tempfile.TemporaryDirectory(prefix=f"golden-{environment}-") as tmp:
            files = synthesized_files(environment, Path(tmp))
        target = GOLDEN_DIR / environment
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name, text in files.items():
            (target / name).write_text(text, encoding="utf-8")
            written.append(target / name)
    return written


if __name__ == "__main__":
    for path in write_golden(tuple(sys.argv[1:]) or ENVIRONMENTS):
        print(f"wrote {path.relative_to(GOLDEN_DIR.parent.parent.parent)}")
