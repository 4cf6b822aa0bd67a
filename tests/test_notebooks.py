"""Every notebook in notebooks/ executes top to bottom without error."""

import pathlib

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
  assert NOTEBOOKS, "notebooks/ is empty"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path):
  nb = nbformat.read(path, as_version=4)
  client = nbclient.NotebookClient(
    nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
  )
  client.execute()
  errors = [
    o
    for c in nb.cells
    if c.cell_type == "code"
    for o in c.get("outputs", [])
    if o.get("output_type") == "error"
  ]
  assert not errors, errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_with_outputs(path):
  """The docs render the stored notebooks (``execute: false``): every code
  cell must have run (``python tools/execute_notebooks.py`` stores them)."""
  nb = nbformat.read(path, as_version=4)
  code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
  missing = [i for i, c in enumerate(code) if c.get("execution_count") is None]
  assert not missing, f"{path.name}: code cells {missing} stored without outputs"
