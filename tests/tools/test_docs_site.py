"""The documentation site's hooks (docs/hooks.py): docstring examples become
code blocks, the build fails when the site would hide code or figures, and
the paper-scale gallery is in the navigation."""

import html
import importlib
import importlib.util
import inspect
import json
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _hooks():
  spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


hooks = _hooks()

DOC = """One line.

**Returns:** scalar. Example::

  >>> 1 + 1
  2
  >>> def f(x):
  ...     return x

More text after the example."""


def test_an_example_literal_block_becomes_a_pycon_fence():
  out = hooks.literal_blocks_to_fences(DOC)
  assert out == (
    "One line.\n\n**Returns:** scalar. Example:\n\n```pycon\n>>> 1 + 1\n2\n"
    ">>> def f(x):\n...     return x\n```\n\nMore text after the example."
  )


def test_literal_block_markers_are_rewritten_as_rest_reads_them():
  t = hooks.literal_blocks_to_fences
  assert t("Example (8 seeds)::\n\n  >>> 1\n  1").startswith("Example (8 seeds):\n\n```pycon\n")
  assert t("Layout ::\n\n    DIR/a\n    DIR/b").startswith("Layout\n\n```text\nDIR/a\nDIR/b\n```")
  assert t("::\n\n  >>> 1\n  1") == "```pycon\n>>> 1\n1\n```"
  # no more indented block after it: not a literal block, left alone
  assert t("a::b and c::\nnext line") == "a::b and c::\nnext line"
  # the block ends at the first line indented no more than the marker's
  assert t("  - item::\n\n      >>> 1\n      1\n  - next") == (
    "  - item:\n\n  ```pycon\n  >>> 1\n  1\n  ```\n\n  - next"
  )


def test_rewriting_twice_changes_nothing():
  once = hooks.literal_blocks_to_fences(DOC)
  assert hooks.literal_blocks_to_fences(once) == once


def _api_modules():
  pages = sorted((ROOT / "docs" / "api").glob("*.md"))
  return [m for p in pages for m in re.findall(r"<!-- api: ([\w.]+) -->", p.read_text())]


def _shown_docstrings():
  """Every docstring an API page shows: the page's module, each public name
  and the members mkdocstrings shows with it, inlined namespaces."""
  for modname in _api_modules():
    mod = importlib.import_module(modname)
    yield modname, inspect.getdoc(mod) or ""
    for name in mod.__all__:
      obj = getattr(mod, name)
      if isinstance(obj, types.ModuleType):
        yield obj.__name__, inspect.getdoc(obj) or ""
      elif callable(obj):
        for o in hooks._documented(obj):
          yield f"{modname}.{name}:{getattr(o, '__name__', '')}", inspect.getdoc(o) or ""


@pytest.mark.slow
def test_every_example_on_the_api_pages_is_a_code_block():
  sessions = 0
  for where, doc in _shown_docstrings():
    raw = len(re.findall(r"::[ \t]*\n(?:[ \t]*\n)*[ \t]+>>>", doc))
    out = hooks.literal_blocks_to_fences(doc)
    assert out.count("```pycon") == raw, where
    outside = re.sub(r"```pycon\n.*?```", "", out, flags=re.S)
    assert not re.search(r"^\s*>>>", outside, re.M), f"{where}: a >>> line outside a code block"
    sessions += raw
  # the package documents its public functions with examples (the count is
  # what the docstrings hold; the build logs the number shown)
  assert sessions >= 40, sessions


def test_api_page_check_flags_quotes_and_examples_not_shown_as_code():
  quoted = "<p>Example:</p><blockquote><blockquote><blockquote><p>1 + 1</p>"
  assert len(hooks.api_example_problems(quoted, 1)) == 2
  code = '<div class="highlight"><pre><span class="gp">&gt;&gt;&gt; </span>1</pre></div>'
  assert hooks.api_example_problems(code, 1) == []
  assert hooks.api_example_problems(code, 2) == ["1 of 2 docstring examples shown as code blocks"]


def _notebook(cells):
  return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _code(source, outputs=()):
  return {"cell_type": "code", "source": source, "outputs": list(outputs), "metadata": {}}


