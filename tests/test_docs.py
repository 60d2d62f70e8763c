"""The README stays a ten-minute read and the documentation's links lead somewhere: the README
within its size budget, and every relative link in README.md and docs/*.md names a file or
folder of the repository (a moved or renamed page breaks this test, not a reader's click)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

README_BUDGET = 12_288  # bytes
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|#)", re.I)
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def relative_links(text: str) -> list[str]:
    """Link targets outside code blocks and spans that point into the repository."""
    prose = _FENCE.sub("", text)
    prose = re.sub(r"`[^`\n]*`", "", prose)
    return [target for target in _LINK.findall(prose) if not _EXTERNAL.match(target)]


def test_the_readme_fits_its_budget():
    size = (REPO / "README.md").stat().st_size
    assert size <= README_BUDGET, f"README.md is {size:,} bytes (budget {README_BUDGET:,})"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves_to_a_file_in_the_repo(page: Path):
    broken = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(REPO.resolve()) or not path.exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: {broken}"


def test_the_link_check_can_fail():
    text = ("[ok](docs/api.md) ![img](docs/img/demo.png) [web](https://example.org) "
            "[anchor](#x) `[code](nope.md)`\n```\n[fenced](nope.md)\n```\n[gone](docs/nope.md#a)")
    assert relative_links(text) == ["docs/api.md", "docs/img/demo.png", "docs/nope.md#a"]


def test_the_readme_python_example_runs_and_tags():
    """The README's Python block, run as a user would (a fresh interpreter, any directory)."""
    (block,) = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text("utf-8"), re.S)
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True,
                            timeout=300, cwd=REPO / "docs")
    assert result.returncode == 0, result.stderr
    assert "'theme': 'time-series'" in result.stdout, result.stdout
