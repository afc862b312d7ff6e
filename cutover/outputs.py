"""The deployed stacks' outputs, which is all ``cutover`` knows of an environment's AWS resources.

Seam: branch i11 builds the one Terraform driver (``terraform output -json`` among others). Until it is merged,
:func:`stack_outputs` runs ``terraform output -json`` itself in the synthesized stack's folder with the project's
Terraform environment (``python -m ops env``, in a subprocess: ``cutover`` never imports ``cdktf_runtime``). At
merge this function becomes a call to that driver. ``PAYMIG_CUTOVER_OUTPUTS`` may name a JSON file
``{"<stack>": {"<output>": value}}`` instead (the rehearsal writes one; CI may too).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cutover.cli.terminal import CutoverError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OUTPUTS_FILE_VARIABLE = "PAYMIG_CUTOVER_OUTPUTS"


def synthesized_dir(environment: str) -> Path:
    """Where the environment's stacks were synthesized: ``.state/local/cdktf.out`` for local, else ``cdktf.out``."""
    return PROJECT_ROOT / (".state/local/cdktf.out" if environment == "local" else "cdktf.out")


def stack_outputs(environment: str, stack: str) -> dict[str, Any]:
    """Output name -> value of one deployed stack (sensitive outputs are left out).

    Raises:
        CutoverError: the stack is not synthesized or its state cannot be read.
    """
    path = os.environ.get(OUTPUTS_FILE_VARIABLE)
    if path:
        return dict(json.loads(Path(path).read_text(encoding="utf-8")).get(stack, {}))
    directory = synthesized_dir(environment) / "stacks" / stack
    if not directory.is_dir():
        raise CutoverError(f"stack {stack} of {environment}: not synthesized in {directory.parent.parent} "
                           "(run `make deploy-local` or `make synth`)")
    script = f'eval "$("{sys.executable}" -m ops env)" && terraform output -json -no-color'
    result = subprocess.run(["bash", "-c", script], cwd=directory, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CutoverError(f"stack {stack}: terraform output failed: {result.stderr.strip()[-300:]}")
    return {name: item["value"] for name, item in json.loads(result.stdout or "{}").items() if not item.get("sensitive")}
