"""Experiments: thin compositions of library functions, run by the CLI.

Every module in this package that defines a module-level ``EXPERIMENT`` (a
``jaxrnn.Experiment``) is discovered automatically; ``names()`` lists them in
``ORDER`` first, then alphabetically.
"""

from __future__ import annotations

import importlib
import pkgutil

from jaxrnn._src.runner import Experiment

ORDER = ("linearization", "random_features", "invertibility",
         "backward_correlation", "rerandomization", "existence", "training",
         "languages")


def _discover() -> dict[str, Experiment]:
  found = {}
  for info in pkgutil.iter_modules(__path__):
    if info.name.startswith("_"):
      continue
    module = importlib.import_module(f"{__name__}.{info.name}")
    exp = getattr(module, "EXPERIMENT", None)
    if isinstance(exp, Experiment):
      found[exp.name] = exp
  return found


def registry() -> dict[str, Experiment]:
  found = _discover()
  ordered = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
  return {n: found[n] for n in ordered}


def names() -> list[str]:
  return list(registry())


def get(name: str) -> Experiment:
  # Fast path: experiments live in a module of their own name.
  if name.isidentifier() and not name.startswith("_"):
    try:
      exp = getattr(importlib.import_module(f"{__name__}.{name}"), "EXPERIMENT", None)
    except ModuleNotFoundError as e:
      if e.name != f"{__name__}.{name}":
        raise
      exp = None
    if isinstance(exp, Experiment) and exp.name == name:
      return exp
  reg = registry()
  if name not in reg:
    raise KeyError(f"unknown experiment {name!r}; known: {', '.join(reg)}")
  return reg[name]
