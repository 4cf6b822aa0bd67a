"""MkDocs hooks: API pages from each namespace's ``__all__`` and the
experiment catalogue from the registry, so the site cannot drift from the code;
docstring examples as code; checks that fail the build when the site would
hide code or figures.

- ``<!-- api: MODULE -->`` becomes the module's docstring and a mkdocstrings
  block for every name in ``MODULE.__all__`` (a namespace with an API page of
  its own is linked, one without is shown by its docstring).
- ``<!-- experiments -->`` becomes one section per registered experiment: its
  one-line description, the paper section, and its module docstring.
- ``LiteralBlocks`` (a griffe extension, listed under mkdocstrings'
  ``extensions`` in ``mkdocs.yml``) turns each reST literal block of a
  docstring (``Example::`` and an indented ``>>>`` session) into a fenced
  ``pycon`` block, which the markdown renderer highlights; left alone, the
  ``>>>`` lines would render as nested quotes. The docstrings stay doctests
  (``pytest --doctest-modules``).
- The build fails when an API page shows fewer example blocks as code than its
  docstrings hold or shows a quote, when a notebook cell that draws has no
  stored image, or when a notebook page shows fewer images than the notebook
  stores.
- The paper-scale gallery (``paper-scale/index.md`` and every
  ``paper-scale/*/paper/summary.md``) is put into the navigation, in the order
  the index links the summaries.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import re
import textwrap
import types
from pathlib import Path

_API = re.compile(r"<!-- api: ([\w.]+) -->")
log = logging.getLogger("mkdocs.hooks")

# --------------------------------------------------------------------------
# Docstring literal blocks -> fenced code

_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<text>.*?)(?P<space>\s*)::[ \t]*$")


def _indent(line: str) -> int:
  return len(line) - len(line.lstrip())


def literal_blocks_to_fences(text: str) -> str:
  """Rewrites every reST literal block of a docstring as a fenced code block.

  A line ending in ``::`` followed by a more indented block is a literal block
  (reST): ``Example::`` becomes ``Example:`` (a lone ``::`` line is dropped,
  ``text ::`` loses its ``::``) and the block, dedented, becomes a
  ```` ```pycon ```` fence when it starts with ``>>>`` (a doctest session),
  else a ```` ```text ```` fence. A ``::`` line not followed by a more
  indented block is left as it is. Applying it twice changes nothing.
  """
  lines = text.split("\n")
  out: list[str] = []
  i = 0
  while i < len(lines):
    m = _MARKER.match(lines[i])
    j = i + 1
    while j < len(lines) and not lines[j].strip():
      j += 1
    if m is None or j == len(lines) or _indent(lines[j]) <= len(m["indent"]):
      out.append(lines[i])
      i += 1
      continue
    indent = m["indent"]
    k = j
    while k < len(lines) and (not lines[k].strip() or _indent(lines[k]) > len(indent)):
      k += 1
    block = textwrap.dedent("\n".join(lines[j:k]).rstrip()).split("\n")
    lang = "pycon" if block[0].lstrip().startswith(">>>") else "text"
    head = m["text"]
    if head:
      out.append(indent + (head if m["space"] else head + ":"))
      out.append("")
    out += [indent + "```" + lang] + [(indent + b).rstrip() for b in block]
    out += [indent + "```", ""]
    i = k
    while i < len(lines) and not lines[i].strip():  # the fence already ends with one
      i += 1
  result = "\n".join(out).rstrip("\n")
  return result + text[len(text.rstrip("\n")) :]


def count_doctest_blocks(text: str) -> int:
  """Number of literal blocks in a docstring that hold a ``>>>`` session."""
  return len(re.findall(r"^[ \t]*```pycon$", literal_blocks_to_fences(text), re.M))


try:
  import griffe
except ImportError:  # the unit tests of the transform need no griffe
  griffe = None

if griffe is not None:

  class LiteralBlocks(griffe.Extension):
    """Griffe extension: every docstring's literal blocks as fenced code."""

    def on_object(self, *, obj, **kwargs) -> None:
      if obj.docstring is not None:
        obj.docstring.value = literal_blocks_to_fences(obj.docstring.value)


# --------------------------------------------------------------------------
# API pages and the experiment catalogue


