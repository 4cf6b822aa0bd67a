"""MkDocs hooks: API pages from each namespace's ``__all__`` and the
experiment catalogue from the registry, so the site cannot drift from the code.

- ``<!-- api: MODULE -->`` becomes a mkdocstrings block documenting every name
  in ``MODULE.__all__`` (namespaces are linked, not inlined).
- ``<!-- experiments -->`` becomes one section per registered experiment: its
  one-line description, the paper section, and its module docstring.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types

_API = re.compile(r"<!-- api: ([\w.]+) -->")


def _api_block(modname: str) -> str:
  """One mkdocstrings block per public name (aliases of ``_src`` objects are
  resolved when targeted by their public path)."""
  mod = importlib.import_module(modname)
  out = []
  for name in mod.__all__:
    obj = getattr(mod, name)
    if isinstance(obj, types.ModuleType):
      out += [f"**`{modname}.{name}`**: namespace, see its own page.", ""]
    elif callable(obj):
      out += [f"::: {modname}.{name}", "    options:", "      show_root_heading: true", ""]
    else:
      out += [f"**`{name}`** = `{obj!r}`" if len(repr(obj)) < 80 else f"**`{name}`**", ""]
  return "\n".join(out)


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


def on_page_markdown(markdown, page, config, files):
  markdown = _API.sub(lambda m: _api_block(m.group(1)), markdown)
  if "<!-- experiments -->" in markdown:
    markdown = markdown.replace("<!-- experiments -->", _experiments())
  return markdown
