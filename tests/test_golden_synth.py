"""The synthesized JSON of ``dev`` and ``prod`` is byte-identical to the recorded golden files.

Regenerate after an intended change with ``make golden`` (``tests/golden_synth.py``) and review the diff.
"""

from __future__ import annotations

import difflib

import pytest

from tests.golden_synth import ENVIRONMENTS, golden_files, synthesized_files


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_synthesized_json_matches_the_golden_files(environment, tmp_path):
    expected = golden_files(environment)
    actual = synthesized_files(environment, tmp_path / "cdktf.out")
    assert expected, f"no golden files for {environment}: run `make golden`"
    assert sorted(actual) == sorted(expected)
    for name, text in actual.items():
        if text != expected[name]:
            diff = "".join(list(difflib.unified_diff(expected[name].splitlines(True), text.splitlines(True),
                                                     f"golden/{environment}/{name}", f"synthesized/{name}"))[:80])
            pytest.fail(f"{environment}/{name} differs from its golden file (`make golden` if intended):\n{diff}")