def _documented(obj) -> list:
  """``obj`` and the public members mkdocstrings shows with it (own methods
  and properties of a class; ``filters: ["!^_"]``)."""
  objs = [obj]
  if inspect.isclass(obj):
    for name, member in vars(obj).items():
      if name.startswith("_"):
        continue
      if isinstance(member, (staticmethod, classmethod)):
        member = member.__func__
      if isinstance(member, property):
        member = member.fget
      if inspect.isfunction(member):
        objs.append(member)
  return objs


# Module -> the API page (file name in docs/api) that documents it.
_API_PAGES: dict[str, str] = {}


def _docstring_only(path: str) -> list[str]:
  return [
    f"::: {path}",
    "    options:",
    "      members: false",
    "      show_root_heading: false",
    "      show_root_toc_entry: false",
    "",
  ]


def _api_block(modname: str) -> tuple[str, int]:
  """The module's docstring, then one mkdocstrings block per public name
  (aliases of ``_src`` objects are resolved when targeted by their public
  path); a namespace with an API page of its own is linked, one without is
  shown by its docstring. Also returns the number of doctest examples the
  docstrings shown hold."""
  mod = importlib.import_module(modname)
  out = _docstring_only(modname)
  examples = count_doctest_blocks(inspect.getdoc(mod) or "")
  for name in mod.__all__:
    obj = getattr(mod, name)
    if isinstance(obj, types.ModuleType):
      page = _API_PAGES.get(obj.__name__)
      if page:
        out += [f"**`{modname}.{name}`**: namespace, see [`{obj.__name__}`]({page}).", ""]
      else:
        out += [f"**`{modname}.{name}`**: namespace.", ""] + _docstring_only(obj.__name__)
        examples += count_doctest_blocks(inspect.getdoc(obj) or "")
    elif callable(obj):
      out += [f"::: {modname}.{name}", "    options:", "      show_root_heading: true", ""]
      examples += sum(count_doctest_blocks(inspect.getdoc(o) or "") for o in _documented(obj))
    else:
      out += [f"**`{name}`** = `{obj!r}`" if len(repr(obj)) < 80 else f"**`{name}`**", ""]
  return "\n".join(out), examples


def _experiments() -> str:
  from jaxrnn import experiments

  out = []
  for name, exp in experiments.registry().items():
    mod = importlib.import_module(f"jaxrnn.experiments.{name}")
    doc = inspect.getdoc(mod) or ""
    out += [
      f"## `{name}`",
      "",
      f"*{exp.description}*",
      "",
      f"`jaxrnn run {name} --preset quick` (or `--preset paper`).",
      "",
      "```text",
      doc,
      "```",
      "",
    ]
  return "\n".join(out)


# Doctest examples each API page must show as code (page src_uri -> count).
_EXPECTED_EXAMPLES: dict[str, int] = {}
_SHOWN_EXAMPLES: dict[str, int] = {}
_PRE = re.compile(r"<pre\b.*?</pre>", re.S)


def shown_examples(html: str) -> int:
  """Number of code blocks in a page's HTML that hold a ``>>>`` session."""
  return sum("&gt;&gt;&gt;" in pre for pre in _PRE.findall(html))


def api_example_problems(html: str, expected: int) -> list[str]:
  """What an API page's HTML hides: doctest examples not shown as code
  blocks, and quotes (a ``>>>`` line outside a code block renders as one)."""
  shown = shown_examples(html)
  problems = []
  if shown < expected:
    problems.append(f"{shown} of {expected} docstring examples shown as code blocks")
  quotes = html.count("<blockquote")
  if quotes:
    problems.append(f"{quotes} quote(s): a '>>>' line outside a code block renders as one")
  return problems


# --------------------------------------------------------------------------
# Notebook figures

_DRAWS = re.compile(
  r"(?<![\w.])(?:\w+\.)*(?:figure|subplots|plot|band_plot|scatter|hist|imshow|bar|Image)\s*\("
)


def _source(cell: dict) -> str:
  src = cell.get("source", "")
  return "".join(src) if isinstance(src, list) else src


def cell_draws(source: str) -> bool:
  """Whether a code cell's source calls a plotting or image-display function
  (comments ignored)."""
  code = "\n".join(line.split("#", 1)[0] for line in source.splitlines())
  return bool(_DRAWS.search(code))


def _pngs(cell: dict) -> int:
  return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def notebook_figure_problems(nb: dict, name: str) -> list[str]:
  """One line per code cell of the notebook ``nb`` (its JSON) that draws but
  stores no ``image/png`` output."""
  problems = []
  code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
  for i, cell in enumerate(code):
    if cell_draws(_source(cell)) and not _pngs(cell):
      first = _source(cell).strip().splitlines()[0][:60]
      problems.append(f"{name}: code cell {i} ({first!r}) draws but stores no image")
  return problems


