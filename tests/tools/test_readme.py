"""The README is short and its first example runs as written; the Python
blocks of the API tour run too; every relative link of the README points to a
file of the repository."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _python_blocks(path: Path) -> list[str]:
  return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_the_readme_is_at_most_200_lines():
  assert len(README.read_text().splitlines()) <= 200


@pytest.mark.slow
def test_the_readme_first_example_has_at_most_ten_lines_and_runs():
  blocks = _python_blocks(README)
  assert blocks, "the README has no Python example"
  first = blocks[0]
  assert len(first.strip().splitlines()) <= 10, first
  exec(compile(first, str(README), "exec"), {})


@pytest.mark.slow
def test_the_api_tour_blocks_run():
  page = ROOT / "docs" / "api-tour.md"
  blocks = _python_blocks(page)
  assert blocks, "the API tour has no Python block"
  for block in blocks:
    exec(compile(block, str(page), "exec"), {})


def test_every_relative_link_of_the_readme_exists():
  links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text())
  local = [link for link in links if "://" not in link]
  assert local, "the README links no docs page"
  missing = [link for link in local if not (ROOT / link).exists()]
  assert not missing, missing
