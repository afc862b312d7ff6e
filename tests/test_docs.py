"""README.md and docs/: the README's first screen gets one running and says where to read next, and every relative
link of README.md and docs/*.md leads to a file that exists and, with a ``#fragment``, to a heading of it (GitHub's
anchors: lower case, punctuation dropped, spaces as hyphens)."""

from __future__ import annotations

import re
from pathlib import Path

from cdktf_runtime.environment import PROJECT_ROOT

FIRST_SCREEN_LINES = 50
"""What a terminal or GitHub shows before one scrolls."""

DOCS = ("runbook.md", "reference.md", "design.md", "infrastructure.md")

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: ``## CI: GitHub Actions`` -> ``ci-github-actions``."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {anchor(match) for match in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def broken_links(path: Path) -> list[str]:
    """Each relative link of ``path`` whose file or heading is missing, as ``target: reason``."""
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...: not ours to check offline
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target}: no such heading")
    return broken


def test_every_relative_link_leads_to_a_file_and_heading():
    assert {path.name: broken_links(path) for path in documents() if broken_links(path)} == {}


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    """Negative control: planted broken links are reported, good ones are not."""
    (tmp_path / "other.md").write_text("# Other\n\n## CI: GitHub Actions\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("[a](other.md#ci-github-actions) [b](missing.md) [c](other.md#no-such) [d](https://x.test/y)\n",
                    encoding="utf-8")
    assert broken_links(page) == ["missing.md: no such file", "other.md#no-such: no such heading"]


def test_the_first_screen_holds_the_two_commands_and_where_to_read_next():
    first = "\n".join((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN_LINES])
    assert re.search(r"^make +#", first, re.MULTILINE) and re.search(r"^make test +#", first, re.MULTILINE)
    assert all(f"(docs/{name})" in first for name in DOCS), first
