"""Executes every notebook in notebooks/ top to bottom and stores it with its
outputs, so the documentation site renders them (mkdocs-jupyter runs with
``execute: false``; the test suite executes them afresh).

Run after changing a notebook or the API it uses:

    python tools/execute_notebooks.py [NAME.ipynb ...]
"""

import pathlib
import sys

import nbclient
import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent / "notebooks"


def main(names: list[str]) -> int:
  paths = [ROOT / n for n in names] if names else sorted(ROOT.glob("*.ipynb"))
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
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