PNG = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}}


@pytest.mark.slow
def test_a_build_with_a_drawing_cell_that_stores_no_image_fails(tmp_path):
  PluginError = pytest.importorskip("mkdocs.exceptions").PluginError
  path = tmp_path / "nb.ipynb"
  path.write_text(json.dumps(_notebook([_code("fig, (ax,) = lab.figure()\nax.plot([1, 2])")])))
  file = types.SimpleNamespace(src_uri="notebooks/nb.ipynb", abs_src_path=str(path))
  with pytest.raises(PluginError, match=r"nb.ipynb: code cell 0 .* draws but stores no image"):
    hooks.on_files([file], {})
  path.write_text(json.dumps(_notebook([_code("fig, (ax,) = lab.figure()", [PNG])])))
  assert hooks.on_files([file], {}) == [file]


@pytest.mark.slow
def test_a_notebook_page_that_shows_fewer_images_than_stored_fails(tmp_path):
  PluginError = pytest.importorskip("mkdocs.exceptions").PluginError
  path = tmp_path / "nb.ipynb"
  path.write_text(json.dumps(_notebook([_code("display(Image(filename='a.png'))", [PNG])])))
  file = types.SimpleNamespace(src_uri="notebooks/nb.ipynb", abs_src_path=str(path))
  hooks.on_files([file], {})
  page = types.SimpleNamespace(file=file)
  with pytest.raises(PluginError, match="shows 0 of the 1 images"):
    hooks.on_post_page("<html>no image</html>", page, {})
  shown = '<img src="data:image/png;base64,iVBOR">'
  assert hooks.on_post_page(shown, page, {}) == shown


@pytest.mark.slow
def test_the_gallery_nav_lists_the_index_and_every_summary():
  docs = ROOT / "docs"
  gallery = hooks.paper_scale_nav(docs)
  paths = [next(iter(e.values())) for e in gallery]
  summaries = sorted(str(p.relative_to(docs)) for p in docs.glob("paper-scale/*/paper/summary.md"))
  assert paths[0] == "paper-scale/index.md"
  assert sorted(paths[1:]) == summaries and summaries
  nav = [{"Overview": "index.md"}, {"Paper scale": "paper-scale/index.md"}]
  assert hooks._with_gallery(nav, gallery) == [{"Overview": "index.md"}, {"Paper scale": gallery}]
  assert "Paper scale: paper-scale/index.md" in (ROOT / "mkdocs.yml").read_text()


@pytest.mark.slow
def test_the_site_builds_strict_with_every_example_and_figure_shown(tmp_path):
  pytest.importorskip("mkdocs")
  pytest.importorskip("mkdocstrings")
  res = subprocess.run(
    [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
    cwd=ROOT,
    capture_output=True,
    text=True,
    env={**__import__("os").environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"},
  )
  assert res.returncode == 0, res.stderr[-3000:]
  m = re.search(r"examples shown as code blocks: (\d+) \(docstrings hold (\d+)\)", res.stderr)
  assert m and int(m[1]) >= int(m[2]) > 0, res.stderr[-3000:]
  # every doctest session in the package's sources is shown in a code block
  code = ""
  for page in (tmp_path / "api").glob("*/index.html"):
    for pre in re.findall(r"<pre\b.*?</pre>", page.read_text(), re.S):
      code += html.unescape(re.sub(r"<[^>]+>", "", pre)) + "\n"
  sessions = []
  for path in sorted((ROOT / "jaxrnn").rglob("*.py")):
    for block in re.findall(r"::[ \t]*\n(?:[ \t]*\n)*((?:[ \t]+>>>.*\n)+)", path.read_text()):
      sessions.append((path.name, "\n".join(line.strip() for line in block.splitlines())))
  assert len(sessions) >= 40
  assert [s for s in sessions if s[1] not in code] == []
  page = (tmp_path / "notebooks" / "05_infinite_width" / "index.html").read_text()
  assert 'src="data:image/png' in page
  assert (tmp_path / "paper-scale" / "training" / "paper" / "summary" / "index.html").exists()