def notebook_images(nb: dict) -> int:
  """Number of PNG outputs stored in the notebook ``nb`` (its JSON)."""
  return sum(_pngs(c) for c in nb.get("cells", []) if c.get("cell_type") == "code")


_NOTEBOOK_IMAGES: dict[str, int] = {}


# --------------------------------------------------------------------------
# Paper-scale gallery in the navigation


def paper_scale_nav(docs_dir: Path) -> list[dict]:
  """Nav entries of the paper-scale gallery: the index, then each summary in
  the order the index links them (summaries it does not link, by name)."""
  root = docs_dir / "paper-scale"
  found = {p.parent.parent.name: p for p in sorted(root.glob("*/paper/summary.md"))}
  index = (root / "index.md").read_text()
  order = list(dict.fromkeys(re.findall(r"\]\((\w+)/paper/summary\.md\)", index)))
  order = [n for n in order if n in found] + sorted(set(found) - set(order))
  return [{"Overview": "paper-scale/index.md"}] + [
    {name: f"paper-scale/{name}/paper/summary.md"} for name in order
  ]


def _with_gallery(nav: list, gallery: list[dict]) -> list:
  out = []
  for item in nav:
    if isinstance(item, dict):
      (title, value), *_ = item.items()
      if value == "paper-scale/index.md":
        item = {title: gallery}
      elif isinstance(value, list):
        item = {title: _with_gallery(value, gallery)}
    out.append(item)
  return out


# --------------------------------------------------------------------------
# MkDocs events


def _fail(message: str):
  from mkdocs.exceptions import PluginError

  raise PluginError(message)


def on_config(config):
  _API_PAGES.clear()
  for page in sorted((Path(config["docs_dir"]) / "api").glob("*.md")):
    for modname in _API.findall(page.read_text()):
      _API_PAGES.setdefault(modname, page.name)
  if config.get("nav") and (Path(config["docs_dir"]) / "paper-scale" / "index.md").exists():
    config["nav"] = _with_gallery(config["nav"], paper_scale_nav(Path(config["docs_dir"])))
  return config


def on_files(files, config):
  problems = []
  for f in files:
    if f.src_uri.endswith(".ipynb"):
      nb = json.loads(Path(f.abs_src_path).read_text())
      problems += notebook_figure_problems(nb, f.src_uri)
      _NOTEBOOK_IMAGES[f.src_uri] = notebook_images(nb)
  if problems:
    _fail(
      "notebook figures missing (run python tools/execute_notebooks.py):\n  "
      + "\n  ".join(problems)
    )
  return files


def on_page_markdown(markdown, page, config, files):
  examples = 0

  def api(m):
    nonlocal examples
    block, n = _api_block(m.group(1))
    examples += n
    return block

  markdown = _API.sub(api, markdown)
  if examples:
    _EXPECTED_EXAMPLES[page.file.src_uri] = examples
  if "<!-- experiments -->" in markdown:
    markdown = markdown.replace("<!-- experiments -->", _experiments())
  return markdown


def on_post_page(output, page, config):
  uri = page.file.src_uri
  if uri in _EXPECTED_EXAMPLES:
    problems = api_example_problems(output, _EXPECTED_EXAMPLES[uri])
    _SHOWN_EXAMPLES[uri] = shown_examples(output)
    if problems:
      _fail(f"{uri}: " + "; ".join(problems))
  if uri in _NOTEBOOK_IMAGES:
    shown = output.count('src="data:image/png')
    if shown < _NOTEBOOK_IMAGES[uri]:
      _fail(f"{uri}: the page shows {shown} of the {_NOTEBOOK_IMAGES[uri]} images it stores")
  return output


def on_post_build(config):
  if _EXPECTED_EXAMPLES:
    log.info(
      "docstring examples shown as code blocks: %d (docstrings hold %d) on %d API pages;"
      " notebook images: %s",
      sum(_SHOWN_EXAMPLES.values()),
      sum(_EXPECTED_EXAMPLES.values()),
      len(_EXPECTED_EXAMPLES),
      ", ".join(f"{Path(k).stem[:2]}: {v}" for k, v in sorted(_NOTEBOOK_IMAGES.items())),
    )
