"""Every notebook in notebooks/ executes top to bottom without error, shows
every figure it draws, and is stored with its outputs (the site renders them)."""

import importlib.util
import pathlib

import nbclient
import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _hooks():
  """docs/hooks.py: its figure check is the one the docs build runs."""
  spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


hooks = _hooks()


def test_there_are_notebooks():
  assert NOTEBOOKS, "notebooks/ is empty"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path):
  nb = nbformat.read(path, as_version=4)
  client = nbclient.NotebookClient(
    nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
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
  # a figure drawn in a kernel is shown below its cell (lab.figure keeps the
  # kernel's inline backend)
  assert not hooks.notebook_figure_problems(nb, path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_with_outputs(path):
  """The docs render the stored notebooks (``execute: false``): every code
  cell must have run (``python tools/execute_notebooks.py`` stores them)."""
  nb = nbformat.read(path, as_version=4)
  code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
  missing = [i for i, c in enumerate(code) if c.get("execution_count") is None]
  assert not missing, f"{path.name}: code cells {missing} stored without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_notebook_shows_every_figure_it_draws(path):
  nb = nbformat.read(path, as_version=4)
  assert not hooks.notebook_figure_problems(nb, path.name)


def test_figure_check_flags_a_cell_that_draws_without_an_image():
  png = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "F"})
  cells = [
    nbformat.v4.new_code_cell("x = 1  # lab.figure() only in a comment"),
    nbformat.v4.new_code_cell("fig, (ax,) = lab.figure()\nlab.band_plot(ax, ms, d)"),
    nbformat.v4.new_code_cell("display(Image(filename=path))", outputs=[png]),
    nbformat.v4.new_code_cell("plt.plot([1, 2])"),
  ]
  problems = hooks.notebook_figure_problems(nbformat.v4.new_notebook(cells=cells), "nb")
  assert [p.split(" (")[0] for p in problems] == ["nb: code cell 1", "nb: code cell 3"]
  assert hooks.notebook_images(nbformat.v4.new_notebook(cells=cells)) == 1
