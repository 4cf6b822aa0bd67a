"""Executes every notebook in notebooks/ top to bottom and stores it with its
outputs, so the documentation site renders them (mkdocs-jupyter runs with
``execute: false``; the test suite executes them afresh). Fails (exit 1)
when a cell that draws stores no image, as the docs build would
(``docs/hooks.py``).

Run after changing a notebook or the API it uses:

    python tools/execute_notebooks.py [NAME.ipynb ...]
"""

import importlib.util
import pathlib
import sys

import nbclient
import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
HOOKS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "hooks.py"


def _figure_problems(nb, name: str) -> list[str]:
  spec = importlib.util.spec_from_file_location("docs_hooks", HOOKS)
  hooks = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(hooks)
  return hooks.notebook_figure_problems(nb, name)


def main(names: list[str]) -> int:
  paths = [ROOT / n for n in names] if names else sorted(ROOT.glob("*.ipynb"))
  failed = 0
  for path in paths:
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
      nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    for cell in nb.cells:  # outputs only: no kernel or timing metadata churn
      cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    print(f"executed {path.name}")
    for problem in _figure_problems(nb, path.name):
      print(f"error: {problem}", file=sys.stderr)
      failed = 1
  return failed


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
