"""Every public function carries type annotations.

A function exported in the ``__all__`` of a public module must annotate every
parameter (``*args``/``**kwargs`` excepted) and its return value; the
signatures in API.md are read from these annotations. Shapes stay in the
docstrings.
"""

import importlib
import importlib.util
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _api_md_tool():
  spec = importlib.util.spec_from_file_location("gen_api_md", ROOT / "tools" / "gen_api_md.py")
  gen = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(gen)
  return gen


# The public modules are the ones API.md documents (one list, in the tool).
PUBLIC_MODULES = [name for name, _ in _api_md_tool().MODULES]


def missing_annotations(fn) -> list[str]:
  """The unannotated parameters of ``fn``, plus ``"return"`` if the return
  annotation is missing."""
  sig = inspect.signature(fn)
  missing = [
    name
    for name, p in sig.parameters.items()
    if p.annotation is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
  ]
  if sig.return_annotation is inspect.Signature.empty:
    missing.append("return")
  return missing


def offenders(modules: list[str]) -> list[str]:
  """``"module.name (defined in ...): missing"`` for every public function of
  ``modules`` with a missing annotation."""
  out = []
  for modname in modules:
    mod = importlib.import_module(modname)
    for name in mod.__all__:
      obj = getattr(mod, name)
      if not inspect.isfunction(obj):
        continue
      missing = missing_annotations(obj)
      if missing:
        where = f"{obj.__module__}.{obj.__qualname__}"
        out.append(f"{modname}.{name} (defined in {where}): {', '.join(missing)}")
  return out


def test_every_public_function_is_annotated():
  bad = offenders(PUBLIC_MODULES)
  assert not bad, f"{len(bad)} public function(s) lack type annotations:\n  " + "\n  ".join(bad)


def test_the_module_list_is_not_empty():
  assert "jaxrnn" in PUBLIC_MODULES and len(PUBLIC_MODULES) >= 10


def test_the_check_reports_an_unannotated_function():
  # The checker itself must flag what it is meant to flag (else the test above
  # could pass vacuously): a partly annotated function, and the exemptions.
  def half(x: int, y, *args, z=1, **kwargs):
    return x

  def full(x: int, *args: int, **kwargs: str) -> int:
    return x

  assert missing_annotations(half) == ["y", "z", "return"]
  assert missing_annotations(full) == []
